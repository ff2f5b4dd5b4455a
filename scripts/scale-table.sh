#!/usr/bin/env bash
# The scale table of docs/PERFORMANCE.md: `srgnn bench --items N [--loss sampled] --json` from
# 43,097 to 5,000,000 items, one run each, then one Markdown table. Needs ~12 GB of memory for 5 M.
#   scripts/scale-table.sh                # builds the release binary when missing
#   OUT=folder SRGNN=path/to/srgnn scripts/scale-table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SRGNN=${SRGNN:-.build/release/srgnn}
OUT=${OUT:-$(mktemp -d)}
[[ -x "$SRGNN" ]] || swift build -c release --product srgnn
mkdir -p "$OUT"
run() {  # name, bench arguments...
    local name=$1
    shift
    "$SRGNN" bench --json "$@" > "$OUT/$name.json"
    echo "$name done" >&2
}
run full-43k --items 43097
run sampled-43k --items 43097 --loss sampled
run full-200k --items 200000 --eval-examples 5000 --latency-requests 500
run sampled-200k --items 200000 --loss sampled --eval-examples 5000 --latency-requests 500
run full-1M --items 1000000 --train-batches 20 --eval-examples 2000 --latency-requests 300
run sampled-1M --items 1000000 --loss sampled --eval-examples 2000 --latency-requests 300
run sampled-5M --items 5000000 --loss sampled --train-batches 100 --eval-examples 500 --latency-requests 100
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
print("| items | loss | train ex/s | step ms | eval ex/s | top-20 p50 / p99 ms, exact | `latency_floor_ms` | approximate p50 / p99 ms (recall@20) | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|")
for name in ["full-43k", "sampled-43k", "full-200k", "sampled-200k", "full-1M", "sampled-1M", "sampled-5M"]:
    d = json.load(open(os.path.join(out, name + ".json")))
    print(f"| {d['items']:,} | {d['loss']} | {d['train_examples_per_s']:,.0f} | {d['train_step_ms']:.1f} | "
          f"{d['eval_examples_per_s']:,.0f} | {d['latency_p50_ms']:.2f} / {d['latency_p99_ms']:.2f} | "
          f"{d['latency_floor_ms']:.2f} | {d['approximate_latency_p50_ms']:.2f} / {d['approximate_latency_p99_ms']:.2f} "
          f"({d['approximate_recall_at_20']:.3f}) | {d['peak_rss_bytes'] / 2**20:,.0f} |")
PY
