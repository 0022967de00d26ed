#!/usr/bin/env python3
"""Makes the pretrained-weights fixtures of GroupRobust.Pretrained's tests with PyTorch (Debian's python3-torch
1.13 and python3-torchvision 0.14 made the committed files: /usr/bin/python3 make-fixtures.py).

- tiny.pth: the state_dict of TinyResNet below (torchvision's ResNet naming: conv1, bn1, layer1.0.conv1/bn1/conv2/bn2,
  layer1.0.downsample.0/1, fc; batch-norm buffers included), saved by torch.save;
- tiny.safetensors: the same tensors in the safetensors format (written by hand: this PyTorch has no safetensors);
- tiny-io.pth: {"input": a [2, 3, 16, 16] batch, "logits": TinyResNet's eval-mode output on it};
- resnet18-keys.tsv, resnet50-keys.tsv: every key of torchvision's resnet18 / resnet50 state_dict with its dtype and
  shape, so the tests check that TorchVision for TorchSharp's models take a torchvision checkpoint key for key.
A real ResNet-18 checkpoint is 45 MB; this keeps the committed fixtures to a few kilobytes.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torchvision

here = os.path.dirname(os.path.abspath(__file__))


class Block(nn.Module):
    """torchvision's BasicBlock at width 4 -> 8 with a downsampling shortcut."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.downsample = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(Block())
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def write_safetensors(path, state):
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in state.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def keys(model, path):
    with open(path, "w") as f:
        for name, t in model.state_dict().items():
            f.write(f"{name}\t{str(t.dtype).replace('torch.', '')}\t{','.join(map(str, t.shape))}\n")


torch.manual_seed(0)
model = TinyResNet()
model.train()
with torch.no_grad():
    for _ in range(3):   # non-trivial batch-norm running statistics
        model(torch.randn(8, 3, 16, 16) * 2 + 0.5)
model.eval()
state = {k: v.detach().clone() for k, v in model.state_dict().items()}
torch.save(state, os.path.join(here, "tiny.pth"))
write_safetensors(os.path.join(here, "tiny.safetensors"), state)
x = torch.randn(2, 3, 16, 16)
with torch.no_grad():
    logits = model(x)
torch.save({"input": x, "logits": logits}, os.path.join(here, "tiny-io.pth"))
keys(torchvision.models.resnet18(), os.path.join(here, "resnet18-keys.tsv"))
keys(torchvision.models.resnet50(), os.path.join(here, "resnet50-keys.tsv"))
print("logits", logits)
