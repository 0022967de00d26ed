#!/usr/bin/env python3
"""The macro benchmark's loops in PyTorch, for the side-by-side with TorchSharp and GroupRobust.

Same workload as `dotnet run --project bench/GroupRobust.Benchmarks -c Release -- macro ...`: a training set stored
as one tensor on the device, Adam (lr 1e-3), one warm-up epoch, then REPS timed epochs per row with the rows
interleaved within each repetition, medians of the per-repetition ratios to ERM with min and max.

Rows: ERM; JM1 at the input (each row's partner drawn on the device from the other side of its class, alpha ~ U(0, 1)
per batch on the majority-side sample); JM1 at a hidden layer with the library's design (the partners run up to the
layer in the autograd graph, a forward hook keeps their representation and ends that pass, then the batch runs and
the hook replaces its representation by the mix); GroupDRO (Sagawa et al.'s online update, step size 0.01, on
group-balanced epochs).

Usage (on the GPU machine, where PyTorch is installed):
    python3 bench/pytorch_macro.py --device cuda --model resnet18 --image-size 112 --batch 128 --train-size 20000 --reps 5
Models: small-cnn (the Study's CNN on 3 x 28 x 28), resnet18 and resnet50 (torchvision, random weights), all with 2
classes. Images are random (timing only), with labels and a 95%-correlated attribute as in the C# benchmark.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def small_cnn(width=16, classes=2):
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 7 * 7, 64), nn.ReLU()),
        nn.Linear(64, classes))


def new_model(name, device, dtype, seed=0):
    torch.manual_seed(seed)
    if name == "small-cnn":
        model, hidden = small_cnn(), "1"          # the C# benchmark's "block2"
    else:
        import torchvision
        model = getattr(torchvision.models, name.replace("-", ""))(num_classes=2)
        hidden = "layer2"
    return model.to(device=device, dtype=dtype), hidden


class StopPartnerPass(Exception):
    pass


class HiddenMixer:
    """Mixing at a named submodule with two B-row passes, as GroupRobust's MixedForwardPass does."""

    def __init__(self, model, layer):
        self.model, self.partner, self.coefficients = model, None, None
        self.keeping = False
        dict(model.named_modules())[layer].register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        if self.keeping:
            self.partner = output
            raise StopPartnerPass()
        if self.coefficients is not None:
            c = self.coefficients.view(-1, *([1] * (output.dim() - 1))).to(output.dtype)
            return output * c + self.partner * (1 - c)
        return output

    def __call__(self, x, partners, c):
        self.keeping = True
        try:
            self.model(partners)
        except StopPartnerPass:
            pass
        self.keeping, self.coefficients = False, c
        try:
            return self.model(x)
        finally:
            self.partner = self.coefficients = None


class Workload:
    def __init__(self, args, device, dtype):
        g = torch.Generator().manual_seed(0)
        n = args.train_size
        side = 28 if args.model == "small-cnn" else args.image_size
        self.labels = torch.randint(0, 2, (n,), generator=g)
        agree = torch.rand(n, generator=g) < 0.95
        attributes = torch.where(agree, self.labels, 1 - self.labels)
        self.groups = (2 * self.labels + attributes).to(device)
        self.inputs = torch.randn(n, 3, side, side, generator=g).to(device=device, dtype=dtype)
        self.minority = (~agree).long().to(device)
        keys = 2 * self.labels + (~agree).long()
        self.pool = torch.argsort(keys, stable=True).to(device)
        size = torch.bincount(keys, minlength=4)
        self.pool_start = (torch.cumsum(size, 0) - size).to(device)
        self.pool_size = size.float().to(device)
        self.labels = self.labels.to(device)
        self.device, self.n = device, n
        counts = torch.bincount(self.groups, minlength=4).float()
        self.group_weights = (1.0 / counts)[self.groups]        # for the group-balanced sampler

    def order(self, seed, balanced=False):
        g = torch.Generator().manual_seed(seed)
        if balanced:
            return torch.multinomial(self.group_weights.cpu(), self.n, replacement=True, generator=g).to(self.device)
        return torch.randperm(self.n, generator=g).to(self.device)

    def partners(self, idx, y):
        other = 2 * y + (1 - self.minority[idx])
        u = torch.rand(idx.shape[0], device=self.device)
        position = self.pool_start[other] + (u * self.pool_size[other]).long()
        return self.pool[position]


