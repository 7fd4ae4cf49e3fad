//===- safetensors_fuzz.cpp - Fuzz the safetensors reader -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to SafeTensorsFile::parse. Whatever parses must be
// usable: every tensor can be read and converted, and writing the tensors
// back gives a file that parses to the same tensors and rewrites to the same
// bytes.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/SafeTensors.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>

using namespace ftl::rt;

static std::string write(const SafeTensorsFile &file) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (llvm::Error err = writeSafeTensors(os, file.tensors(), file.metadata())) {
    llvm::consumeError(std::move(err));
    std::abort(); // names from a valid file must be writable
  }
  return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto file = SafeTensorsFile::parse(llvm::MemoryBufferRef(bytes, "fuzz"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  size_t total = 0;
  for (const std::string &name : file->names()) {
    Tensor t = file->get(name);
    if (!t.valid() || !t.bitwiseEqual(t.clone()))
      std::abort();
    total += t.nbytes();
    if (isFloatingPoint(t.dtype()) && t.numel() < (1 << 16))
      (void)t.to(DType::F32);
  }
  if (total > size)
    std::abort(); // tensors must lie inside the input

  std::string once = write(*file);
  auto again = SafeTensorsFile::parse(llvm::MemoryBufferRef(once, "rewrite"));
  if (!again) {
    llvm::consumeError(again.takeError());
    std::abort(); // our own output must parse
  }
  if (again->names() != file->names() || again->metadata() != file->metadata())
    std::abort();
  for (const std::string &name : file->names())
    if (!again->get(name).bitwiseEqual(file->get(name)))
      std::abort();
  if (write(*again) != once)
    std::abort();
  return 0;
}
