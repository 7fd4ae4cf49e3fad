// Fine-tuning recipes from the literature, written as ordinary functions
// over the language's primitives: read them, copy them, change them.
// Import with `import std.recipes.{spin, faft}`.

// Rejection-sampling SFT (RLHF Workflow, iterative reinforced fine-tuning):
// sample n answers per prompt, keep the ones the judge passes, train on them.
def rejection_sft(m: model, d: data, by: judge, rounds: int, n: int, train_steps: int) {
  loop r in 1..rounds {
    let samples = generate(m, d.prompt, n: n, temperature: 0.8)
    let judged = judge(samples, by: by)
    train m with sft(judged.pass) steps train_steps
    log r, pass_rate(judged)
  }
}

// SPIN: each round the model learns to prefer the gold answers over its own
// samples, against the previous round's model as the reference.
def spin(m: model, d: data, rounds: int, beta: number, train_steps: int) {
  loop r in 1..rounds {
    let ref = snapshot(m)
    let samples = generate(ref, d.prompt, temperature: 0)
    let pairs = gold_pairs(d, samples)
    train m with dpo(pairs, beta: beta, ref: ref) steps train_steps
    log r, margin(m, pairs, ref: ref)
  }
}

// Iterative DPO (RLHF Workflow): sample n answers, judge them, and train on
// the best against the worst answer of each prompt; the reference stays the
// starting model.
def iterative_dpo(m: model, d: data, by: judge, rounds: int, n: int, beta: number, train_steps: int) {
  let ref = snapshot(m)
  loop r in 1..rounds {
    let judged = judge(generate(m, d.prompt, n: n, temperature: 1), by: by)
    let pairs = best_worst(judged)
    train m with dpo(pairs, beta: beta, ref: ref) steps train_steps
    log r, margin(m, pairs, ref: ref)
  }
}

// S3FT: where the model's own answer is judged correct, train on it (it is
// closer to the model's distribution); elsewhere train on the gold answer.
def s3ft(m: model, d: data, by: judge, train_steps: int) {
  let judged = judge(generate(m, d.prompt, temperature: 0), by: by)
  let gold = judged.fail |> map(response: .reference)
  train m with sft(judged.pass) + sft(gold) steps train_steps
}

// FAFT (TravelPlanner): train on answers together with the judge's feedback,
// positive feedback as targets and negative feedback as things to avoid.
def faft(m: model, d: data, by: judge, rounds: int, train_steps: int) {
  loop r in 1..rounds {
    let judged = judge(generate(m, d.prompt), by: by)
    let good = with_feedback(judged.pass, "{prompt}\nFeedback: {feedback}\n{response}")
    let bad = with_feedback(judged.fail, "{prompt}\nFeedback: {feedback}\n{response}")
    train m with sft(good) + 0.5 * unlikelihood(bad) steps train_steps
  }
}

// LeTI: learn from textual feedback of an execution judge. Every sample is
// trained on, prefixed by a reward token and followed by the judge's message.
def leti(m: model, d: data, by: judge, rounds: int, train_steps: int) {
  loop r in 1..rounds {
    let judged = judge(generate(m, d.prompt, temperature: 0.8), by: by)
    let text = with_feedback(judged, "<|pass={pass}|>{prompt}{response}\n{feedback}")
    train m with sft(text) + lm(text) steps train_steps
    log r, pass_rate(judged)
  }
}

// Chain of Hindsight: a sequence with a worse and a better answer, labelled
// in words; the loss is on the answers.
def chain_of_hindsight(m: model, d: data, by: judge, train_steps: int) {
  let judged = judge(generate(m, d.prompt, n: 2, temperature: 1), by: by)
  let chains = with_feedback(judged.fail, "{prompt}\nA worse answer: {response}\nA better answer: {reference}")
  train m with sft(chains) steps train_steps
}

// ILF: refine failed answers with their feedback, keep refinements the judge
// passes, and train on them.
def ilf(m: model, d: data, by: judge, train_steps: int) {
  let judged = judge(generate(m, d.prompt), by: by)
  let asks = with_feedback(judged.fail, "{prompt}\nDraft: {response}\nFeedback: {feedback}\nImproved:")
  let refined = judge(generate(m, asks.text), by: by)
  train m with sft(refined.pass) steps train_steps
}
