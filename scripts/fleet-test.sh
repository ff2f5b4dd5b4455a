#!/usr/bin/env bash
# A fleet under load: three `srgnn serve` replicas on loopback behind nginx (the load balancer,
# retrying a failed request on another replica), wrk posting /v1/recommendations through nginx for
# DURATION seconds while
#   (a) the models on the shared storage are replaced (written under a temporary name, renamed) and
#       every replica is hot-reloaded in turn (POST /v1/admin/reload): a rolling reload;
#   (b) one replica is killed with SIGKILL, restarted on its port and waited for until /ready;
#   (c) another is stopped with SIGTERM (graceful: 503 from then on, requests in flight answered)
#       and restarted, as `systemctl restart` does.
# Each replica serves two A/B variants (a=70, b=30) with the same split; session ids are asked of
# every replica directly and through nginx before, during and after the run, and each must get the
# same variant everywhere (and the one docs/SERVING.md's hash rule gives). Each answer through nginx
# is also credited with an event (POST /v1/events, signed ids with a shared key), and every event
# answered 200 must be in one of the replicas' events logs.
#
#   scripts/fleet-test.sh [--binary PATH] [--duration SECONDS] [--keep]
#
# Prints one markdown table (requests, requests/s, non-2xx, socket errors, retries, variants) and
# exits 1 when a request got a non-2xx answer, wrk saw a socket error, a reload failed, a replica
# does not serve the new models at the end, the variants disagree or an event is lost. The binary: --binary PATH or SRGNN=PATH, else `swift build -c release` and
# .build/release/srgnn. The models are trained on `srgnn demo`'s synthetic click log (seconds).
# nginx and wrk are installed with apt-get (Debian/Ubuntu; as root or through sudo) when missing.
# nginx runs in the foreground with its own prefix and configuration in a temporary folder (no
# system configuration is read or touched) on free loopback ports; every process and file the
# script made is removed on exit, failure and Ctrl-C included (--keep keeps the folder: logs,
# nginx.conf, access log with the upstream of every request).
# Environment: DURATION (30), CONNECTIONS (16), THREADS (1, wrk's), SESSION_IDS (48, per check),
# KEEP (0).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
SESSION_IDS=${SESSION_IDS:-48}
KEEP=${KEEP:-0}
SRGNN=${SRGNN:-}
REPLICAS=3
KILLED=2
STOPPED=3

while [ $# -gt 0 ]; do
  case $1 in
    --binary) SRGNN=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 10 ] || { echo "DURATION must be a whole number of seconds, at least 10" >&2; exit 2; }

# --- tools -------------------------------------------------------------------------------------
install_package() {
  command -v apt-get >/dev/null || { echo "$1 is missing and there is no apt-get: install $1" >&2; exit 1; }
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "$1 is missing: run apt-get install -y $1 as root" >&2; exit 1; }
    sudo=sudo
  fi
  echo "installing $1 (apt-get install -y $1)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >/dev/null; }
}
# nginx lives in /usr/sbin, which is not on every user's PATH.
find_nginx() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
NGINX=$(find_nginx)
[ -n "$NGINX" ] || { install_package nginx; NGINX=$(find_nginx); }
command -v wrk >/dev/null || install_package wrk
for tool in curl python3 sha256sum; do
  command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
if [ -z "$SRGNN" ]; then
  echo "building srgnn (swift build -c release; set SRGNN=PATH or --binary PATH to skip)"
  swift build -c release --product srgnn
  SRGNN=.build/release/srgnn
fi
[ -x "$SRGNN" ] || { echo "$SRGNN is not an executable" >&2; exit 1; }
SRGNN=$(realpath "$SRGNN")

