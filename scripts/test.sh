#!/usr/bin/env bash
# Runs every test: the lit suite and the unit tests through CTest, and a short
# bounded run of the front-end fuzzer. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${FTL_BUILD_DIR:-build}
JOBS=${FTL_JOBS:-$(nproc)}
FUZZ_SECONDS=${FTL_FUZZ_SECONDS:-60}

failed=0
passed=0

# The fuzzer needs clang's sanitizers: a separate small build of the front end.
echo "== fuzzing the front end for ${FUZZ_SECONDS}s"
if CC=clang-19 CXX=clang++-19 cmake -G Ninja -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release \
     -DFTL_ENABLE_FUZZ=ON -DFTL_ENABLE_CUDA=OFF -DFTL_ENABLE_BENCH=OFF \
     -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir >build-fuzz.configure.log 2>&1 &&
   ninja -C build-fuzz -j "$JOBS" frontend_fuzz >build-fuzz.build.log 2>&1; then
  mkdir -p build-fuzz/corpus-frontend
  if build-fuzz/bin/frontend_fuzz -max_total_time="$FUZZ_SECONDS" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=0 build-fuzz/corpus-frontend fuzz/seeds/frontend_fuzz \
       >build-fuzz/fuzz.log 2>&1; then
    echo "fuzz: no crash in ${FUZZ_SECONDS}s"; passed=$((passed + 1))
  else
    tail -40 build-fuzz/fuzz.log; echo "fuzz: FAILED"; failed=$((failed + 1))
  fi
else
  tail -40 build-fuzz.configure.log build-fuzz.build.log 2>/dev/null
  echo "fuzz: could not build the fuzzer"; failed=$((failed + 1))
fi

echo "== ctest"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" | tee "$BUILD_DIR/ctest.log"
summary=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$BUILD_DIR/ctest.log" | tail -1)
if [ -z "$summary" ]; then
  echo "ctest produced no summary"; failed=$((failed + 1))
else
  total=$(echo "$summary" | sed -E 's/.*out of ([0-9]+).*/\1/')
  nfail=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
  passed=$((passed + total - nfail)); failed=$((failed + nfail))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
