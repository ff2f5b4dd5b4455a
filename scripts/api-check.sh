#!/usr/bin/env bash
# Checks the live service against openapi.yaml with schemathesis (PyPI): every operation is called
# with generated valid and invalid bodies; it fails on any 5xx, an answer that breaks the document
# (schema, status code, content type, headers), an invalid body accepted, or a wrong answer to an
# undocumented method (405 with Allow). Valid bodies may still be refused: an unknown variant or
# filter attribute is 400 by design, so schemathesis's positive_data_acceptance is not run. The server runs with what the
# document describes: two A/B variants, a catalog, the popularity fallback, an admin token and an
# events log, on two small models trained by `srgnn demo` and a warm start from it.
#
#   scripts/api-check.sh                      # SRGNN=.build/debug/srgnn (built by `swift test`)
#   SRGNN=.build/release/srgnn MAX_EXAMPLES=500 scripts/api-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SRGNN=${SRGNN:-.build/debug/srgnn}
MAX_EXAMPLES=${MAX_EXAMPLES:-100}
PORT=${PORT:-18931}
WORK=$(mktemp -d /tmp/srgnn-api-check.XXXXXX)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
[[ -x $SRGNN ]] || { echo "api-check: $SRGNN is missing; build first (swift build)" >&2; exit 1; }

# schemathesis in its own virtual environment (python3-venv on Debian when venv is missing).
if ! python3 -m venv "$WORK/venv" >/dev/null 2>&1; then
    echo "api-check: installing python3-venv (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$WORK/venv"
fi
"$WORK/venv/bin/pip" install -q --disable-pip-version-check 'schemathesis>=4,<5'

# Two small models (a cold one and a warm start from it) and a catalog of their items.
"$SRGNN" demo --out "$WORK/demo" --sessions 600 --items 80 --epochs 1 --threads 2 >/dev/null
"$SRGNN" train --data "$WORK/demo/data" --init-from "$WORK/demo/model.safetensors" --epochs 1 \
    --out "$WORK/b.safetensors" >/dev/null 2>&1
python3 - "$WORK/demo/clicks.csv" "$WORK/catalog.csv" <<'PY'
import csv, sys
items = sorted({row["item_id"] for row in csv.DictReader(open(sys.argv[1]))})
with open(sys.argv[2], "w") as out:
    out.write("item_id,available,category,price\n")
    for i, item in enumerate(items):
        out.write(f"{item},{'false' if i % 7 == 0 else 'true'},{['shoes', 'socks', 'hats'][i % 3]},{i % 5}\n")
PY
echo "api-check-token-$RANDOM$RANDOM" > "$WORK/token"

"$SRGNN" serve --port "$PORT" --model a="$WORK/demo/model.safetensors" --model b="$WORK/b.safetensors" --split a=50,b=50 \
    --catalog "$WORK/catalog.csv" --admin-token-file "$WORK/token" --events-log "$WORK/events.jsonl" \
    >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "api-check: the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

status=0
"$WORK/venv/bin/schemathesis" --config-file scripts/schemathesis.toml run openapi.yaml --url "http://127.0.0.1:$PORT" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,unsupported_method,allow_header_conformance \
    --max-examples "$MAX_EXAMPLES" --seed 1 --header "Authorization: Bearer $(cat "$WORK/token")" \
    --no-color || status=$?
kill -0 "$server" 2>/dev/null || { echo "api-check: the server died:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
if grep -q '"status":5' "$WORK/server.log" || grep -qi 'fatal\|crash' "$WORK/server.log"; then
    echo "api-check: the server log shows a 5xx or a crash:" >&2; grep -i '"status":5\|fatal\|crash' "$WORK/server.log" | head >&2; status=1
fi
exit $status
