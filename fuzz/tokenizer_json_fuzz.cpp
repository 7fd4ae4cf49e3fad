//===- tokenizer_json_fuzz.cpp - Fuzz the tokenizer.json loader -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Each input is used twice:
//  1. as the contents of a tokenizer.json: loading must fail with an error or
//     give a tokenizer whose encode/decode keep their contracts (ids below
//     vocabSize(), decode never crashes);
//  2. as text for fixed tokenizers loaded from test/fixtures/tokenizers: ids
//     in range, and decode(encode(x)) == x for the byte-level ones when x is
//     valid UTF-8.
// Seeds: fuzz/seeds/tokenizer_json_fuzz/.
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Chat.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/Path.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace ftl::rt;

namespace {

/// The repository root: $FTL_SOURCE_DIR, else two levels above this file.
std::string sourceDir() {
  if (const char *env = std::getenv("FTL_SOURCE_DIR"))
    return env;
  return llvm::sys::path::parent_path(llvm::sys::path::parent_path(__FILE__))
      .str();
}

struct Fixed {
  std::unique_ptr<Tokenizer> tok;
  bool roundTrips; // decode(encode(x)) == x for valid UTF-8 x
};

std::vector<Fixed> &fixedTokenizers() {
  static std::vector<Fixed> fixed = [] {
    std::vector<Fixed> out;
    for (auto [name, roundTrips] : {std::pair<const char *, bool>{"gpt2", true},
                                    {"llama3", true},
                                    {"qwen2", false},
                                    {"sp_llama2", false},
                                    {"sp_metaspace", false},
                                    {"flags", false}}) {
      std::string path =
          sourceDir() + "/test/fixtures/tokenizers/" + name + ".json";
      auto tok = loadHFTokenizer(path);
      if (!tok) {
        std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(),
                     llvm::toString(tok.takeError()).c_str());
        std::abort();
      }
      out.push_back({std::move(*tok), roundTrips});
    }
    out.push_back({makeByteTokenizer(), false});
    return out;
  }();
  return fixed;
}

void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "contract violated: %s\n", what);
    std::abort();
  }
}

void exercise(const Tokenizer &tok, llvm::StringRef text) {
  int32_t n = tok.vocabSize();
  for (bool special : {false, true}) {
    std::vector<int32_t> ids = tok.encode(text, special);
    for (int32_t id : ids)
      check(id >= 0 && id < n, "id out of range");
    (void)tok.decode(ids, false);
    (void)tok.decode(ids, true);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef input(reinterpret_cast<const char *>(data), size);

  // 1. The input as a tokenizer.json.
  auto loaded = loadHFTokenizerFromJson(input, "fuzz.json");
  if (!loaded) {
    std::string msg = llvm::toString(loaded.takeError());
    check(msg.find("fuzz.json") != std::string::npos,
          "error message does not name the file");
  } else {
    const Tokenizer &tok = **loaded;
    for (llvm::StringRef text :
         {llvm::StringRef(""),
          llvm::StringRef("Hello world's 123 \xE4\xB8\xAD"),
          llvm::StringRef(" \n\t x<|endoftext|>y"), input.take_front(256)})
      exercise(tok, text);
    // Decoding arbitrary ids, including unknown ones.
    std::vector<int32_t> ids;
    for (size_t i = 0; i + 1 < size && i < 64; i += 2)
      ids.push_back(int32_t(data[i]) * 256 + data[i + 1] - 1000);
    (void)tok.decode(ids, false);
    (void)tok.decode(ids, true);
    (void)formatChat(tok, {{"user", "hi"}}, ChatFormat::ChatML, true);
  }

  // 2. The input as text for fixed tokenizers.
  // Long inputs cost much under the sanitizers and find little more.
  llvm::StringRef text = input.take_front(2048);
  const llvm::UTF8 *begin = reinterpret_cast<const llvm::UTF8 *>(text.data());
  bool utf8 = llvm::isLegalUTF8String(&begin, begin + text.size());
  for (const Fixed &f : fixedTokenizers()) {
    exercise(*f.tok, text);
    if (f.roundTrips && utf8)
      check(f.tok->decode(f.tok->encode(text)) == text,
            "decode(encode(x)) != x for a byte-level tokenizer");
  }
  return 0;
}
