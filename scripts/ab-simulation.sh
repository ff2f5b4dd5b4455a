#!/usr/bin/env bash
# A served A/B test with simulated users, read back by `srgnn ab-report` (issue 32's acceptance).
#
# Two small models (`srgnn demo`'s, and a warm start from it) are served as variants a and b on a
# 50/50 split with an events log. A seeded population of users sends sessions with session ids
# (single and batch requests), gets recommendations, and clicks one of the recommended items with
# probability 5 % on a's answers and 8 % on b's (then buys with probability 20 %), plus a 1 % chance
# on either of clicking an item that was not recommended. After the server stops (its batched
# impression lines are flushed on shutdown), `srgnn ab-report` must find b better with p < 0.05,
# count as many impressions as sessions were answered, see no sample-ratio mismatch, and flag a
# hand-made log whose split is skewed. About 6,000 impressions: the power to see 5 % against 8 % is
# over 0.99 (1,059 per arm give 0.8), and the draws are seeded, so the run passes every time.
#
#   scripts/ab-simulation.sh            # SRGNN=.build/debug/srgnn (swift build --product srgnn)
#   OUT=/tmp/ab scripts/ab-simulation.sh   # also keeps the events log and the reports in /tmp/ab
set -euo pipefail
cd "$(dirname "$0")/.."
SRGNN=${SRGNN:-.build/debug/srgnn}
PORT=${PORT:-18941}
USERS=${USERS:-3000}
WORK=$(mktemp -d /tmp/srgnn-ab-simulation.XXXXXX)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "ab-simulation: FAILED: $*" >&2; exit 1; }
[[ -x $SRGNN ]] || fail "$SRGNN is missing; build first (swift build --product srgnn)"

# Two small models: a cold one (a) and a warm start from it (b).
"$SRGNN" demo --out "$WORK/demo" --sessions 600 --items 80 --epochs 1 --threads 2 >/dev/null
"$SRGNN" train --data "$WORK/demo/data" --init-from "$WORK/demo/model.safetensors" --epochs 1 \
    --out "$WORK/b.safetensors" >/dev/null 2>&1

"$SRGNN" serve --port "$PORT" --model a="$WORK/demo/model.safetensors" --model b="$WORK/b.safetensors" \
    --split a=50,b=50 --events-log "$WORK/events.jsonl" >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { cat "$WORK/server.log" >&2; fail "the server did not start"; }

