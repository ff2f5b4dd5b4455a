#!/usr/bin/env python3
"""Cut SR-GNN training sessions (in date order) into growing windows for the retraining
simulation in docs/RESULTS.md: window w holds the first FRACTIONS[w] of the sessions, written as
a dataset folder of this tool (docs/DATASET.md) whose items are the raw ids that occur in its
training sessions, numbered in order of first occurrence (as `srgnn preprocess` numbers them).
Its test examples are the official test set with the items the window does not know dropped
from each prefix, and examples with an unknown label or an empty prefix left out, as SR-GNN's
preprocessing filters its test set.

    scripts/retraining-windows.py DATA OUT [FRACTIONS]

DATA: an SR-GNN folder (all_train_seq.txt, test.txt); OUT: where the folders w0, w1, ... go;
FRACTIONS: comma-separated cumulative shares (default 0.6,0.7,0.8,0.9,1.0).
"""
import json, os, pickle, sys


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    data, out = sys.argv[1], sys.argv[2]
    fractions = [float(f) for f in (sys.argv[3] if len(sys.argv) > 3 else "0.6,0.7,0.8,0.9,1.0").split(",")]
    sessions = pickle.load(open(os.path.join(data, "all_train_seq.txt"), "rb"))
    prefixes, labels = pickle.load(open(os.path.join(data, "test.txt"), "rb"))
    for w, fraction in enumerate(fractions):
        window = sessions[: round(len(sessions) * fraction)]
        ids = {}
        for session in window:
            for item in session:
                ids.setdefault(item, len(ids) + 1)
        folder = os.path.join(out, f"w{w}")
        os.makedirs(folder, exist_ok=True)
        write_atomically(os.path.join(folder, "items.txt"), "".join(f"{raw}\n" for raw in ids))
        write_atomically(os.path.join(folder, "train_sessions.txt"),
                         "".join(" ".join(str(ids[i]) for i in s) + "\n" for s in window))
        test = []
        for prefix, label in zip(prefixes, labels):
            known = [ids[i] for i in prefix if i in ids]
            if known and label in ids:
                test.append(" ".join(map(str, known)) + f"\t{ids[label]}\n")
        write_atomically(os.path.join(folder, "test_examples.txt"), "".join(test))
        clicks = sum(len(s) for s in window)
        manifest = {"format": "srgnn-session-dataset", "version": 1, "item_count": len(ids),
                    "train_sessions": len(window), "train_examples": clicks - len(window),
                    "train_example_skip": 0, "test_examples": len(test),
                    "source": {"input": os.path.abspath(data), "format": f"first {fraction:.0%} of the training sessions"}}
        write_atomically(os.path.join(folder, "dataset.json"), json.dumps(manifest, indent=2) + "\n")
        print(f"{folder}: {len(window)} sessions, {clicks - len(window)} training examples, "
              f"{len(ids)} items, {len(test)} of {len(labels)} test examples")


if __name__ == "__main__":
    main()
