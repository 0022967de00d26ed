#!/usr/bin/env bash
# Epoch time of ERM, JM1 (input, hidden layer, random layer; exact, detached and in-batch partners), JTT (lambda 50), GroupDRO, EIIL + GroupDRO, LfF and LISA in one run, with
# the same ERM and JM1-input loops in raw TorchSharp; ratios to ERM and to the raw loop. Options: see MacroOptions.cs.
# Usage: bash bench/run-macro.sh [repetitions=5] [train-size=10000] [--device cpu|cuda] [--model small-cnn|resnet18|resnet50] [--image-size 112] [--batch B] [--dtype fp32|bf16|fp16] [--methods a,b] [--no-one-off]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/install-prereqs.sh"
dotnet run --project "$root/bench/GroupRobust.Benchmarks" -c Release -- macro "$@"
