//===- TokenizerShim.cpp - Tokenizer base for builds without it -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Only compiled when runtime/tokenizers does not provide FTLTokenizers.
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Tokenizer.h"

ftl::rt::Tokenizer::~Tokenizer() = default;
