#!/usr/bin/env python3
"""Make the parity fixtures (Tests/Fixtures/reference) by running the official SR-GNN code.

Usage:
    scripts/make-parity-fixtures.py --official PATH/TO/SR-GNN/pytorch_code [--spec DIR] [--out DIR]
    scripts/make-parity-fixtures.py --roundtrip DIR     # check the writers against committed files

Needs Python 3, torch, numpy and networkx (the official utils.py imports it), and a checkout of
the official code (https://github.com/CRIPAC-DIG/SR-GNN). Its `model.py` and `utils.py` are
imported from `--official` as they are; none of their code is copied here.

For each case (by default every CASE.json in --spec, Tests/Fixtures/reference), the script takes
the case's settings and batch (seed, n_node, hidden_size, step, nonhybrid, lr, l2, sessions,
targets), seeds torch with `seed`, builds the official `SessionGraph`, and runs 3 steps of its own
Adam optimizer on that batch with the official `forward`. It writes into --out:

- CASE.json: the settings, `adam`, `sessions`, `targets`, `loss_per_step` (the loss before each
  of the 3 steps), `top20_item_indices_minus_1` (the first forward's top-20 score columns, fewer
  when there are fewer items) and `generated_by`;
- CASE.safetensors: the initial parameters under the official state_dict names, `input.A`,
  `input.items`, `input.alias`, `input.mask` (as the official `Data.get_slice` builds them),
  `output.scores` (first forward), `grad.NAME` (first loss, before weight decay) and `stepK.NAME`
  for K = 1, 2, 3 (parameters after each Adam step). Parameters the forward pass never uses
  (`gnn.linear_edge_f.*`; `linear_transform.*` when nonhybrid) have no gradient and are absent
  from `grad.*` and `stepK.*`, as the official optimizer never updates them.

The safetensors layout is the one the committed fixtures use: 8-byte little-endian header length,
a compact JSON header with the tensors in the order above (no `__metadata__`), padded with spaces
to a multiple of 8 bytes, then the raw little-endian data in the same order.

NOT RUN HERE: the official code was not on the machine where this script was written, so it has
not produced the committed fixtures itself (they were made by an equivalent driver with torch
2.15). `--roundtrip` checks, without torch, that this script's JSON and safetensors writers give
the committed files byte for byte; the `input.*` tensors built through the official
`utils.Data.get_slice` were checked equal to the committed ones (numpy, no torch). Initial parameters depend on torch's random generator, so
another torch version may give other (equally valid) numbers: the Swift tests read the initial
parameters from the file and compare everything else against them.
"""

import argparse
import json
import os
import struct
import sys
from collections import OrderedDict

DTYPES = {"F32": ("f", 4), "I64": ("q", 8)}


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, raw little-endian bytes), written in that order."""
    header, offset = OrderedDict(), 0
    for name, dtype, shape, data in tensors:
        header[name] = OrderedDict([("dtype", dtype), ("shape", list(shape)),
                                    ("data_offsets", [offset, offset + len(data)])])
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for _, _, _, data in tensors:
            out.write(data)
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    """The tensors of a safetensors file, in header order, as write_safetensors takes them."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length), object_pairs_hook=OrderedDict)
        data = f.read()
    return [(name, entry["dtype"], entry["shape"], data[entry["data_offsets"][0]:entry["data_offsets"][1]])
            for name, entry in header.items() if name != "__metadata__"]


def write_json(path, description):
    with open(path + ".tmp", "w") as out:
        json.dump(description, out, indent=1)
    os.replace(path + ".tmp", path)


def roundtrip(folder):
    """Rewrite every case of `folder` with this script's writers and compare the bytes."""
    failures = 0
    for name in sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json")):
        base = os.path.join(folder, name)
        with open(base + ".json") as f:
            description = json.load(f, object_pairs_hook=OrderedDict)
        scratch = os.path.join(folder, ".roundtrip-" + name)
        write_json(scratch + ".json", description)
        write_safetensors(scratch + ".safetensors", read_safetensors(base + ".safetensors"))
        for extension in (".json", ".safetensors"):
            with open(base + extension, "rb") as a, open(scratch + extension, "rb") as b:
                same = a.read() == b.read()
            os.remove(scratch + extension)
            print("%s%s: %s" % (name, extension, "identical" if same else "DIFFERENT"))
            failures += 0 if same else 1
    return failures


