#!/usr/bin/env bash
# Epoch time of data-parallel training through the method contract (small CNN, Spurious Fashion-MNIST 10k, global
# batch 128, one torch thread per process), for ERM and JM1 (input): one process, then 2 ranks under mpirun on this
# machine; prints the four lines and the speed-ups.
# Usage: bash bench/run-distributed.sh [epochs=3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/eng/install-prereqs.sh"
dotnet build "$root/bench/GroupRobust.Benchmarks" -c Release -v quiet -nologo >/dev/null
dll="$root/bench/GroupRobust.Benchmarks/bin/Release/net10.0/GroupRobust.Benchmarks.dll"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for method in erm jm1; do
  one=$(mpirun -np 1 --mca btl_vader_single_copy_mechanism none dotnet "$dll" distributed "${1:-3}" "$method" | grep "ranks 1" | sed 's/.*\(erm\|jm1\) ranks/\1 ranks/')
  two=$(mpirun -np 2 --oversubscribe --mca btl_vader_single_copy_mechanism none dotnet "$dll" distributed "${1:-3}" "$method" | grep "ranks 2" | sed 's/.*\(erm\|jm1\) ranks/\1 ranks/')
  echo "$one"
  echo "$two"
  t1=$(echo "$one" | sed -E 's/.*epoch ([0-9.]+) s.*/\1/'); t2=$(echo "$two" | sed -E 's/.*epoch ([0-9.]+) s.*/\1/')
  python3 -c "print(f'$method: speed-up of 2 ranks over 1 process: {float(\"$t1\") / float(\"$t2\"):.2f}x')"
done
