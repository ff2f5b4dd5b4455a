#!/usr/bin/env bash
# The retraining simulation of docs/RESULTS.md: Diginetica's training sessions (in date order)
# cut into growing windows (the first 60 %, then 70, 80, 90 and 100 %). After each new window a
# model is trained (a) from scratch on all data so far and (b) warm-started (`--init-from`) from
# the previous window's warm model on the same data, with the same epoch budget; both are
# evaluated on the test set every epoch (the test set restricted to the items the window knows).
# The pair of each window runs side by side, one thread each, so their wall times compare.
#
#   scripts/retraining-simulation.sh            then   scripts/retraining-table.py OUT
#
# Environment: EPOCHS (3), OUT (/tmp/sim), DATA (../shared/data/diginetica), SRGNN
# (.build/release/srgnn), FRACTIONS (0.6,0.7,0.8,0.9,1.0), SEED (1).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-3}
OUT=${OUT:-/tmp/sim}
DATA=${DATA:-../shared/data/diginetica}
SRGNN=${SRGNN:-.build/release/srgnn}
FRACTIONS=${FRACTIONS:-0.6,0.7,0.8,0.9,1.0}
SEED=${SEED:-1}
[ -x "$SRGNN" ] || { echo "$SRGNN not found: run swift build -c release first" >&2; exit 1; }
mkdir -p "$OUT"
python3 scripts/retraining-windows.py "$DATA" "$OUT/data" "$FRACTIONS"
windows=$(( $(tr ',' '\n' <<< "$FRACTIONS" | wc -l) - 1 ))

train() {  # name, data folder, extra options...
  local name=$1 data=$2; shift 2
  /usr/bin/time -f "%e" -o "$OUT/$name.seconds" \
    "$SRGNN" train --data "$data" --out "$OUT/$name.safetensors" --epochs "$EPOCHS" --seed "$SEED" "$@" > "$OUT/$name.out" 2>&1
}

# The initial model, on the first window: both chains start from it.
[ -f "$OUT/w0.safetensors" ] || train w0 "$OUT/data/w0" --threads 2
previous="$OUT/w0.safetensors"
for w in $(seq 1 "$windows"); do
  train "cold-w$w" "$OUT/data/w$w" --threads 1 &
  cold=$!
  train "warm-w$w" "$OUT/data/w$w" --threads 1 --init-from "$previous" &
  warm=$!
  wait "$cold" "$warm"
  previous="$OUT/warm-w$w.safetensors"
  echo "window $w done: $(date -u +%H:%M:%S)"
done
