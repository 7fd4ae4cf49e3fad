//===- HostInfo.cpp - Machine and build description for manifests --------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/RunFolder.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Threading.h"
#include "llvm/TargetParser/Host.h"

#include <sys/utsname.h>
#include <thread>
#include <unistd.h>

#ifndef FTL_VERSION
#define FTL_VERSION "unknown"
#endif

using namespace ftl::rt;
using llvm::StringRef;
namespace json = llvm::json;

/// The first "model name" (x86) or "Hardware"/"cpu model" (others) value in
/// /proc/cpuinfo, or LLVM's name for the host CPU.
static std::string cpuModel() {
  auto buffer = llvm::MemoryBuffer::getFileAsStream("/proc/cpuinfo");
  if (buffer) {
    StringRef rest = (*buffer)->getBuffer();
    while (!rest.empty()) {
      auto [line, tail] = rest.split('\n');
      rest = tail;
      auto [key, value] = line.split(':');
      key = key.trim();
      if (key == "model name" || key == "Hardware" || key == "cpu model") {
        value = value.trim();
        if (!value.empty())
          return value.str();
      }
    }
  }
  return llvm::sys::getHostCPUName().str();
}

json::Object ftl::rt::describeHost() {
  char hostname[256] = {0};
  if (::gethostname(hostname, sizeof(hostname) - 1) != 0)
    hostname[0] = 0;
  json::Object host{
      {"hostname", std::string(hostname)},
      {"cpu_model", cpuModel()},
      {"logical_cores",
       static_cast<int64_t>(std::thread::hardware_concurrency())},
      {"physical_cores", static_cast<int64_t>(llvm::get_physical_cores())}};
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0)
    host["memory_bytes"] = static_cast<int64_t>(pages) * pageSize;
  struct utsname name;
  if (::uname(&name) == 0)
    host["os"] =
        std::string(name.sysname) + " " + name.release + " " + name.machine;
  return host;
}

json::Object ftl::rt::describeBuild() {
#if defined(__clang__)
  std::string compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  std::string compiler = "gcc " __VERSION__;
#else
  std::string compiler = "unknown";
#endif
#ifdef NDEBUG
  bool assertions = false;
#else
  bool assertions = true;
#endif
  return json::Object{{"ftl", FTL_VERSION},
                      {"cxx_compiler", compiler},
                      {"llvm", LLVM_VERSION_STRING},
                      {"mlir", LLVM_VERSION_STRING},
                      {"assertions", assertions}};
}
