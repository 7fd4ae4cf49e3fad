// Verifier errors of ftlt ops: each case is one op whose attributes or shapes
// break the rule its verifier (compiler/lib/Dialect/FTLT/IR/FTLTOps.cpp)
// states.
// RUN: ftl-opt %s --split-input-file --verify-diagnostics

func.func @f(%h: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ftlt.preference_loss' op unknown preference loss 'logistic' (expected sigmoid, ipo or hinge)}}
  %l = ftlt.preference_loss %h {kind = "logistic", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
  return %l : tensor<4xf32>
}

// -----

func.func @f(%h: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ftlt.preference_loss' op needs beta > 0}}
  %l = ftlt.preference_loss %h {kind = "sigmoid", beta = 0.0 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
  return %l : tensor<4xf32>
}

// -----

func.func @f(%h: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ftlt.preference_loss' op needs beta > 0}}
  %l = ftlt.preference_loss %h {kind = "ipo", beta = -0.5 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
  return %l : tensor<4xf32>
}

// -----

// A NaN beta is not > 0 either.
func.func @f(%h: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ftlt.preference_loss' op needs beta > 0}}
  %l = ftlt.preference_loss %h {kind = "hinge", beta = 0x7FF8000000000000 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
  return %l : tensor<4xf32>
}

// -----

func.func @f(%x: tensor<8xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ftlt.pair_diff' op the result must have shape [4], found [3]}}
  %d = ftlt.pair_diff %x : tensor<8xf32> -> tensor<3xf32>
  return %d : tensor<3xf32>
}

// -----

func.func @f(%x: tensor<7xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ftlt.pair_diff' op expects a vector of even length (chosen, rejected)}}
  %d = ftlt.pair_diff %x : tensor<7xf32> -> tensor<3xf32>
  return %d : tensor<3xf32>
}

// -----

func.func @f(%x: tensor<10xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ftlt.seq_sum' op expects a [rows * seq] vector and a positive 'seq'}}
  %s = ftlt.seq_sum %x {seq = 3 : i64} : tensor<10xf32> -> tensor<3xf32>
  return %s : tensor<3xf32>
}

// -----

func.func @f(%logits: tensor<6x5xf32>, %t: tensor<5xi32>) -> tensor<6xf32> {
  // expected-error @+1 {{'ftlt.token_nll' op the targets must have shape [6], found [5]}}
  %nll, %lse = ftlt.token_nll %logits, %t : tensor<6x5xf32>, tensor<5xi32> -> tensor<6xf32>, tensor<6xf32>
  return %nll : tensor<6xf32>
}

// -----

func.func @f(%h: tensor<6x4xf32>, %w: tensor<9x4xf32>, %t: tensor<6xi32>) -> tensor<6xf32> {
  // expected-error @+1 {{'ftlt.linear_token_nll' op needs a positive chunk}}
  %nll, %lse = ftlt.linear_token_nll %h, %w, %t {chunk = 0 : i64} : tensor<6x4xf32>, tensor<9x4xf32>, tensor<6xi32> -> tensor<6xf32>, tensor<6xf32>
  return %nll : tensor<6xf32>
}