# The simulated users. Each makes two requests (the second with one more click), in chunks of 20
# sessions sent as single requests or as one batch; prints the number of sessions answered.
ANSWERED=$(python3 - "$PORT" "$WORK/demo/clicks.csv" "$USERS" <<'PY'
import csv, json, random, sys, urllib.request
port, clicks, users = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
items = sorted({row["item_id"] for row in csv.DictReader(open(clicks))})
click_probability = {"a": 0.05, "b": 0.08}
rng = random.Random(20261207)

def post(path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())

def react(answer):
    """A user's reaction to one answer: maybe a click on a recommended item (earlier positions more
    likely), maybe a purchase after it, maybe a click on an item it did not recommend."""
    listed = [entry["id"] for entry in answer["items"]]
    # Ids come back as JSON numbers or strings; the click log has them as text.
    listed_text = {str(item) for item in listed}
    if listed and rng.random() < click_probability[answer["model"]]:
        position = min(int(rng.expovariate(0.4)), len(listed) - 1)
        post("/v1/events", {"recommendation_id": answer["recommendation_id"], "item": listed[position], "type": "click"})
        if rng.random() < 0.2:
            post("/v1/events", {"recommendation_id": answer["recommendation_id"], "item": listed[position], "type": "purchase"})
    if rng.random() < 0.01:
        other = next(item for item in rng.sample(items, 5) + [None] if item not in listed_text)
        if other is not None:
            post("/v1/events", {"recommendation_id": answer["recommendation_id"], "item": other, "type": "click"})

sessions = {f"user-{n}": [rng.choice(items)] for n in range(users)}
answered = 0
for round in range(2):
    ids = list(sessions)
    batch_size = 20
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        # One chunk in five as single requests, the rest as batches: both routes log impressions.
        if (start // batch_size) % 5 == 0:
            answers = [post("/v1/recommendations", {"items": sessions[sid], "session_id": sid, "k": 10}) for sid in chunk]
        else:
            body = {"sessions": [{"items": sessions[sid], "session_id": sid} for sid in chunk], "k": 10}
            answers = post("/v1/recommendations/batch", body)["results"]
        answered += len(answers)
        for sid, answer in zip(chunk, answers):
            react(answer)
            sessions[sid].append(rng.choice(items))
print(answered)
PY
)
# Graceful stop: the impressions still queued are written before the process ends.
kill -TERM "$server"
wait "$server" || true
server=
grep -q "stopped" "$WORK/server.log" || { tail -20 "$WORK/server.log" >&2; fail "the server did not stop gracefully"; }

"$SRGNN" ab-report --events "$WORK/events.jsonl" --html "$WORK/report.html" >"$WORK/report.md"
"$SRGNN" ab-report --events "$WORK/events.jsonl" --json >"$WORK/report.json"
cat "$WORK/report.md"
[[ -s $WORK/report.html ]] || fail "no HTML report"
if [[ -n ${OUT:-} ]]; then mkdir -p "$OUT" && cp "$WORK"/{events.jsonl,report.md,report.html,report.json} "$OUT"/; fi

python3 - "$WORK/report.json" "$ANSWERED" <<'PY' || fail "the report does not show what the simulation did"
import json, sys
report, answered = json.load(open(sys.argv[1])), int(sys.argv[2])
variants = {v["name"]: v for v in report["variants"]}
problems = []
if list(variants) != ["a", "b"]:
    problems.append(f"variants {list(variants)}, expected a, b")
impressions = sum(v["impressions"] for v in variants.values())
if impressions != answered:
    problems.append(f"{impressions} impressions logged for {answered} sessions answered")
versus = variants["b"]["versus_baseline"]
if not (versus["lift"] > 0 and versus["p_value"] < 0.05):
    problems.append(f"b not found better: lift {versus['lift']}, p {versus['p_value']}")
if report["sample_ratio"] is None or report["sample_ratio"]["p_value"] < 0.001:
    problems.append(f"sample-ratio test missing or flagged on a fair split: {report['sample_ratio']}")
print(f"ab-simulation: answered={answered} impressions={impressions} lift={versus['lift']:.3f} "
      f"[{versus['lift_lower']:.3f}, {versus['lift_upper']:.3f}] p={versus['p_value']:.2e} srm_p={report['sample_ratio']['p_value']:.3f}")
for problem in problems: print("PROBLEM", problem)
sys.exit(1 if problems else 0)
PY

# A hand-made log on a 50/50 split with 700 sessions on a and 300 on b must be flagged.
python3 - "$WORK/skewed.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    out.write(json.dumps({"time": "2026-12-01T00:00:00.000Z", "type": "start", "trigger": "start",
                          "variants": [{"name": "a", "weight": 50, "sha256": "0"}, {"name": "b", "weight": 50, "sha256": "0"}]}) + "\n")
    for n in range(1000):
        out.write(json.dumps({"time": "2026-12-01T00:00:01.000Z", "type": "impression", "recommendation_id": f"r{n}",
                              "model": "a" if n < 700 else "b", "session_id": f"s{n}", "items": [1, 2, 3]}) + "\n")
PY
"$SRGNN" ab-report --events "$WORK/skewed.jsonl" --json >"$WORK/skewed.json" 2>"$WORK/skewed.err"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if r["sample_ratio"]["p_value"] < 0.001 and r["warnings"][0].startswith("sample-ratio mismatch") else 1)' \
    "$WORK/skewed.json" || fail "the skewed split was not flagged"
grep -q "warning: sample-ratio mismatch" "$WORK/skewed.err" || fail "no sample-ratio warning on stderr for the skewed split"
echo "ab-simulation: passed in ${SECONDS} s (b better, impressions = answered sessions, skewed split flagged)"
