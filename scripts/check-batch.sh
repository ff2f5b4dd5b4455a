#!/usr/bin/env bash
# Checks `srgnn recommend --input` against `srgnn recommend --items … --json`: for N random lines
# of INPUT (JSON lines {"session_id", "items"}) and their answers in OUTPUT (what --input wrote),
# the "items" part of each answer must be byte for byte what --items --json prints. Pass the same
# options that made OUTPUT (e.g. --k 20 --exclude-seen) after the four arguments. With SERVE_URL
# (e.g. http://127.0.0.1:8080, `srgnn serve` on the same model) each sampled session is also posted
# to the service, alone and as one concurrent batch request, and its "items" must be the same bytes.
# Usage: scripts/check-batch.sh MODEL INPUT OUTPUT [N=100] [options...]   (SRGNN=path to the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 input=$2 output=$3 count=${4:-100}
shift 3; [[ $# -gt 0 ]] && shift
srgnn=${SRGNN:-.build/release/srgnn}
python3 - "$srgnn" "$model" "$input" "$output" "$count" "${SEED:-1}" "${SERVE_URL:-}" "$@" <<'PY'
import json, random, subprocess, sys, urllib.request
srgnn, model, input_path, output_path, count, seed, serve_url, *options = sys.argv[1:]
k = int(options[options.index("--k") + 1]) if "--k" in options else 20
exclude_seen = "--exclude-seen" in options

def post(path, body):
    request = urllib.request.Request(serve_url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:
        return None  # 422: no known item

def items_part(answer):
    # {"items":[…],"unknown_items":[…]} or {"items":[…],"session_id":…}: the bytes before the second key.
    end = min(i for i in (answer.find(',"unknown_items":'), answer.find(',"session_id":')) if i >= 0)
    return answer[:end] + "}"
inputs = open(input_path, encoding="utf-8").read().splitlines()
inputs = [line for line in inputs if line.strip()]
outputs = open(output_path, encoding="utf-8").read().splitlines()
assert len(inputs) == len(outputs), f"{len(inputs)} input sessions but {len(outputs)} output lines"
random.seed(int(seed))
failures = 0
sample = sorted(random.sample(range(len(inputs)), min(int(count), len(inputs))))
for index in sample:
    session = json.loads(inputs[index])
    line = outputs[index]
    assert json.loads(line)["session_id"] == session["session_id"], f"line {index + 1}: another session"
    items = ",".join(str(item) for item in session["items"])
    run = subprocess.run([srgnn, "recommend", "--model", model, "--items=" + items, "--json", *options],
                         capture_output=True, text=True)
    # Keys are sorted: the batch line is {"items":[…],"session_id":…,"unknown_items":[…]}.
    batch_items = line[:line.index(',"session_id":')] + "}"
    if run.returncode != 0:
        ok = json.loads(line)["items"] == []  # no known item: --items refuses, the batch line is empty
    else:
        ok = run.stdout.strip() == batch_items
    if ok and serve_url:
        answer = post("/v1/recommendations", {"items": session["items"], "k": k, "exclude_seen": exclude_seen})
        ok = (items_part(answer) if answer else '{"items":[]}') == batch_items
    if not ok:
        failures += 1
        print(f"line {index + 1}: differs\n  --items: {run.stdout.strip() or run.stderr.strip()}\n  --input: {batch_items}")
if serve_url:
    # The same sessions as one batch request (scored together): each answer must still match
    # (compared as parsed JSON: each float32's shortest text parses to one value).
    sessions = [json.loads(inputs[i]) for i in sample]
    known = [(i, s) for i, s in zip(sample, sessions) if json.loads(outputs[i])["items"]]
    answer = json.loads(post("/v1/recommendations/batch", {"sessions": [{"items": s["items"]} for _, s in known], "k": k,
                                                           "exclude_seen": exclude_seen}))
    for (i, _), result in zip(known, answer["results"]):
        text = json.dumps({"items": result["items"]}, separators=(",", ":"))
        if json.loads(text) != json.loads(items_part(outputs[i])):
            failures += 1
            print(f"line {i + 1}: the service's batch answer differs")
    if not failures: print(f"{len(known)} of them also identical when sent together in one batch request to the service")
checked = min(int(count), len(inputs))
print(f"{checked - failures} of {checked} sampled sessions identical to recommend --items --json")
sys.exit(1 if failures else 0)
PY
