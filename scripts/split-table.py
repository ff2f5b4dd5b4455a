#!/usr/bin/env python3
"""Markdown tables for the validation-split comparison (docs/RESULTS.md, issue 15).

Usage: scripts/split-table.py [--epochs N] DATASET/SPLIT/SEED=RUN.log.jsonl ...

Each argument is one `srgnn train` log (one JSON line per epoch). For every run the epoch
picked by validation HR@20 (and, separately, by validation MRR@20) is set against the epoch
that is best on the test set: how many epochs apart they are and what the test metric loses
by the choice. --epochs N reads only the first N epochs, so runs carried to different caps
compare as if they had all stopped at N (the learning-rate schedule depends only on the
epoch index, so the first N epochs of a longer run are those of a run capped at N).
Ties go to the earliest epoch, as the trainer keeps the first best.
"""
import json
import statistics
import sys


def first_argmax(values):
    best = max(values)
    return values.index(best)


def read(path, cap):
    epochs = [json.loads(line) for line in open(path) if line.strip()]
    return epochs[:cap] if cap else epochs


def main(argv):
    cap = 0
    if argv[:1] == ["--epochs"]:
        cap, argv = int(argv[1]), argv[2:]
    if not argv:
        sys.exit(__doc__)
    rows, groups = [], {}
    for argument in argv:
        label, path = argument.split("=", 1)
        dataset, split, seed = label.split("/")
        epochs = read(path, cap)
        row = {"dataset": dataset, "split": split, "seed": seed, "epochs": len(epochs)}
        for metric in ("HR@20", "MRR@20"):
            validation = [e["validation"][metric] for e in epochs]
            test = [e["test"][metric] for e in epochs]
            picked, best = first_argmax(validation), first_argmax(test)
            row[metric] = (picked + 1, test[picked], best + 1, test[best])
        rows.append(row)
        groups.setdefault((dataset, split), []).append(row)

    print("| data | split | seed | epochs | HR@20: picked epoch → test | test-best epoch → test | cost | "
          "MRR@20: picked epoch → test | test-best epoch → test | cost |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = []
        for metric in ("HR@20", "MRR@20"):
            picked, at_picked, best, at_best = r[metric]
            cells += [f"{picked} → {at_picked:.2f}", f"{best} → {at_best:.2f}", f"{at_best - at_picked:.2f}"]
        print(f"| {r['dataset']} | {r['split']} | {r['seed']} | {r['epochs']} | " + " | ".join(cells) + " |")

    print()
    print("| data | split | runs | HR@20: mean epochs from test-best | mean test at picked | mean cost | "
          "MRR@20: mean epochs from test-best | mean test at picked | mean cost |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (dataset, split), members in groups.items():
        cells = []
        for metric in ("HR@20", "MRR@20"):
            distance = statistics.mean(abs(m[metric][0] - m[metric][2]) for m in members)
            at_picked = statistics.mean(m[metric][1] for m in members)
            cost = statistics.mean(m[metric][3] - m[metric][1] for m in members)
            cells += [f"{distance:.1f}", f"{at_picked:.2f}", f"{cost:.2f}"]
        print(f"| {dataset} | {split} | {len(members)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
