#!/usr/bin/env bash
# The issue-12 acceptance table: `srgnn bench --json` under each OPENBLAS_CORETYPE this CPU can
# run (unset = OpenBLAS's own detection), in rounds so that machine drift hits every setting alike.
# Each round starts one setting further on, so that no setting always runs first, right after
# whatever ran before the script (a build, the official code).
# Usage: scripts/bench-coretypes.sh [rounds] [extra bench options...]   (after SRGNN_BLAS=1 swift build -c release)
#        FIRST_ROUND=k numbers the rounds from k, for a sitting that runs one round at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}; shift || true
data=${DATA:-../shared/data/diginetica}
cores=(Prescott unset Haswell Zen SkylakeX Cooperlake)
first=${FIRST_ROUND:-1}
for round in $(seq "$first" $((first + rounds - 1))); do
    for i in "${!cores[@]}"; do
        core=${cores[$(( (i + round - 1) % ${#cores[@]} ))]}
        for kernel in ${KERNELS:-default}; do
            env_args=()
            [[ $core != unset ]] && env_args+=("OPENBLAS_CORETYPE=$core")
            [[ $kernel != default ]] && env_args+=("SRGNN_KERNEL=$kernel")
            line=$(env "${env_args[@]}" .build/release/srgnn bench --json --data "$data" "$@")
            echo "{\"round\":$round,\"coretype\":\"$core\",\"kernel_setting\":\"$kernel\",\"bench\":$line}"
        done
    done
done
