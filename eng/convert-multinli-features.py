#!/usr/bin/env python3
"""Converts group_DRO's cached MultiNLI BERT features to one safetensors file GroupRobust reads.

group_DRO (Sagawa et al., 2020) ships MultiNLI as metadata_random.csv plus three torch.save'd pickles of
`InputFeatures` objects under glue_data/MNLI/:

    cached_train_bert-base-uncased_128_mnli
    cached_dev_bert-base-uncased_128_mnli
    cached_dev_bert-base-uncased_128_mnli-mm

Its MultiNLIDataset concatenates the three lists in that order (row r of the result is row r of metadata_random.csv)
and asserts that every feature's label_id equals the row's gold_label. TorchSharp cannot read Python pickles, so this
script (run once, where PyTorch is installed) writes the same arrays as a safetensors file:

    input_ids, input_mask, segment_ids   int64 [N, 128]
    label_ids                            int64 [N]

and `MultiNliLoader.Load(metadataPath, "multinli.safetensors")` stacks the first three to [N, 128, 3] (group_DRO's
x_array) and checks label_ids against gold_label, as group_DRO does.

Usage:
    python3 eng/convert-multinli-features.py DATA_DIR/multinli multinli.safetensors
where DATA_DIR/multinli holds glue_data/MNLI/cached_* (group_DRO's layout). Needs PyTorch (any version that can read
the pickles; Debian's python3-torch works); the safetensors file is written by hand, so no other package is needed.
"""
import json
import os
import pickle
import struct
import sys

FILES = [
    "cached_train_bert-base-uncased_128_mnli",
    "cached_dev_bert-base-uncased_128_mnli",
    "cached_dev_bert-base-uncased_128_mnli-mm",
]


class _AnyFeatures:
    """Stands in for pytorch_transformers' / utils_glue's InputFeatures when unpickling (its attributes are kept)."""

    def __setstate__(self, state):
        self.__dict__.update(state)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if name == "InputFeatures":
            return _AnyFeatures
        return super().find_class(module, name)


class _PickleModule:
    """The pickle module torch.load uses, with InputFeatures resolved to a plain object."""
    Unpickler = _Unpickler
    load = pickle.load
    __name__ = "pickle"


def write_safetensors(path, tensors):
    """tensors: name -> (dtype string, shape list, little-endian bytes). Written atomically (temporary file, rename)."""
    header, offset = {"__metadata__": {"source": "group_DRO cached MultiNLI features"}}, 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)   # the format aligns the data section to 8 bytes
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, (_, _, data) in tensors.items():
            f.write(data)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv[1], argv[2]
    import torch

    features = []
    for name in FILES:
        path = os.path.join(source, "glue_data", "MNLI", name)
        if not os.path.exists(path):
            print(f"convert-multinli-features: {path} does not exist (group_DRO's layout: DATA_DIR/multinli/glue_data/MNLI/)", file=sys.stderr)
            return 1
        try:
            part = torch.load(path, pickle_module=_PickleModule, weights_only=False)
        except TypeError:   # PyTorch before 1.13 has no weights_only
            part = torch.load(path, pickle_module=_PickleModule)
        print(f"convert-multinli-features: {name}: {len(part)} examples")
        features += part
    arrays = {}
    for field, out in [("input_ids", "input_ids"), ("input_mask", "input_mask"), ("segment_ids", "segment_ids")]:
        t = torch.tensor([getattr(f, field) for f in features], dtype=torch.long).contiguous()
        arrays[out] = ("I64", list(t.shape), t.numpy().astype("<i8").tobytes())
    labels = torch.tensor([f.label_id for f in features], dtype=torch.long)
    arrays["label_ids"] = ("I64", [len(features)], labels.numpy().astype("<i8").tobytes())
    write_safetensors(target, arrays)
    print(f"convert-multinli-features: wrote {target}: {len(features)} rows x {arrays['input_ids'][1][1]} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
