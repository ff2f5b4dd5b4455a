#!/usr/bin/env bash
# Load test of `srgnn serve`: starts the server on loopback with a Diginetica-size model, replays
# real Diginetica test sessions as POST /v1/recommendations with wrk, and prints throughput,
# latency percentiles, errors and the server's resident memory before and after.
#
#   scripts/load-test.sh [MODEL]
#
# MODEL: a checkpoint for the Diginetica item set (e.g. from `srgnn train --data
# ../shared/data/diginetica`). Without one, a model is trained for one epoch into
# $WORK/dg.safetensors first (about 5 minutes on 2 cores).
# Environment: DURATION (60s), CONNECTIONS (24), THREADS (2, wrk's), PORT (18080), WARMUP (10s),
# SRGNN (.build/release/srgnn), DATA (../shared/data/diginetica), WORK (/tmp/srgnn-load),
# SERVE_ARGS (extra `srgnn serve` options). Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-60s}
CONNECTIONS=${CONNECTIONS:-24}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
WARMUP=${WARMUP:-10s}
SRGNN=${SRGNN:-.build/release/srgnn}
DATA=${DATA:-../shared/data/diginetica}
WORK=${WORK:-/tmp/srgnn-load}
SERVE_ARGS=${SERVE_ARGS:-}

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed to make request bodies: apt-get install python3" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is not installed: apt-get install curl" >&2; exit 1; }
[ -x "$SRGNN" ] || { echo "$SRGNN not found: run swift build -c release first" >&2; exit 1; }
[ -f "$DATA/test.txt" ] || { echo "$DATA/test.txt not found: set DATA to the Diginetica folder" >&2; exit 1; }
mkdir -p "$WORK"

MODEL=${1:-}
if [ -z "$MODEL" ]; then
  MODEL="$WORK/dg.safetensors"
  if [ ! -f "$MODEL" ]; then
    echo "no model given: training one epoch on $DATA into $MODEL"
    "$SRGNN" train --data "$DATA" --out "$MODEL" --epochs 1
  fi
fi

# Request bodies: every example of the test set (its sessions are already all prefixes, as SR-GNN
# evaluates; pickle: (sessions, targets)).
BODIES="$WORK/bodies.jsonl"
python3 - "$DATA/test.txt" "$BODIES" <<'PY'
import json, pickle, sys
sessions, _targets = pickle.load(open(sys.argv[1], "rb"))
with open(sys.argv[2], "w") as out:
    for items in sessions:
        out.write(json.dumps({"items": [int(i) for i in items], "k": 20}, separators=(",", ":")) + "\n")
print(f"{len(sessions)} request bodies from {sys.argv[1]} in {sys.argv[2]}")
PY

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

"$SRGNN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" $SERVE_ARGS >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { echo "the server stopped:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "the server did not become ready" >&2; exit 1; }
cat "$WORK/serve.log"

export BODIES
echo "warm-up: $WARMUP"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s scripts/load-test.lua "http://127.0.0.1:$PORT" >/dev/null
RSS_BEFORE=$(rss_kib $SERVER)
( while kill -0 $SERVER 2>/dev/null; do echo "$(date +%s) $(rss_kib $SERVER)"; sleep 5; done ) >"$WORK/rss.log" 2>/dev/null &
SAMPLER=$!
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s scripts/load-test.lua http://127.0.0.1:$PORT"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/load-test.lua "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt"
RSS_AFTER=$(rss_kib $SERVER)
kill $SAMPLER 2>/dev/null || true
echo "RSS before ${RSS_BEFORE} KiB, after ${RSS_AFTER} KiB; samples every 5 s (KiB): $(awk '{printf "%s ", $2}' "$WORK/rss.log")"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^inference_batch_sessions_(sum|count)|^http_requests_total' || true

kill -TERM $SERVER
wait $SERVER && echo "server stopped cleanly on SIGTERM" || echo "server exited with status $?"
trap - EXIT
