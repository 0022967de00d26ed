#!/usr/bin/env bash
# README's programs are real programs: the first ```csharp block of README.md must be samples/GroupRobust.Minimal/Program.cs
# and the second samples/GroupRobust.TextMinimal/Program.cs, byte for byte; this script checks that, then builds and runs
# both samples (real Fashion-MNIST, about 10 s on 2 cores; real fortunes with all-MiniLM-L6-v2, about a minute).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
block=$(mktemp)
trap 'rm -f "$block"' EXIT
awk '/^```csharp$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' README.md > "$block"
text_block=$(mktemp)
trap 'rm -f "$block" "$text_block"' EXIT
awk '/^```csharp$/ {n++; if (n == 2) {inside=1; next}} inside && /^```$/ {exit} inside {print}' README.md > "$text_block"
if ! diff -u samples/GroupRobust.TextMinimal/Program.cs "$text_block" >&2; then
  echo "check-readme: README.md's second csharp block differs from samples/GroupRobust.TextMinimal/Program.cs (diff above)" >&2
  exit 1
fi
if ! diff -u samples/GroupRobust.Minimal/Program.cs "$block" >&2; then
  echo "check-readme: README.md's csharp block differs from samples/GroupRobust.Minimal/Program.cs (diff above)" >&2
  exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$(dotnet run --project samples/GroupRobust.Minimal -c Release 2>&1) || { printf '%s\n' "$out" >&2; echo "check-readme: README's program failed" >&2; exit 1; }
printf '%s\n' "$out" | tail -n 3
printf '%s\n' "$out" | grep -q "selected epoch" || { echo "check-readme: README's program did not report its selected epoch" >&2; exit 1; }
out=$(dotnet run --project samples/GroupRobust.TextMinimal -c Release 2>&1) || { printf '%s\n' "$out" >&2; echo "check-readme: README's text program failed" >&2; exit 1; }
printf '%s\n' "$out" | tail -n 3
printf '%s\n' "$out" | grep -q "selected epoch" || { echo "check-readme: README's text program did not report its selected epoch" >&2; exit 1; }
echo "check-readme: README's programs compiled and ran"
