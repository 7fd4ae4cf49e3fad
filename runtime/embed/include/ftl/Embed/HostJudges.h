//===- ftl/Embed/HostJudges.h - Judges registered by the host --*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The process-wide registry behind `ftl::registerJudge` (ftl/ftl.h): a host
/// program registers functions by name, and the runtime finds them when a
/// script says `judge(..., by: host("name"))`. The registry is its own small
/// library (`FTLHostJudges`, depending only on FTLJudge), so the engine can
/// look judges up without linking the embedding API. Thread-safe.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_EMBED_HOSTJUDGES_H
#define FTL_EMBED_HOSTJUDGES_H

#include "ftl/Judge/Judge.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace ftl::rt {

/// Registers `fn` under `name`, replacing an earlier one. Errors: an empty
/// name or an empty function.
llvm::Error registerHostJudge(llvm::StringRef name, JudgeFn fn);

/// Removes `name`; false when it was not registered.
bool unregisterHostJudge(llvm::StringRef name);

/// The registered names, sorted.
std::vector<std::string> hostJudgeNames();

/// A judge that calls the function registered under `name` (a copy taken
/// now, so unregistering later does not affect it). Error when there is
/// none: it names the registered judges, or says that the host registered
/// none.
llvm::Expected<std::unique_ptr<Judge>> findHostJudge(llvm::StringRef name);

} // namespace ftl::rt

#endif // FTL_EMBED_HOSTJUDGES_H
