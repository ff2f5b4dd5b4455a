#!/usr/bin/env bash
# Hot reload under load: starts `srgnn serve` with an admin token on a Diginetica model, and runs
# wrk at full load (POST /v1/recommendations with real Diginetica test sessions, as
# scripts/load-test.sh) in interleaved phases: without reloads, with reloads, without, with, ...
# During each "with" phase, five reloads go through POST /v1/admin/reload, evenly spaced: MODEL_B,
# a corrupt file (a truncated copy of MODEL_A), MODEL_A, MODEL_B, MODEL_A.
#
#   scripts/reload-load-test.sh MODEL_A MODEL_B
#
# MODEL_A, MODEL_B: two checkpoints for the Diginetica items (different files; their item counts
# may differ). Checks, and exits 1 when one fails:
#   - no recommendation request got a non-2xx answer, and wrk saw no socket error or timeout;
#   - every good reload answered 200, and GET /v1/model then showed the file's `sha256sum`;
#   - the corrupt file was refused with a 4xx and counted in srgnn_model_reload_failures_total;
#   - srgnn_model_reloads_total grew by the number of good reloads.
# Environment: DATA (../shared/data/diginetica; see the request bodies below), DURATION (30s per
# phase), ROUNDS (2 pairs of phases), CONNECTIONS (24), THREADS (2, wrk's), PORT (18081), WARMUP
# (10s), SRGNN (.build/release/srgnn), WORK (/tmp/srgnn-reload-load), SERVE_ARGS (extra `srgnn
# serve` options). Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-24}
THREADS=${THREADS:-2}
PORT=${PORT:-18081}
WARMUP=${WARMUP:-10s}
SRGNN=${SRGNN:-.build/release/srgnn}
DATA=${DATA:-../shared/data/diginetica}
WORK=${WORK:-/tmp/srgnn-reload-load}
SERVE_ARGS=${SERVE_ARGS:-}

