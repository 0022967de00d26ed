#!/usr/bin/env bash
# Epoch time of ERM, JM1 (input, random layer), JTT (lambda 50), GroupDRO, EIIL + GroupDRO, LfF and LISA in one run; ratios to ERM.
# Usage: bash bench/run-macro.sh [repetitions=5] [train-size=10000]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/install-prereqs.sh"
dotnet run --project "$root/bench/GroupRobust.Benchmarks" -c Release -- macro "$@"
