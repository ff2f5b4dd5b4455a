#!/usr/bin/env python3
"""The retraining simulation's table (docs/RESULTS.md) from the runs of
scripts/retraining-simulation.sh: per window, the cold and the warm run's test HR@20 / MRR@20
after each epoch, the epoch each selected (best validation HR@20), the first warm epoch that
reaches the cold run's selected test HR@20, and the wall times.

    scripts/retraining-table.py [OUT]      (OUT: /tmp/sim)
"""
import json, os, sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sim"


def run(name):
    path = os.path.join(out, f"{name}.safetensors.log.jsonl")
    if not os.path.exists(path):
        return None
    records = [json.loads(line) for line in open(path) if line.strip()]
    seconds_path = os.path.join(out, f"{name}.seconds")
    wall = float(open(seconds_path).read().split()[-1]) if os.path.exists(seconds_path) else None
    selected = max(range(len(records)), key=lambda e: (records[e]["validation"]["HR@20"], e)) if records else None
    return records, selected, wall


def data(w):
    manifest = json.load(open(os.path.join(out, "data", f"w{w}", "dataset.json")))
    return manifest


def curve(records):
    return " → ".join(f"{r['test']['HR@20']:.2f} / {r['test']['MRR@20']:.2f}" for r in records)


print("| window | training sessions / examples | items (new) | test examples | cold: test HR@20 / MRR@20 by epoch | warm: the same | selected epoch cold / warm: test HR@20 / MRR@20 | first warm epoch ≥ cold's selected HR | wall time cold / warm |")
print("|---|---|---|---|---|---|---|---|---|")
w = 1
while os.path.exists(os.path.join(out, "data", f"w{w}")):
    cold, warm = run(f"cold-w{w}"), run(f"warm-w{w}")
    if not cold or not warm or not cold[0] or not warm[0]:
        break
    m, before = data(w), data(w - 1)
    (cr, cs, cwall), (wr, ws, wwall) = cold, warm
    target = cr[cs]["test"]["HR@20"]
    reach = next((e + 1 for e, r in enumerate(wr) if r["test"]["HR@20"] >= target), None)
    wall = f"{cwall:.0f} s / {wwall:.0f} s" if cwall and wwall else "–"
    print(f"| {w} | {m['train_sessions']:,} / {m['train_examples']:,} | {m['item_count']:,} ({m['item_count'] - before['item_count']:,}) "
          f"| {m['test_examples']:,} | {curve(cr)} | {curve(wr)} "
          f"| {cs + 1}: {cr[cs]['test']['HR@20']:.2f} / {cr[cs]['test']['MRR@20']:.2f} · {ws + 1}: {wr[ws]['test']['HR@20']:.2f} / {wr[ws]['test']['MRR@20']:.2f} "
          f"| {reach if reach else 'not within the budget'} | {wall} |")
    w += 1
w0 = run("w0")
if w0 and w0[0]:
    r, s, wall = w0
    print(f"\nInitial model (window 0, {data(0)['train_sessions']:,} sessions, {data(0)['item_count']:,} items): {curve(r)}; "
          f"selected epoch {s + 1}; {wall:.0f} s with 2 threads." if wall else "")