[ $# -eq 2 ] || { echo "usage: $0 MODEL_A MODEL_B" >&2; exit 2; }
MODEL_A=$(realpath "$1")
MODEL_B=$(realpath "$2")
for tool in wrk curl python3 sha256sum; do
  command -v $tool >/dev/null || { echo "$tool is not installed: apt-get install $tool" >&2; exit 1; }
done
[ -x "$SRGNN" ] || { echo "$SRGNN not found: run swift build -c release first" >&2; exit 1; }
[ -f "$DATA/test.txt" ] || [ -f "$DATA/test_examples.txt" ] || { echo "$DATA has no test.txt or test_examples.txt: set DATA to a Diginetica folder" >&2; exit 1; }
[ -f "$MODEL_A" ] && [ -f "$MODEL_B" ] || { echo "MODEL_A and MODEL_B must be files" >&2; exit 1; }
SHA_A=$(sha256sum "$MODEL_A" | cut -d' ' -f1)
SHA_B=$(sha256sum "$MODEL_B" | cut -d' ' -f1)
[ "$SHA_A" != "$SHA_B" ] || { echo "MODEL_A and MODEL_B are the same file: a reload would not show" >&2; exit 1; }
mkdir -p "$WORK"
URL="http://127.0.0.1:$PORT"

CORRUPT="$WORK/corrupt.safetensors"
head -c $(( $(stat -c %s "$MODEL_A") / 2 )) "$MODEL_A" >"$CORRUPT"
# The token stays in files: never on a command line, where ps would show it.
TOKEN_FILE="$WORK/admin-token"
( umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' >"$TOKEN_FILE" )
AUTH_HEADER="$WORK/admin-header"
( umask 077; echo "Authorization: Bearer $(cat "$TOKEN_FILE")" >"$AUTH_HEADER" )

# Request bodies: every test example of DATA, in raw ids. DATA is an SR-GNN folder (test.txt, a
# pickle of (sessions, targets)) or an `srgnn preprocess` folder (test_examples.txt in internal ids,
# items.txt their raw ids): use the data of the model with fewer items, so that every session has
# items both models know (a session of unknown items only would be a 422).
BODIES="$WORK/bodies.jsonl"
python3 - "$DATA" "$BODIES" <<'PY'
import json, os, pickle, sys
data, out_path = sys.argv[1], sys.argv[2]
if os.path.exists(os.path.join(data, "test.txt")):
    sessions, _targets = pickle.load(open(os.path.join(data, "test.txt"), "rb"))
    sessions = [[int(i) for i in items] for items in sessions]
else:
    raw = [line.rstrip("\n") for line in open(os.path.join(data, "items.txt"))]
    sessions = [[raw[int(i) - 1] for i in line.split("\t")[0].split()] for line in open(os.path.join(data, "test_examples.txt"))]
with open(out_path, "w") as out:
    for items in sessions:
        out.write(json.dumps({"items": items, "k": 20}, separators=(",", ":")) + "\n")
print(f"{len(sessions)} request bodies from {data} in {out_path}")
PY
export BODIES

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "$URL/metrics" | awk -v name="$1" '$1 == name {print $2}'; }

"$SRGNN" serve --model "$MODEL_A" --host 127.0.0.1 --port "$PORT" --admin-token-file "$TOKEN_FILE" $SERVE_ARGS \
  >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "$URL/ready" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { echo "the server stopped:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$URL/ready" >/dev/null || { echo "the server did not become ready" >&2; exit 1; }
cat "$WORK/serve.log"

FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

# One reload of $1 through the admin route; checks the answer and, for a good file, /v1/model.
reload() {
  local path=$1 expect=$2 code served want
  code=$(curl -s -o "$WORK/reload-answer.json" -w '%{http_code}' -X POST -H @"$AUTH_HEADER" \
    -H 'Content-Type: application/json' -d "{\"model\": \"$path\"}" "$URL/v1/admin/reload")
  if [ "$expect" = good ]; then
    served=$(curl -s "$URL/v1/model" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sha256"])')
    want=$(sha256sum "$path" | cut -d' ' -f1)
    echo "$(date +%T) reload $path: $code, /v1/model sha256 $served (sha256sum $want)"
    [ "$code" = 200 ] || fail "reload of $path answered $code: $(cat "$WORK/reload-answer.json")"
    [ "$served" = "$want" ] || fail "after reloading $path, /v1/model shows sha256 $served, not $want"
  else
    echo "$(date +%T) reload $path: $code $(cat "$WORK/reload-answer.json")"
    [[ "$code" = 4?? ]] || fail "the corrupt file $path was answered $code, not 4xx"
  fi
}

# wrk for DURATION; with $1 = reloads, five reloads spread over the run. Prints wrk's RESULT line.
phase() {
  local name=$1 reloader=""
  if [ "$name" = reloads ]; then
    local seconds=${DURATION%s}
    local gap=$(( seconds / 6 ))
    ( for step in "$MODEL_B good" "$CORRUPT bad" "$MODEL_A good" "$MODEL_B good" "$MODEL_A good"; do
        sleep "$gap"; reload $step
      done; [ $FAILED = 0 ] ) >"$WORK/reloads-$PHASE.log" 2>&1 &
    reloader=$!
  fi
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/load-test.lua "$URL" >"$WORK/wrk-$PHASE.txt"
  if [ -n "$reloader" ]; then
    wait $reloader || fail "a reload check failed in phase $PHASE (see below)"
    cat "$WORK/reloads-$PHASE.log"
  fi
  local result
  result=$(grep '^RESULT' "$WORK/wrk-$PHASE.txt")
  echo "phase $PHASE ($name): $result" | tee -a "$WORK/summary.txt"
  local non2xx socket
  non2xx=$(sed -E 's/.*non-2xx ([0-9]+).*/\1/' <<<"$result")
  socket=$(sed -E 's/.*errors=([0-9]+) .*/\1/' <<<"$result")
  [ "$non2xx" = 0 ] || fail "phase $PHASE: $non2xx non-2xx answers to recommendation requests"
  [ "$socket" = "$non2xx" ] || fail "phase $PHASE: $((socket - non2xx)) socket errors or timeouts"
}

echo "warm-up: $WARMUP"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s scripts/load-test.lua "$URL" >/dev/null
RELOADS_BEFORE=$(metric 'srgnn_model_reloads_total{model="default"}')
FAILURES_BEFORE=$(metric 'srgnn_model_reload_failures_total{model="default"}')
RSS_BEFORE=$(rss_kib $SERVER)
: >"$WORK/summary.txt"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s scripts/load-test.lua $URL, $ROUNDS rounds of: without reloads, with 5 reloads"
PHASE=0
for _ in $(seq 1 "$ROUNDS"); do
  PHASE=$((PHASE + 1)); phase none
  PHASE=$((PHASE + 1)); phase reloads
done
RSS_AFTER=$(rss_kib $SERVER)

RELOADS=$(( $(metric 'srgnn_model_reloads_total{model="default"}') - RELOADS_BEFORE ))
FAILURES=$(( $(metric 'srgnn_model_reload_failures_total{model="default"}') - FAILURES_BEFORE ))
echo "metrics: srgnn_model_reloads_total +$RELOADS, srgnn_model_reload_failures_total +$FAILURES," \
  "srgnn_model_load_seconds $(metric 'srgnn_model_load_seconds{model="default"}')"
[ "$RELOADS" = $((4 * ROUNDS)) ] || fail "srgnn_model_reloads_total grew by $RELOADS, expected $((4 * ROUNDS))"
[ "$FAILURES" = "$ROUNDS" ] || fail "srgnn_model_reload_failures_total grew by $FAILURES, expected $ROUNDS"
echo "RSS before ${RSS_BEFORE} KiB, after ${RSS_AFTER} KiB"
grep -E 'reload|refused' "$WORK/serve.log" | tail -n $((5 * ROUNDS)) || true
grep -q -F "$(cat "$TOKEN_FILE")" "$WORK/serve.log" && fail "the admin token appears in the server's log"

kill -TERM $SERVER
wait $SERVER && echo "server stopped cleanly on SIGTERM" || echo "server exited with status $?"
trap - EXIT
echo "summary:"; cat "$WORK/summary.txt"
[ $FAILED = 0 ] && echo "PASS" || { echo "FAILED"; exit 1; }
