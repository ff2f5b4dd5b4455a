#!/usr/bin/env bash
# The batch acceptance: `srgnn recommend --input` on every Diginetica test prefix against
# `srgnn evaluate` on the same prefixes, interleaved (evaluate, batch, evaluate, batch, …) because
# the machine's speed drifts, each under /usr/bin/time -v for its peak memory; then
# scripts/check-batch.sh on 100 random sessions of the last output.
# Usage: scripts/measure-batch.sh MODEL [rounds=2]   (after swift build -c release; DATA and WORK
# override the dataset folder and the scratch folder, which is never inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 rounds=${2:-2}
data=${DATA:-../shared/data/diginetica}
work=${WORK:-/tmp/batch}
srgnn=.build/release/srgnn
mkdir -p "$work"
input=$work/diginetica-test.jsonl
# test.txt is the pickle (prefixes, labels); a line per prefix, its index as the session id.
[[ -s $input ]] || python3 - "$data/test.txt" "$input" <<'PY'
import json, pickle, sys
prefixes, _ = pickle.load(open(sys.argv[1], "rb"))
with open(sys.argv[2], "w") as out:
    for index, prefix in enumerate(prefixes):
        out.write(json.dumps({"session_id": index, "items": prefix}) + "\n")
PY
max_rss() { awk '/Maximum resident set size/ {print int($NF / 1024) " MiB"}' "$1"; }
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; model $model"
for round in $(seq 1 "$rounds"); do
    /usr/bin/time -v "$srgnn" evaluate --model "$model" --data "$data" > "$work/evaluate.out" 2> "$work/evaluate.time"
    echo "round $round evaluate: $(head -1 "$work/evaluate.out"); max RSS $(max_rss "$work/evaluate.time")"
    /usr/bin/time -v "$srgnn" recommend --model "$model" --input "$input" --output "$work/recs.jsonl" --k 20 2> "$work/batch.time"
    echo "round $round batch:    $(grep 'no known item' "$work/batch.time"); max RSS $(max_rss "$work/batch.time")"
done
scripts/check-batch.sh "$model" "$input" "$work/recs.jsonl" 100 --k 20