def epoch(row, work, model, mixer, opt, batch, seed, q):
    model.train()
    order = work.order(seed, balanced=row == "groupdro")
    steps = 0
    for i in range(0, work.n, batch):
        idx = order[i:i + batch]
        x, y = work.inputs[idx], work.labels[idx]
        opt.zero_grad(set_to_none=True)
        if row == "erm":
            loss = F.cross_entropy(model(x), y)
        elif row == "groupdro":
            losses = F.cross_entropy(model(x), y, reduction="none").float()
            g = work.groups[idx]
            sums = torch.zeros(4, device=work.device).index_add_(0, g, losses)
            counts = torch.zeros(4, device=work.device).index_add_(0, g, torch.ones_like(losses))
            means = sums / counts.clamp_min(1)
            q.mul_(torch.exp(0.01 * means.detach())).div_(q.sum())
            loss = (q * means).sum()
        else:
            alpha = float(torch.rand(()))           # one host draw per batch, as in the C# loops
            p = work.partners(idx, y)
            side = work.minority[idx]
            c = torch.where(side == 0, torch.tensor(alpha, device=work.device), torch.tensor(1 - alpha, device=work.device))
            if row == "jm1":
                cv = c.view(-1, 1, 1, 1).to(x.dtype)
                logits = model(x * cv + work.inputs[p] * (1 - cv))
            else:
                logits = mixer(x, work.inputs[p], c)
            loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        steps += 1
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--model", default="resnet18", choices=["small-cnn", "resnet18", "resnet50"])
    ap.add_argument("--image-size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-size", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    args = ap.parse_args()
    device = torch.device(args.device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    work = Workload(args, device, dtype)
    rows = ["erm", "jm1", "jm1-hidden", "groupdro"]
    seconds = {r: [] for r in rows}
    steps = {}
    _, hidden = new_model(args.model, device, dtype)
    print(f"PyTorch {torch.__version__} macro benchmark: {args.reps} repetitions, {args.model} ({args.dtype}), device {device}"
          f"{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}, train size {args.train_size}, "
          f"batch {args.batch}, Adam, hidden layer '{hidden}', torch threads {torch.get_num_threads()}")
    for rep in range(-1, args.reps):                  # rep -1 warms up
        for row in rows:
            model, hidden = new_model(args.model, device, dtype)
            mixer = HiddenMixer(model, hidden) if row == "jm1-hidden" else None
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            q = torch.full((4,), 0.25, device=device)
            sync()
            start = time.perf_counter()
            steps[row] = epoch(row, work, model, mixer, opt, args.batch, rep + 10, q)
            sync()
            if rep >= 0:
                seconds[row].append(time.perf_counter() - start)
        if rep >= 0:
            print(f"  repetition {rep + 1}: " + ", ".join(f"{r} {seconds[r][-1]:.3f} s" for r in rows))
    print()
    print("| method (PyTorch) | epoch s (median) | steps | ms / step | ratio to ERM: median | min | max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    labels = {"erm": "ERM", "jm1": "JM1 input", "jm1-hidden": f"JM1 at {hidden}", "groupdro": "GroupDRO"}
    for row in rows:
        ratios = sorted(a / b for a, b in zip(seconds[row], seconds["erm"]))
        median = statistics.median(seconds[row])
        print(f"| {labels[row]} | {median:.3f} | {steps[row]} | {median / steps[row] * 1000:.2f} | "
              f"{statistics.median(ratios):.3f} | {ratios[0]:.3f} | {ratios[-1]:.3f} |")


if __name__ == "__main__":
    main()
