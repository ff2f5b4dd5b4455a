#!/usr/bin/env bash
# The incremental-retraining simulation of docs/RESULTS.md. A log's training sessions, in date
# order, are cut into WINDOWS consecutive windows (scripts/retraining-windows.py). After window w
# (w = 2 … WINDOWS-1) two kinds of model are trained and both are evaluated on window w + 1's
# sessions (their prefixes, items restricted to those the models know):
#   full-wW      from scratch on windows 1..w;
#   new-wW       warm-started (`--init-from`) from new-w(W-1), trained on window w only;
#   replayF-wW   the same with a random F × (sessions of windows 1..w-1) replayed, one chain per F;
#   state-wW     with --optimizer-state: new-wW continuing Adam's moments and step count
#                (`--init-optimizer-state`, the parent run's MODEL.state) instead of zeroing them.
# Both chains start from full-w1, the full model of the first window (evaluated on window 2 too).
# Every model trains EPOCHS epochs with --select-on last (all its examples train; the last epoch
# is kept). The full retrain runs on one thread while the warm starts of the same window run one
# after another on the other, so their times compare; the evaluations come after the training.
#
#   scripts/retraining-simulation.sh [--replay-fraction F]... [--optimizer-state]
#   scripts/retraining-table.py OUT
#
# Environment: EPOCHS (2), OUT (/tmp/retrain), DATA (../shared/data/diginetica; an SR-GNN folder
# or a dataset folder of this tool), SRGNN (.build/release/srgnn), WINDOWS (6), REPLAY_FRACTION
# (comma-separated; the flags add to it), LOSS (full; `sampled` for large catalogues),
# TEST_SESSIONS (all; a random sample of window w + 1's sessions), SEED (1),
# TRAIN_OPTIONS (more `srgnn train` options, e.g. "--negatives 4096"), OPTIMIZER_STATE (0; 1 is
# --optimizer-state), LAST_WINDOW (WINDOWS-1: the last w to train after). Finished runs are kept:
# a second call with more chains or windows trains only those.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-2}
OUT=${OUT:-/tmp/retrain}
DATA=${DATA:-../shared/data/diginetica}
SRGNN=${SRGNN:-.build/release/srgnn}
WINDOWS=${WINDOWS:-6}
REPLAY_FRACTION=${REPLAY_FRACTION:-}
LOSS=${LOSS:-full}
TEST_SESSIONS=${TEST_SESSIONS:-0}
SEED=${SEED:-1}
TRAIN_OPTIONS=${TRAIN_OPTIONS:-}
OPTIMIZER_STATE=${OPTIMIZER_STATE:-0}
LAST_WINDOW=${LAST_WINDOW:-$((WINDOWS - 1))}
while [ $# -gt 0 ]; do
  case $1 in
    --replay-fraction) REPLAY_FRACTION=${REPLAY_FRACTION:+$REPLAY_FRACTION,}$2; shift 2 ;;
    --optimizer-state) OPTIMIZER_STATE=1; shift ;;
    *) echo "unknown argument $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
[ -x "$SRGNN" ] || { echo "$SRGNN not found: run swift build -c release first" >&2; exit 1; }
fractions=$(tr ',' ' ' <<< "$REPLAY_FRACTION")
mkdir -p "$OUT"
if [ ! -f "$OUT/data/w$((WINDOWS - 1))/next/dataset.json" ]; then
  replay_flags=()
  for f in $fractions; do replay_flags+=(--replay-fraction "$f"); done
  python3 scripts/retraining-windows.py "$DATA" "$OUT/data" --windows "$WINDOWS" --seed "$SEED" \
    --test-sessions "$TEST_SESSIONS" "${replay_flags[@]}" | tee "$OUT/windows.txt"
fi

train() {  # name, data folder, extra options...; skipped when it has run
  local name=$1 data=$2; shift 2
  [ -s "$OUT/$name.seconds" ] && return  # time writes it when the run has ended
  # shellcheck disable=SC2086  # TRAIN_OPTIONS is a list of options
  /usr/bin/time -f "%e %U %S" -o "$OUT/$name.seconds" \
    "$SRGNN" train --data "$data" --out "$OUT/$name.safetensors" --epochs "$EPOCHS" --seed "$SEED" \
    --select-on last --loss "$LOSS" $TRAIN_OPTIONS "$@" > "$OUT/$name.out" 2>&1
}

evaluate() {  # name, window: the model on window + 1's sessions
  [ -f "$OUT/$1.eval.json" ] && return
  "$SRGNN" evaluate --model "$OUT/$1.safetensors" --data "$OUT/data/w$2/next" --k 20 --json --threads 1 \
    > "$OUT/$1.eval.json.tmp"
  mv "$OUT/$1.eval.json.tmp" "$OUT/$1.eval.json"
}

warm_chains() {  # window: every warm start of the window, one after another
  local w=$1 previous
  previous=$([ "$w" -eq 2 ] && echo full-w1 || echo "new-w$((w - 1))")
  train "new-w$w" "$OUT/data/w$w/new" --threads 1 --init-from "$OUT/$previous.safetensors"
  for f in $fractions; do
    previous=$([ "$w" -eq 2 ] && echo full-w1 || echo "replay$f-w$((w - 1))")
    train "replay$f-w$w" "$OUT/data/w$w/replay$f" --threads 1 --init-from "$OUT/$previous.safetensors"
  done
  if [ "$OPTIMIZER_STATE" = 1 ]; then
    previous=$([ "$w" -eq 2 ] && echo full-w1 || echo "state-w$((w - 1))")
    train "state-w$w" "$OUT/data/w$w/new" --threads 1 --init-from "$OUT/$previous.safetensors" \
      --init-optimizer-state "$OUT/$previous.safetensors.state"
  fi
}

train full-w1 "$OUT/data/w1/full" --threads 2
evaluate full-w1 1
for w in $(seq 2 "$LAST_WINDOW"); do
  train "full-w$w" "$OUT/data/w$w/full" --threads 1 &
  full=$!
  warm_chains "$w" &
  warm=$!
  wait "$full" "$warm"
  evaluate "full-w$w" "$w" &
  evaluate "new-w$w" "$w"
  for f in $fractions; do evaluate "replay$f-w$w" "$w"; done
  [ "$OPTIMIZER_STATE" = 1 ] && evaluate "state-w$w" "$w"
  wait
  echo "window $w done: $(date -u +%H:%M:%S)"
done