# --- clean-up ----------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/srgnn-fleet.XXXXXX")
declare -a REPLICA_PID=()
NGINX_PID=""
WRK_PID=""
CHECKER_PID=""
cleanup() {
  local status=$? pid
  trap - EXIT INT TERM
  for pid in "$CHECKER_PID" "$WRK_PID"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${REPLICA_PID[@]}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
  # TERM to nginx's master: a fast shutdown that ends its worker too.
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
  for pid in "$CHECKER_PID" "$WRK_PID" "${REPLICA_PID[@]}" "$NGINX_PID"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- models: one synthetic log, four models (a and b now, a and b next) --------------------------
echo "training four small models on srgnn demo's synthetic click log"
"$SRGNN" demo --out "$WORK/demo" --sessions 3000 --items 300 --epochs 1 --seed 1 --threads 1 >"$WORK/train.log" 2>&1
cp "$WORK/demo/model.safetensors" "$WORK/model-1.safetensors"
for seed in 2 3 4; do
  "$SRGNN" train --data "$WORK/demo/data" --epochs 1 --seed $seed --threads 1 \
    --out "$WORK/model-$seed.safetensors" >>"$WORK/train.log" 2>&1
done
# The shared storage every replica reads its variants from.
MODELS="$WORK/models"
mkdir -p "$MODELS"
cp "$WORK/model-1.safetensors" "$MODELS/a.safetensors"
cp "$WORK/model-2.safetensors" "$MODELS/b.safetensors"
# Publishing a model: written under a temporary name on the same file system, then renamed, so a
# replica that reads the path (a reload, a restart) sees the old file or the new one, never half.
publish() { cp "$1" "$MODELS/.$2.tmp" && mv -f "$MODELS/.$2.tmp" "$MODELS/$2"; }

# Request bodies: the demo's test sessions in raw ids, each with a session id.
BODIES="$WORK/bodies.jsonl"
python3 - "$WORK/demo/data" "$BODIES" <<'PY'
import json, os, sys
data, out_path = sys.argv[1], sys.argv[2]
raw = [line.rstrip("\n") for line in open(os.path.join(data, "items.txt"))]
with open(out_path, "w") as out:
    for n, line in enumerate(open(os.path.join(data, "test_examples.txt"))):
        items = [raw[int(i) - 1] for i in line.split("\t")[0].split()]
        out.write(json.dumps({"items": items, "k": 20, "session_id": f"load-{n}"}, separators=(",", ":")) + "\n")
PY
export BODIES

# --- secrets shared by the replicas (files, never on a command line) ---------------------------
( umask 077
  python3 -c 'import secrets; print(secrets.token_hex(32))' >"$WORK/admin-token"
  python3 -c 'import secrets; print(secrets.token_hex(32))' >"$WORK/events-key"
  echo "Authorization: Bearer $(cat "$WORK/admin-token")" >"$WORK/admin-header" )

# --- ports: four free loopback ports -----------------------------------------------------------
read -r -a PORTS <<<"$(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
LB_PORT=${PORTS[0]}
LB="http://127.0.0.1:$LB_PORT"
replica_url() { echo "http://127.0.0.1:${PORTS[$1]}"; }

# --- replicas ----------------------------------------------------------------------------------
start_replica() {
  local i=$1
  "$SRGNN" serve --model "a=$MODELS/a.safetensors" --model "b=$MODELS/b.safetensors" --split a=70,b=30 \
    --host 127.0.0.1 --port "${PORTS[$i]}" --inference-threads 1 \
    --admin-token-file "$WORK/admin-token" --events-key-file "$WORK/events-key" \
    --events-log "$WORK/events-$i.jsonl" >>"$WORK/replica-$i.log" 2>&1 &
  REPLICA_PID[$i]=$!
}
wait_ready() {
  local i=$1
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$(replica_url "$i")/ready" && return 0
    kill -0 "${REPLICA_PID[$i]}" 2>/dev/null || { echo "replica $i stopped:" >&2; cat "$WORK/replica-$i.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "replica $i did not become ready in 30 s" >&2; exit 1
}
for i in $(seq 1 $REPLICAS); do start_replica "$i"; done
for i in $(seq 1 $REPLICAS); do wait_ready "$i"; done

# --- nginx -------------------------------------------------------------------------------------
NGINX_DIR="$WORK/nginx"
mkdir -p "$NGINX_DIR/temp"
UPSTREAMS=""
for i in $(seq 1 $REPLICAS); do
  UPSTREAMS+="        server 127.0.0.1:${PORTS[$i]} max_fails=1 fail_timeout=2s;"$'\n'
done
# The example configuration of docs/DEPLOY.md, with this run's ports and folders.
# As root, nginx's workers would run as nobody, who cannot enter the private temporary folder.
USER_LINE=""
[ "$(id -u)" != 0 ] || USER_LINE="user root;"
cat >"$NGINX_DIR/nginx.conf" <<EOF
# Runs in the foreground, as the user who started it, with every file under its prefix.
daemon off;
$USER_LINE
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $NGINX_DIR/temp/body;
    proxy_temp_path $NGINX_DIR/temp/proxy;
    fastcgi_temp_path $NGINX_DIR/temp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/temp/uwsgi;
    scgi_temp_path $NGINX_DIR/temp/scgi;
    # \$upstream_status lists every replica tried: "502, 200" is a request answered after a retry.
    log_format fleet '\$status "\$upstream_addr" "\$upstream_status" \$request_time';
    access_log $NGINX_DIR/access.log fleet;
    keepalive_requests 100000;

    upstream srgnn {
$UPSTREAMS        # Idle connections kept to the replicas (per worker), closed by nginx before a replica's
        # --idle-timeout (30 s) would close them under a request on its way.
        keepalive 32;
        keepalive_timeout 20s;
    }
    server {
        listen 127.0.0.1:$LB_PORT;
        location / {
            proxy_pass http://srgnn;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # A replica that refuses the connection, drops it, times out or answers 502/503/504
            # (503: shutting down, or not ready) gets the request tried on the next one. POST is
            # retried too (non_idempotent): a recommendation has no side effect, and an event
            # retried after its line was written is at worst counted twice.
            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            proxy_connect_timeout 1s;
            proxy_send_timeout 10s;
            proxy_read_timeout 10s;
        }
    }
}
EOF
"$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" -t >"$NGINX_DIR/test.log" 2>&1 \
  || { cat "$NGINX_DIR/test.log" >&2; exit 1; }
"$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" >>"$NGINX_DIR/error.log" 2>&1 &
NGINX_PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$LB/ready" && break; sleep 0.05; done
curl -sf -o /dev/null "$LB/ready" || { echo "nginx did not start:" >&2; cat "$NGINX_DIR/error.log" >&2; exit 1; }

# --- the variant check: every session id, from every replica and through nginx ----------------
# Each round asks SESSION_IDS session ids of each target, and appends one JSON line per round to
# $WORK/variants.jsonl; a replica that refuses the connection (the killed one) is skipped. With
# --events, each answer through nginx is credited with an event through nginx.
TARGETS="$LB"
for i in $(seq 1 $REPLICAS); do TARGETS+=" $(replica_url "$i")"; done
variant_round() {
  python3 - "$SESSION_IDS" "$WORK/variants.jsonl" "$@" $TARGETS <<'PY'
import http.client, json, sys, urllib.parse
count, out_path, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
events = args and args[0] == "--events"
targets = args[1:] if events else args
balancer = targets[0]
answers, errors, skipped, event_ids = {}, [], [], []

def post(url, path, body):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()

try:
    for url in targets:
        for n in range(count):
            sid = f"visitor-{n}"
            try:
                status, body = post(url, "/v1/recommendations", {"items": ["sku-4"], "k": 5, "session_id": sid})
            except (OSError, http.client.HTTPException) as error:
                # A replica asked directly may be down (killed, restarting): skip it this round.
                # nginx must never fail.
                if url == balancer:
                    errors.append(f"{url} {sid}: {error!r}")
                    continue
                skipped.append(f"{url}: {error!r}")
                break
            if status != 200:
                errors.append(f"{url} {sid}: {status} {body[:200]!r}")
                continue
            answer = json.loads(body)
            answers.setdefault(sid, {})[url] = answer["model"]
            if events and url == balancer:
                rid = answer["recommendation_id"]
                try:
                    status, body = post(url, "/v1/events", {"recommendation_id": rid, "item": "sku-4", "type": "click"})
                except (OSError, http.client.HTTPException) as error:
                    status, body = 0, repr(error).encode()
                if status == 200:
                    event_ids.append(rid)
                else:
                    errors.append(f"event {sid}: {status} {body[:200]!r}")
finally:
    with open(out_path, "a") as out:
        out.write(json.dumps({"answers": answers, "errors": errors, "skipped": skipped, "events": event_ids}) + "\n")
PY
}

# Reads every round: the variant each session id got must be the same in every round and target,
# and the one docs/SERVING.md's rule gives (the first 8 bytes of SHA-256 as a big-endian h fall at
# floor(h * total / 2^64) in the cumulative weights a=70, b=30). Every event answered 200 must be
# in one of the replicas' events logs (twice when nginx retried it after a replica wrote it and
# died before answering: counted as duplicates, not as a problem).
variant_summary() {
  python3 - "$WORK/variants.jsonl" "$WORK"/events-*.jsonl <<'PY'
import collections, hashlib, json, sys
weights = [("a", 70), ("b", 30)]
total = sum(w for _, w in weights)
def expected(sid):
    h = int.from_bytes(hashlib.sha256(sid.encode()).digest()[:8], "big")
    point, cumulative = h * total >> 64, 0
    for name, weight in weights:
        cumulative += weight
        if point < cumulative:
            return name
rounds = [json.loads(line) for line in open(sys.argv[1])]
seen, problems, asked, posted = {}, [], 0, []
for r in rounds:
    problems += r["errors"]
    posted += r["events"]
    for sid, by_target in r["answers"].items():
        for target, model in by_target.items():
            asked += 1
            seen.setdefault(sid, set()).add(model)
variant_problems = 0
for sid, models in sorted(seen.items()):
    if len(models) != 1:
        problems.append(f"{sid} got {sorted(models)}"); variant_problems += 1
    elif models != {expected(sid)}:
        problems.append(f"{sid} got {sorted(models)}, the hash rule says {expected(sid)}"); variant_problems += 1
shares = collections.Counter(m for models in seen.values() for m in models)
logged = collections.Counter()
for path in sys.argv[2:]:
    for line in open(path):
        record = json.loads(line)
        # The log also holds start and impression lines (srgnn ab-report reads them).
        if record["type"] in ("click", "purchase"):
            logged[record["recommendation_id"]] += 1
missing = [rid for rid in posted if logged[rid] == 0]
problems += [f"event {rid} answered 200 but in no events log" for rid in missing]
duplicates = sum(n - 1 for n in logged.values() if n > 1)
skipped = sum(len(r["skipped"]) for r in rounds)
print(f"answers={asked} sessions={len(seen)} rounds={len(rounds)} skipped={skipped} "
      f"events={len(posted)} logged={sum(logged.values())} missing={len(missing)} duplicates={duplicates} "
      f"split={'/'.join(f'{k}:{v}' for k, v in sorted(shares.items()))} variant_problems={variant_problems} problems={len(problems)}")
for r in rounds:
    for s in r["skipped"]: print("SKIPPED", s)
for p in problems[:20]: print("PROBLEM", p)
PY
}

# --- the run -----------------------------------------------------------------------------------
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
sleep_until() { local wait; wait=$(awk -v t0="$T0" -v at="$1" -v now="$(now)" 'BEGIN { w = t0 + at - now; print (w > 0 ? w : 0) }'); sleep "$wait"; }
at() { awk -v d="$DURATION" -v f="$1" 'BEGIN { printf "%.2f", d * f }'; }

variant_round --events
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s -s scripts/fleet-test.lua $LB (3 replicas behind nginx)"
T0=$(now)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s scripts/fleet-test.lua "$LB" >"$WORK/wrk.txt" 2>&1 &
WRK_PID=$!
# Variant rounds every 2 s during the run, reloads and restart included.
# (TERM ends it after its current round, so no request is left half-asked.)
( trap 'exit 0' TERM; while sleep 2; do variant_round --events; done ) &
CHECKER_PID=$!

RELOADS_OK=0
# (a) the rolling reload: new models on the shared storage, then each replica in turn.
sleep_until "$(at 0.10)"
publish "$WORK/model-3.safetensors" a.safetensors
publish "$WORK/model-4.safetensors" b.safetensors
for i in $(seq 1 $REPLICAS); do
  sleep_until "$(at "0.$((i + 1))0")"
  code=$(curl -s -o "$WORK/reload-$i.json" -w '%{http_code}' -X POST -H @"$WORK/admin-header" "$(replica_url "$i")/v1/admin/reload")
  echo "t=$(elapsed "$T0") s: replica $i reloaded (POST /v1/admin/reload): $code"
  if [ "$code" = 200 ]; then RELOADS_OK=$((RELOADS_OK + 1)); else fail "replica $i: reload answered $code: $(cat "$WORK/reload-$i.json")"; fi
done
# (b) SIGKILL one replica, restart it on its port, wait for /ready.
sleep_until "$(at 0.55)"
kill -KILL "${REPLICA_PID[$KILLED]}"
wait "${REPLICA_PID[$KILLED]}" 2>/dev/null || true
echo "t=$(elapsed "$T0") s: replica $KILLED killed (SIGKILL)"
T_KILL=$(now)
start_replica "$KILLED"
wait_ready "$KILLED"
DOWN=$(elapsed "$T_KILL")
echo "t=$(elapsed "$T0") s: replica $KILLED restarted and ready after $DOWN s"

# (c) a graceful restart (what `systemctl restart` does): SIGTERM one replica, which answers 503
# once shutdown begins and finishes the requests in flight; restart it when it has ended.
sleep_until "$(at 0.75)"
kill -TERM "${REPLICA_PID[$STOPPED]}"
T_STOP=$(now)
wait "${REPLICA_PID[$STOPPED]}" && STOP_STATUS=0 || STOP_STATUS=$?
STOP_SECONDS=$(elapsed "$T_STOP")
echo "t=$(elapsed "$T0") s: replica $STOPPED stopped on SIGTERM in $STOP_SECONDS s (exit status $STOP_STATUS)"
[ "$STOP_STATUS" = 0 ] || fail "replica $STOPPED exited with status $STOP_STATUS on SIGTERM"
start_replica "$STOPPED"
wait_ready "$STOPPED"
echo "t=$(elapsed "$T0") s: replica $STOPPED restarted and ready"

wait "$WRK_PID" || fail "wrk failed: $(cat "$WORK/wrk.txt")"
WRK_PID=""
kill -TERM "$CHECKER_PID" 2>/dev/null || true
wait "$CHECKER_PID" 2>/dev/null || true
CHECKER_PID=""
variant_round --events

# --- checks ------------------------------------------------------------------------------------
RESULT=$(grep '^RESULT' "$WORK/wrk.txt") || { cat "$WORK/wrk.txt"; fail "wrk printed no RESULT line"; RESULT=""; }
field() { sed -nE "s/.*[ ^]$1=([0-9.]+).*/\1/p" <<<" $RESULT"; }
REQUESTS=$(field requests); RPS=$(field rps); P50=$(field p50_ms); P99=$(field p99_ms); MAX=$(field max_ms)
WRK_NON2XX=$(field wrk_non2xx); LUA_NON2XX=$(field lua_non2xx)
CONNECT=$(field connect); READ=$(field read); WRITE=$(field write); TIMEOUT=$(field timeout)
SOCKET=$((CONNECT + READ + WRITE + TIMEOUT))
NON2XX=$((WRK_NON2XX > LUA_NON2XX ? WRK_NON2XX : LUA_NON2XX))
[ "$NON2XX" = 0 ] || fail "$NON2XX non-2xx answers through nginx ($(grep '^FIRST_NON2XX' "$WORK/wrk.txt" || true))"
[ "$SOCKET" = 0 ] || fail "$SOCKET socket errors (connect $CONNECT, read $READ, write $WRITE, timeout $TIMEOUT)"

# Every replica serves the new files now (the restarted one read them at start).
for i in $(seq 1 $REPLICAS); do
  served=$(curl -s "$(replica_url "$i")/v1/models" | python3 -c 'import json, sys; print(" ".join(v["name"] + "=" + v["sha256"] for v in json.load(sys.stdin)["variants"]))')
  want="a=$(sha256sum "$MODELS/a.safetensors" | cut -d' ' -f1) b=$(sha256sum "$MODELS/b.safetensors" | cut -d' ' -f1)"
  [ "$served" = "$want" ] || fail "replica $i serves $served, not the new models $want"
done

VARIANTS=$(variant_summary)
echo "$VARIANTS"
summary_field() { sed -nE "1s/.*[ ^]$1=([^ ]+).*/\1/p" <<<" $VARIANTS"; }
[ "$(summary_field problems)" = 0 ] || fail "$(grep -m5 PROBLEM <<<"$VARIANTS" | tr '\n' ';')"
VARIANTS_OK=$([ "$(summary_field variant_problems)" = 0 ] && echo yes || echo NO)
EVENT_SPREAD=$(for i in $(seq 1 $REPLICAS); do printf '%s ' "$(grep -cE '"type":"(click|purchase)"' "$WORK/events-$i.jsonl" 2>/dev/null)"; done)

# nginx's access log: requests answered after at least one replica failed them.
RETRIED=$(awk -F'"' '$4 ~ /,/' "$NGINX_DIR/access.log" | wc -l)
UPSTREAM_ERRORS=$(grep -c 'upstream' "$NGINX_DIR/error.log" || true)

CPU=$(lscpu 2>/dev/null | sed -nE '0,/^Model name: */s/^Model name: *//p' || true)
echo
echo "| fleet-test: 3 replicas behind nginx, ${DURATION} s | |"
echo "|---|---|"
echo "| load | wrk -t$THREADS -c$CONNECTIONS, POST /v1/recommendations with a session_id |"
echo "| during the run | rolling reload of 3 replicas to new models ($RELOADS_OK of 3 answered 200); replica $KILLED killed with SIGKILL, restarted, ready after $DOWN s; replica $STOPPED stopped with SIGTERM (exited after $STOP_SECONDS s) and restarted |"
echo "| requests | $REQUESTS |"
echo "| requests/s | $RPS |"
echo "| latency p50 / p99 / max | $P50 / $P99 / $MAX ms |"
echo "| non-2xx | $NON2XX |"
echo "| socket errors (connect / read / write / timeout) | $SOCKET ($CONNECT / $READ / $WRITE / $TIMEOUT) |"
echo "| answered after nginx retried another replica | $RETRIED |"
echo "| variants consistent | $VARIANTS_OK: $(summary_field sessions) session ids asked of nginx and of each replica up, $(summary_field rounds) rounds, $(summary_field answers) answers; session ids per variant $(summary_field split) |"
echo "| events through nginx (POST /v1/events) | $(summary_field events) answered 200, $(summary_field missing) missing from the logs, $(summary_field duplicates) logged twice (per replica: ${EVENT_SPREAD% }) |"
echo "| machine | ${CPU:-unknown}, $(nproc) cores |"
echo
[ "$UPSTREAM_ERRORS" = 0 ] || { echo "nginx logged $UPSTREAM_ERRORS upstream errors, e.g.:"; grep -m3 'upstream' "$NGINX_DIR/error.log" | sed -E 's/^[0-9/]+ [0-9:]+ //'; }
[ $FAILED = 0 ] && echo "PASS" || { echo "FAILED"; exit 1; }
