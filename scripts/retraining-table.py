#!/usr/bin/env python3
"""The incremental-retraining table (docs/RESULTS.md) from the runs of
scripts/retraining-simulation.sh: per window w, the test examples of window w + 1, and for the
full retrain (windows 1..w from scratch), the warm start (window w only) and each warm start with
replay (and, with --optimizer-state, continuing Adam's moments): training examples, the training's CPU seconds and wall seconds (one thread each, so on an
idle machine the two agree; on a shared one the CPU seconds are the cost), their shares of the
full retrain's, and HR@20 / MRR@20 on window w + 1 (with the difference to the full retrain's
HR@20). A last row sums the times over the windows.

    scripts/retraining-table.py [OUT]      (OUT: /tmp/retrain)
"""
import json, os, re, sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/retrain"


def manifest(w, kind):
    with open(os.path.join(out, "data", f"w{w}", kind, "dataset.json")) as f:
        return json.load(f)


def model(name):
    """(wall seconds, CPU seconds, evaluation) of a run, or None while it is missing."""
    seconds, evaluation = os.path.join(out, f"{name}.seconds"), os.path.join(out, f"{name}.eval.json")
    if not (os.path.exists(seconds) and os.path.exists(evaluation)):
        return None
    with open(seconds) as f:
        wall, user, system = (float(x) for x in f.read().split()[-3:])
    with open(evaluation) as f:
        return wall, user + system, json.load(f)


windows = sorted(int(m.group(1)) for d in os.listdir(os.path.join(out, "data")) if (m := re.fullmatch(r"w(\d+)", d)))
# The replay fractions that ran (the data may hold more).
replays = sorted({d for d in os.listdir(os.path.join(out, "data", "w2"))
                  if d.startswith("replay") and os.path.exists(os.path.join(out, f"{d}-w2.seconds"))}, key=lambda d: float(d[6:]))
kinds = [("new", "warm start, window w only")] + [(r, f"warm start + replay {r[6:]}") for r in replays]
if os.path.exists(os.path.join(out, "state-w2.seconds")):  # --optimizer-state
    kinds.append(("state", "warm start, window w only, Adam's moments continued"))
folder = {"state": "new"}  # the state chain trains on the warm start's data


def share(part, whole):
    return f"{part / whole:.2f}" if whole else "–"

header = "| after window w | test examples (window w + 1) | full retrain (windows 1..w): examples · CPU / wall s · HR@20 / MRR@20 |"
rule = "|---|---|---|"
for _, title in kinds:
    header += f" {title}: examples · CPU / wall s (share of full's) · HR@20 / MRR@20 (Δ HR) |"
    rule += "---|"
print(header)
print(rule)
totals = {kind: [0.0, 0.0] for kind in ["full"] + [k for k, _ in kinds]}
first = model("full-w1")
if first:
    m, test = manifest(1, "full"), manifest(1, "next")
    e = first[2]
    row = (f"| 1 (start of both chains) | {test['test_examples']:,} | {m['train_examples']:,} · {first[1]:.0f} / {first[0]:.0f} (2 threads) · "
           f"{e['HR@20']:.2f} / {e['MRR@20']:.2f} |")
    print(row + " = full |" * len(kinds))
for w in windows[1:]:
    full = model(f"full-w{w}")
    warm = [model(f"{kind}-w{w}") for kind, _ in kinds]
    if not full or not all(warm):
        break
    test = manifest(w, "next")
    e = full[2]
    row = (f"| {w} | {test['test_examples']:,} | {manifest(w, 'full')['train_examples']:,} · {full[1]:.0f} / {full[0]:.0f} · "
           f"{e['HR@20']:.2f} / {e['MRR@20']:.2f} |")
    totals["full"][0] += full[0]
    totals["full"][1] += full[1]
    for (kind, _), (wall, cpu, ev) in zip(kinds, warm):
        row += (f" {manifest(w, folder.get(kind, kind))['train_examples']:,} · {cpu:.0f} / {wall:.0f} "
                f"({share(cpu, full[1])} / {share(wall, full[0])}) · "
                f"{ev['HR@20']:.2f} / {ev['MRR@20']:.2f} ({ev['HR@20'] - e['HR@20']:+.2f}) |")
        totals[kind][0] += wall
        totals[kind][1] += cpu
    print(row)
full_wall, full_cpu = totals["full"]
if full_wall:
    row = f"| all windows from 2 | | {full_cpu:.0f} / {full_wall:.0f} s |"
    for kind, _ in kinds:
        wall, cpu = totals[kind]
        row += f" {cpu:.0f} / {wall:.0f} s ({share(cpu, full_cpu)} / {share(wall, full_wall)}) |"
    print(row)
