#!/usr/bin/env bash
# What item rules cost in `srgnn serve`: the same real Diginetica test sessions sent with no rule,
# with a filter that keeps 1 % of the items, and with 100 candidates to rank, in interleaved wrk
# phases (none, filter, candidates, twice), at one connection (latency) and at full load.
#
#   scripts/rules-load-test.sh MODEL        # a Diginetica checkpoint (all 43,097 items)
#
# The catalog gives every item a `bucket` attribute (its id mod 100), so `{"bucket": ["7"]}` keeps
# 1 % of the items; the candidates are 100 items drawn per request body (seeded).
# Environment: DURATION (20s), CONNECTIONS (24), PORT (18082), SRGNN (.build/release/srgnn),
# DATA (../shared/data/diginetica), WORK (/tmp/srgnn-rules).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: scripts/rules-load-test.sh MODEL}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-24}
PORT=${PORT:-18082}
SRGNN=${SRGNN:-.build/release/srgnn}
DATA=${DATA:-../shared/data/diginetica}
WORK=${WORK:-/tmp/srgnn-rules}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
[ -x "$SRGNN" ] || { echo "$SRGNN not found: run swift build -c release first" >&2; exit 1; }
mkdir -p "$WORK"

python3 - "$DATA/test.txt" "$WORK" <<'PY'
import json, pickle, random, sys
sessions, _ = pickle.load(open(sys.argv[1], "rb"))
work = sys.argv[2]
items = sorted({i for s in sessions for i in s} | set(range(1, 43098)))
with open(f"{work}/catalog.csv", "w") as out:
    out.write("item_id,bucket\n")
    for i in items: out.write(f"{i},{i % 100}\n")
rng = random.Random(1)
def write(name, extra):
    with open(f"{work}/{name}.jsonl", "w") as out:
        for s in sessions:
            body = {"items": [int(i) for i in s], "k": 20}
            body.update(extra())
            out.write(json.dumps(body, separators=(",", ":")) + "\n")
write("none", dict)
write("filter", lambda: {"filter": {"bucket": ["7"]}})
write("candidates", lambda: {"candidates": rng.sample(range(1, 43098), 100)})
print(f"{len(sessions)} bodies each, catalog of {len(items)} items in {work}")
PY

"$SRGNN" serve --model "$MODEL" --catalog "$WORK/catalog.csv" --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
# Each kind answers 200 with what it promises before it is timed.
for kind in none filter candidates; do
  head -1 "$WORK/$kind.jsonl" | curl -sf -H 'Content-Type: application/json' -d @- "http://127.0.0.1:$PORT/v1/recommendations" \
    | python3 -c "import json,sys; a=json.load(sys.stdin); ids=[i['id'] for i in a['items']]; print('$kind:', len(ids), 'items', ids[:5])"
done
echo "wrk -t2 -d$DURATION --latency -s scripts/load-test.lua; connections 1 and $CONNECTIONS; BODIES=$WORK/<kind>.jsonl"
for round in 1 2; do
  for connections in 1 "$CONNECTIONS"; do
    for kind in none filter candidates; do
      printf 'round %s  c=%-3s %-10s ' "$round" "$connections" "$kind"
      BODIES="$WORK/$kind.jsonl" wrk -t"$([ "$connections" = 1 ] && echo 1 || echo 2)" -c"$connections" -d"$DURATION" \
        -s scripts/load-test.lua "http://127.0.0.1:$PORT" | grep RESULT
    done
  done
done