def make_case(spec, official_model, official_utils, torch, np):
    """Run the official code on one case; returns (description, tensors)."""
    torch.manual_seed(spec["seed"])
    np.random.seed(spec["seed"])
    sessions, targets = spec["sessions"], spec["targets"]
    options = argparse.Namespace(hiddenSize=spec["hidden_size"], batchSize=len(sessions),
                                 nonhybrid=spec["nonhybrid"], step=spec["step"], lr=spec["lr"],
                                 l2=spec["l2"], lr_dc_step=3, lr_dc=0.1)
    model = official_model.SessionGraph(options, spec["n_node"])
    data = official_utils.Data((sessions, targets), shuffle=False)
    rows = np.arange(len(sessions))
    alias, adjacency, items, mask, _ = data.get_slice(rows)
    named = list(model.named_parameters())

    def as_tensor(name, array, dtype):
        array = np.ascontiguousarray(array, dtype="<f4" if dtype == "F32" else "<i8")
        return (name, dtype, list(array.shape), array.tobytes())

    tensors = [as_tensor(name, p.detach().cpu().numpy(), "F32") for name, p in named]
    tensors += [as_tensor("input.A", np.asarray(adjacency, dtype=np.float32), "F32"),
                as_tensor("input.items", np.asarray(items), "I64"),
                as_tensor("input.alias", np.asarray(alias), "I64"),
                as_tensor("input.mask", np.asarray(mask), "I64")]
    losses, top, steps = [], None, []
    for k in range(1, 4):
        model.optimizer.zero_grad()
        batch_targets, scores = official_model.forward(model, rows, data)
        loss = model.loss_function(scores, torch.Tensor(batch_targets).long() - 1)
        loss.backward()
        losses.append(loss.item())
        if k == 1:
            tensors.append(as_tensor("output.scores", scores.detach().cpu().numpy(), "F32"))
            top = scores.topk(min(20, scores.shape[1]))[1].cpu().numpy().tolist()
            grads = [as_tensor("grad." + name, p.grad.cpu().numpy(), "F32") for name, p in named if p.grad is not None]
        model.optimizer.step()
        steps += [as_tensor("step%d.%s" % (k, name), p.detach().cpu().numpy(), "F32")
                  for name, p in named if p.grad is not None]
    tensors += grads + steps

    description = OrderedDict()
    for key in ("case", "seed", "n_node", "hidden_size", "step", "nonhybrid", "lr", "l2"):
        description[key] = spec[key]
    description["adam"] = OrderedDict([("betas", [0.9, 0.999]), ("eps", 1e-08), ("weight_decay", spec["l2"]),
                                       ("note", "torch.optim.Adam with weight_decay=l2 (L2 added to the gradient)")])
    description["sessions"], description["targets"] = sessions, targets
    description["loss_per_step"] = losses
    description["top20_item_indices_minus_1"] = top
    description["generated_by"] = "official SR-GNN pytorch_code (model.py, utils.py) with torch " + torch.__version__
    return description, tensors


def main():
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.path.join(repository, "Tests", "Fixtures", "reference")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--official", help="the official code's pytorch_code folder (model.py, utils.py)")
    parser.add_argument("--spec", default=default, help="folder whose CASE.json files give the cases (default: %(default)s)")
    parser.add_argument("--out", default=default, help="folder to write CASE.json and CASE.safetensors into")
    parser.add_argument("--roundtrip", metavar="DIR", help="only check the writers against the fixtures in DIR")
    arguments = parser.parse_args()
    if arguments.roundtrip:
        sys.exit(1 if roundtrip(arguments.roundtrip) else 0)
    if not arguments.official:
        parser.error("--official PATH/pytorch_code is required (or --roundtrip DIR)")

    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the fixtures are float32 on CPU
    import numpy as np
    import torch
    sys.path.insert(0, os.path.abspath(arguments.official))
    import model as official_model  # the official pytorch_code/model.py
    import utils as official_utils  # the official pytorch_code/utils.py

    os.makedirs(arguments.out, exist_ok=True)
    names = sorted(n[:-5] for n in os.listdir(arguments.spec) if n.endswith(".json"))
    if not names:
        parser.error("no CASE.json in %s" % arguments.spec)
    for name in names:
        with open(os.path.join(arguments.spec, name + ".json")) as f:
            spec = json.load(f)
        spec["case"] = name
        description, tensors = make_case(spec, official_model, official_utils, torch, np)
        write_json(os.path.join(arguments.out, name + ".json"), description)
        write_safetensors(os.path.join(arguments.out, name + ".safetensors"), tensors)
        print("%s: loss %s" % (name, ", ".join("%.6f" % v for v in description["loss_per_step"])))


if __name__ == "__main__":
    main()
