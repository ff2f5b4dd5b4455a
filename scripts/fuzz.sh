#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (address sanitizer on) and runs each for a while on its
# committed corpus, failing on a crash, a hang over 1 s or an allocation over 1 GiB.
#   scripts/fuzz.sh                 # 60 s per target
#   scripts/fuzz.sh 600             # 10 minutes per target (by hand); new inputs join the corpus
#   scripts/fuzz.sh 60 FuzzPickle   # one target
#   scripts/fuzz.sh ci              # what CI runs: 20,000 inputs per target from seed 1, so a run is
#                                   # repeatable (the same binary and corpus give the same inputs)
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${1:-60}"
shift || true
budget=(-max_total_time="$seconds")
if [[ "$seconds" == ci ]]; then budget=(-runs=20000 -seed=1 -max_total_time=300); fi
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(FuzzPickle FuzzSafeTensors FuzzClickLog FuzzDatasetFolder FuzzCatalog FuzzHTTPRequest FuzzEventBody); fi

# A failed build fails the run (the grep only trims its output): it must not fuzz stale binaries.
mkdir -p findings
swift build --sanitize=fuzzer --sanitize=address > findings/build.log 2>&1 || { tail -30 findings/build.log; echo "FAILED: build"; exit 1; }
grep -E "warning: unre|Build complete" findings/build.log || true
for target in "${targets[@]}"; do
    corpus="Corpus/$target"
    mkdir -p "$corpus" findings
    echo "== $target: ${budget[*]} on $(ls "$corpus" | wc -l) corpus inputs"
    # -rss_limit_mb / -malloc_limit_mb: any single allocation over 1 GiB is a finding;
    # -timeout=1: any input that takes over 1 s is a hang.
    ASAN_OPTIONS=detect_leaks=0 ".build/debug/$target" "$corpus" "${budget[@]}" -timeout=1 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -artifact_prefix="findings/$target-" \
        -print_final_stats=1 2> "findings/$target.log" || { tail -40 "findings/$target.log"; echo "FAILED: $target"; exit 1; }
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "findings/$target.log" | sed "s/^/   /"
done
