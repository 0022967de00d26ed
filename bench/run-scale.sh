#!/usr/bin/env bash
# Identification and partition building on 1M and 10M generated samples (streaming features): time and peak memory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/install-prereqs.sh"
dotnet run --project "$root/bench/GroupRobust.Benchmarks" -c Release -- scale "$@"
