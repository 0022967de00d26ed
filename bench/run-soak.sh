#!/usr/bin/env bash
# 50 epochs through every method; prints live tensors and RSS per epoch, exits 1 if the tensor count grows.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/install-prereqs.sh"
dotnet run --project "$root/bench/GroupRobust.Benchmarks" -c Release -- soak "$@"
