#!/usr/bin/env bash
# BenchmarkDotNet micro-benchmarks (mixer, partner sampling, GroupDRO step, evaluator, JTT epoch), with allocations.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/install-prereqs.sh"
dotnet run --project "$root/bench/GroupRobust.Benchmarks" -c Release -- micro --filter '*' "$@"
