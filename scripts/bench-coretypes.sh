#!/usr/bin/env bash
# The issue-12 acceptance table: `srgnn bench --json` under each OPENBLAS_CORETYPE this CPU can
# run (unset = OpenBLAS's own detection), in rounds so that machine drift hits every setting alike.
# Usage: scripts/bench-coretypes.sh [rounds] [extra bench options...]   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}; shift || true
data=${DATA:-../shared/data/diginetica}
for round in $(seq 1 "$rounds"); do
    for core in Prescott unset Haswell Zen SkylakeX Cooperlake; do
        for kernel in ${KERNELS:-default}; do
            env_args=()
            [[ $core != unset ]] && env_args+=("OPENBLAS_CORETYPE=$core")
            [[ $kernel != default ]] && env_args+=("SRGNN_KERNEL=$kernel")
            line=$(env "${env_args[@]}" .build/release/srgnn bench --json --data "$data" "$@")
            echo "{\"round\":$round,\"coretype\":\"$core\",\"kernel_setting\":\"$kernel\",\"bench\":$line}"
        done
    done
done
