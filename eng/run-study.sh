#!/usr/bin/env bash
# The main job: installs the prerequisites, then runs the end-to-end study on Spurious Fashion-MNIST
# (ERM, JTT, JM1 with identified and oracle partitions, c-MixUp, MixUp, GroupDRO, LfF, EIIL + GroupDRO, LISA). Extra arguments go to the study,
# e.g. `bash eng/run-study.sh --full` (3 seeds) or `bash eng/run-study.sh --help`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash eng/install-prereqs.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x10000000}"   # fewer collections: see eng/test.sh on TorchSharp's Scalar finalizer race
dotnet run --project samples/GroupRobust.Study -c Release -- "$@"
