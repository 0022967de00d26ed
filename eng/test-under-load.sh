#!/usr/bin/env bash
# The test suite again, the way a loaded machine runs it: two busy processes compete for the cores and libtorch runs
# with one intra-op thread (OMP_NUM_THREADS=1) instead of one per core. A test that compares floating point bit for bit
# across batchings, kernels or thread counts fails here before it fails on a user's machine. Prints
#   tests under load: N passed, N failed, N skipped
# and exits non-zero on any failure. CI runs it after eng/test.sh.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

busy=()
for _ in 1 2; do
  ( while :; do :; done ) &
  busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT

results="$root/artifacts/test-results-under-load"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
out=$(GROUPROBUST_TEST_RESULTS="$results" bash eng/test.sh 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E "^\s+Failed |Error Message" -A3 | head -n 60 >&2
line=$(printf '%s\n' "$out" | grep -E '^tests: ' | tail -n1)
echo "${line/tests:/tests under load:}"
exit "$rc"
