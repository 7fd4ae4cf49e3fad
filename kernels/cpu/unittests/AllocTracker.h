//===- AllocTracker.h - Counting global operator new for tests ---*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The test binary replaces the global operator new / delete (all forms) with
/// versions that count live bytes, so tests can bound the peak extra memory a
/// kernel allocates (the kernels allocate scratch through operator new).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_UNITTESTS_ALLOCTRACKER_H
#define FTL_KERNELS_UNITTESTS_ALLOCTRACKER_H

#include <cstdint>

namespace ftl::kernels::test {

/// Bytes currently allocated through operator new.
int64_t liveBytes();
/// Peak of liveBytes() since the last resetPeak().
int64_t peakBytes();
void resetPeak();

} // namespace ftl::kernels::test

#endif // FTL_KERNELS_UNITTESTS_ALLOCTRACKER_H
