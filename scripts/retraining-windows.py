#!/usr/bin/env python3
"""Cut a log's training sessions (in date order) into consecutive windows for the incremental-
retraining simulation of docs/RESULTS.md, and write, for each window w < K, the dataset folders
(docs/DATASET.md) of the models trained after it and of their evaluation on window w + 1:

    OUT/wW/full          windows 1..w (the full retrain)
    OUT/wW/new           window w only (the warm start's data; w >= 2)
    OUT/wW/replayF       window w plus a random F x (sessions of windows 1..w-1) (w >= 2, F > 0)
    OUT/wW/next          no training sessions; test examples = window w + 1's sessions' prefixes

The folders of one w share one items.txt: the raw ids of windows 1..w, numbered in order of first
occurrence (as `srgnn preprocess` numbers them), so the full retrain and the warm starts know the
same items (a warm start adds the new items of its window to its parent's) and `next` is the same
test set for all of them. The training folders hold no test examples (training time is training
only). Window w + 1's examples are the prefix augmentation of its sessions (every prefix of a
session, labelled with the click after it) with the items the models do not know (first seen in
window w + 1) dropped from each prefix; an example whose label is unknown or whose prefix becomes
empty is left out, as SR-GNN's preprocessing filters its test set. Both counts are printed.

    scripts/retraining-windows.py DATA OUT [--windows K] [--replay-fraction F]... [--seed S]
                                           [--test-sessions M]

DATA: an SR-GNN pickle folder (all_train_seq.txt) or a dataset folder of this tool
(items.txt, train_sessions.txt; e.g. from `srgnn preprocess` of a `srgnn synth` log).
--windows: K equal windows (by sessions; default 6). --replay-fraction: repeatable. --seed: of
the replay samples and the test-session sample (default 1). --test-sessions: evaluate on a
random M of window w + 1's sessions (default: all), for catalogues where exact ranking is slow.
"""
import argparse, json, os, pickle, random


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def read_sessions(data):
    """The training sessions of DATA in date order, as lists of raw item ids (strings)."""
    pickled = os.path.join(data, "all_train_seq.txt")
    if os.path.exists(pickled):
        with open(pickled, "rb") as f:
            return [[str(i) for i in s] for s in pickle.load(f)]
    with open(os.path.join(data, "items.txt")) as f:
        raw = [""] + [line.rstrip("\n") for line in f]
    with open(os.path.join(data, "train_sessions.txt")) as f:
        return [[raw[int(i)] for i in line.split()] for line in f if line.strip()]


def write_folder(folder, ids, sessions, test, description):
    os.makedirs(folder, exist_ok=True)
    write_atomically(os.path.join(folder, "items.txt"), "".join(f"{raw}\n" for raw in ids))
    write_atomically(os.path.join(folder, "train_sessions.txt"),
                     "".join(" ".join(str(ids[i]) for i in s) + "\n" for s in sessions))
    write_atomically(os.path.join(folder, "test_examples.txt"),
                     "".join(" ".join(map(str, p)) + f"\t{label}\n" for p, label in test))
    clicks = sum(len(s) for s in sessions)
    manifest = {"format": "srgnn-session-dataset", "version": 1, "item_count": len(ids),
                "train_sessions": len(sessions), "train_examples": clicks - len(sessions),
                "train_example_skip": 0, "test_examples": len(test),
                "source": {"input": "retraining-windows.py", "format": description}}
    write_atomically(os.path.join(folder, "dataset.json"), json.dumps(manifest, indent=2) + "\n")
    return manifest


def test_examples(sessions, ids):
    """Window w + 1's prefixes in the ids of windows 1..w, and how many were left out."""
    kept, dropped = [], 0
    for s in sessions:
        for end in range(len(s) - 1, 0, -1):  # longest prefix first, as the augmentation
            prefix = [ids[i] for i in s[:end] if i in ids]
            if prefix and s[end] in ids:
                kept.append((prefix, ids[s[end]]))
            else:
                dropped += 1
    return kept, dropped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--replay-fraction", type=float, action="append", default=[])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--test-sessions", type=int, default=0)
    args = parser.parse_args()
    sessions = read_sessions(args.data)
    k = args.windows
    bounds = [round(len(sessions) * w / k) for w in range(k + 1)]
    windows = [sessions[bounds[w]:bounds[w + 1]] for w in range(k)]  # windows[0] is window 1
    ids = {}
    for w in range(1, k):
        for s in windows[w - 1]:
            for item in s:
                ids.setdefault(item, len(ids) + 1)
        step = os.path.join(args.out, f"w{w}")
        full = write_folder(os.path.join(step, "full"), ids, sessions[:bounds[w]], [], f"windows 1-{w} of {k}")
        line = (f"w{w}: {len(ids):,} items; full {full['train_sessions']:,} sessions / "
                f"{full['train_examples']:,} examples")
        if w >= 2:
            new = write_folder(os.path.join(step, "new"), ids, windows[w - 1], [], f"window {w} of {k}")
            line += f"; new {new['train_examples']:,}"
            for fraction in args.replay_fraction:
                older = bounds[w - 1]
                sample = random.Random(args.seed * 1000 + w).sample(range(older), round(fraction * older))
                replayed = [sessions[i] for i in sorted(sample)] + windows[w - 1]
                replay = write_folder(os.path.join(step, f"replay{fraction:g}"), ids, replayed, [],
                                      f"window {w} of {k} + {fraction:g} of the older sessions")
                line += f"; replay {fraction:g} {replay['train_examples']:,}"
        following = windows[w]
        if args.test_sessions and len(following) > args.test_sessions:
            chosen = random.Random(args.seed).sample(range(len(following)), args.test_sessions)
            following = [following[i] for i in sorted(chosen)]
        test, dropped = test_examples(following, ids)
        write_folder(os.path.join(step, "next"), ids, [], test, f"window {w + 1} of {k}: test")
        with open(os.path.join(step, "next", "left-out.json"), "w") as f:
            json.dump({"sessions": len(following), "kept": len(test), "left_out": dropped}, f)
        print(f"{line}; next {len(following):,} sessions, {len(test):,} test examples "
              f"({dropped:,} left out: unknown label or no known item)", flush=True)


if __name__ == "__main__":
    main()
