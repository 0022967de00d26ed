#!/usr/bin/env bash
# The test command: installs the prerequisites, runs the whole test suite, and prints a closing line
#   tests: N passed, N failed, N skipped
# computed from the TRX results. Exits non-zero on any failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash eng/install-prereqs.sh || { echo "tests: prerequisites missing (see above)" >&2; exit 1; }

results="${GROUPROBUST_TEST_RESULTS:-$root/artifacts/test-results}"   # where the TRX files go
rm -rf "$results"
mkdir -p "$results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# A 256 MB first GC generation: about 60 times fewer collections. TorchSharp 0.107 turns .NET numbers into native
# Scalars that only the finalizer frees, and the finalizer can free one while a native call still reads it (its
# optimizers' step does this for every parameter: "Unknown scalar type", or a wrong factor; see dotnet/TorchSharp#1434).
# The race needs a collection at that instant: with fewer collections it becomes vanishingly rare (docs/getting-started.md).
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x10000000}"

dotnet test GroupRobust.sln -c Release --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@"
rc=$?

passed=0; failed=0; skipped=0; found=0
while IFS= read -r trx; do
  found=1
  line=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
  get() { printf '%s' "$line" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  p=$(get passed); f=$(get failed); t=$(get total); e=$(get executed)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done < <(find "$results" -name '*.trx')

if [ "$found" = 0 ]; then
  echo "tests: no TRX results were written (build failure?)" >&2
  echo "tests: 0 passed, 1 failed, 0 skipped"
  exit 1
fi
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
