//===- CommandLine.cpp - Splitting a judge command into argv --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A small subset of POSIX shell word splitting: quotes and backslashes only.
// Nothing is expanded or executed.
//
//===----------------------------------------------------------------------===//

#include "ftl/Judge/Judge.h"

using namespace ftl::rt;

namespace {
bool isSeparator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}
} // namespace

llvm::Expected<std::vector<std::string>>
ftl::rt::splitCommandLine(llvm::StringRef command) {
  std::vector<std::string> words;
  std::string word;
  bool inWord = false; // true once the current word has started (even "").
  size_t i = 0, n = command.size();
  auto unterminated = [&](bool single, size_t at) {
    std::string message =
        std::string("unterminated ") + (single ? "single" : "double") +
        " quote at column " + std::to_string(at + 1) + " in command line '" +
        command.str() + "'; expected a closing " + (single ? "'" : "\"");
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   message.c_str());
  };
  while (i < n) {
    char c = command[i];
    if (isSeparator(c)) {
      if (inWord) {
        words.push_back(std::move(word));
        word.clear();
        inWord = false;
      }
      ++i;
      continue;
    }
    inWord = true;
    if (c == '\'') {
      size_t close = command.find('\'', i + 1);
      if (close == llvm::StringRef::npos)
        return unterminated(true, i);
      word.append(command.data() + i + 1, close - i - 1);
      i = close + 1;
      continue;
    }
    if (c == '"') {
      size_t open = i++;
      bool closed = false;
      while (i < n) {
        char d = command[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < n &&
            (command[i + 1] == '"' || command[i + 1] == '\\')) {
          word.push_back(command[i + 1]);
          i += 2;
          continue;
        }
        word.push_back(d);
        ++i;
      }
      if (!closed)
        return unterminated(false, open);
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= n)
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "command line '%s' ends with a backslash; expected a character "
            "after it (write \\\\ for a backslash)",
            command.str().c_str());
      word.push_back(command[i + 1]);
      i += 2;
      continue;
    }
    word.push_back(c);
    ++i;
  }
  if (inWord)
    words.push_back(std::move(word));
  return words;
}
