//===- HostJudges.cpp - Judges registered by the host ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Embed/HostJudges.h"

#include <map>
#include <mutex>

using namespace ftl::rt;

namespace {
struct Registry {
  std::mutex mutex;
  std::map<std::string, JudgeFn, std::less<>> judges;
};

Registry &registry() {
  static Registry instance;
  return instance;
}
} // namespace

llvm::Error ftl::rt::registerHostJudge(llvm::StringRef name, JudgeFn fn) {
  if (name.empty())
    return llvm::createStringError(
        "a host judge needs a name; expected a non-empty string such as "
        "\"unit-tests\", found \"\"");
  if (!fn)
    return llvm::createStringError("host judge '" + name +
                                   "' has no function; expected a callable, "
                                   "found an empty function");
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.judges[name.str()] = std::move(fn);
  return llvm::Error::success();
}

bool ftl::rt::unregisterHostJudge(llvm::StringRef name) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.judges.find(name);
  if (it == r.judges.end())
    return false;
  r.judges.erase(it);
  return true;
}

std::vector<std::string> ftl::rt::hostJudgeNames() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto &entry : r.judges)
    names.push_back(entry.first);
  return names;
}

llvm::Expected<std::unique_ptr<Judge>>
ftl::rt::findHostJudge(llvm::StringRef name) {
  JudgeFn fn;
  std::string known;
  {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.judges.find(name);
    if (it != r.judges.end())
      fn = it->second;
    for (const auto &entry : r.judges)
      known += (known.empty() ? "'" : ", '") + entry.first + "'";
  }
  if (!fn)
    return llvm::createStringError(
        "no host judge named '" + name + "'; " +
        (known.empty() ? std::string("the host program registered none "
                                     "(ftl::registerJudge)")
                       : "expected one of " + known));
  return functionJudge(std::move(fn));
}
