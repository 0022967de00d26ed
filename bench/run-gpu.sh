#!/usr/bin/env bash
# Prepares the GPU measurements of issue 17 for the `device` tool's machine (one H200, PyTorch with CUDA, no .NET):
# bundles the benchmark (../shared/gpu/make-bundle.sh), adds the PyTorch script and writes .gpu/measure.sh, the one
# command to run there. Usage (from the repository root): bash bench/run-gpu.sh; then run, with carry [".gpu"]:
#   bash .gpu/measure.sh            (writes every table under $OUT)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ../shared/gpu/make-bundle.sh bench/GroupRobust.Benchmarks .gpu --fashion-mnist "5 7 8 9"
cp bench/pytorch_macro.py .gpu/
cat > .gpu/measure.sh <<'RUN'
#!/usr/bin/env bash
# On the GPU machine: ResNet-18 at 112 x 112 (batch 128, 20k samples) and the small CNN, fp32 and bf16, the library
# against the raw TorchSharp loop, and the same loops in PyTorch. At most 8 minutes (each run has a limit); call the
# device tool with timeout_s 540.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-/tmp/out}; mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
run() { local name=$1 limit=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" > "$out/$name.txt" 2>&1; echo "rc $? $(tail -1 "$out/$name.txt")"; }
run resnet18-fp32 150 bash "$here/run.sh" macro 5 20000 --device cuda --model resnet18 --image-size 112 --batch 128 --no-one-off \
    --methods raw-erm,erm,raw-jm1,jm1,jm1-hidden,jm1-hidden-inbatch,jm1-random,jm1-random-detached,jm1-random-inbatch,jtt,groupdro
run pytorch-resnet18-fp32 90 python3 "$here/pytorch_macro.py" --device cuda --model resnet18 --image-size 112 --batch 128 --train-size 20000 --reps 5
run small-cnn-fp32 90 bash "$here/run.sh" macro 5 10000 --device cuda --model small-cnn --data-dir "$here/fashion-mnist" --no-one-off
run resnet18-bf16 90 bash "$here/run.sh" macro 3 20000 --device cuda --model resnet18 --image-size 112 --batch 128 --dtype bf16 --no-one-off \
    --methods raw-erm,erm,jm1,jm1-hidden,jm1-hidden-inbatch,groupdro
run pytorch-resnet18-bf16 60 python3 "$here/pytorch_macro.py" --device cuda --model resnet18 --image-size 112 --batch 128 --train-size 20000 --reps 3 --dtype bf16
RUN
chmod +x .gpu/measure.sh
echo "run-gpu: .gpu is ready; on the device: bash .gpu/measure.sh (carry [\".gpu\"])"
