#!/usr/bin/env bash
# Checks `srgnn recommend --input` against `srgnn recommend --items … --json`: for N random lines
# of INPUT (JSON lines {"session_id", "items"}) and their answers in OUTPUT (what --input wrote),
# the "items" part of each answer must be byte for byte what --items --json prints. Pass the same
# options that made OUTPUT (e.g. --k 20 --exclude-seen) after the four arguments.
# Usage: scripts/check-batch.sh MODEL INPUT OUTPUT [N=100] [options...]   (SRGNN=path to the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 input=$2 output=$3 count=${4:-100}
shift 3; [[ $# -gt 0 ]] && shift
srgnn=${SRGNN:-.build/release/srgnn}
python3 - "$srgnn" "$model" "$input" "$output" "$count" "${SEED:-1}" "$@" <<'PY'
import json, random, subprocess, sys
srgnn, model, input_path, output_path, count, seed, *options = sys.argv[1:]
inputs = open(input_path, encoding="utf-8").read().splitlines()
inputs = [line for line in inputs if line.strip()]
outputs = open(output_path, encoding="utf-8").read().splitlines()
assert len(inputs) == len(outputs), f"{len(inputs)} input sessions but {len(outputs)} output lines"
random.seed(int(seed))
failures = 0
for index in sorted(random.sample(range(len(inputs)), min(int(count), len(inputs)))):
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
    if not ok:
        failures += 1
        print(f"line {index + 1}: differs\n  --items: {run.stdout.strip() or run.stderr.strip()}\n  --input: {batch_items}")
checked = min(int(count), len(inputs))
print(f"{checked - failures} of {checked} sampled sessions identical to recommend --items --json")
sys.exit(1 if failures else 0)
PY
