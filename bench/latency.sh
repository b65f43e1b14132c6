#!/usr/bin/env bash
# latency.sh - runs bench/latency.mjs against build/mcu inside a loopback-only network
# namespace (root). Prints the glass-to-glass delay through the MCU and directly.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MCU_IN_NETNS:-}" ]; then
	exec unshare -n env MCU_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
build/mcu --bind 127.0.0.1 --port 18080 --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
sleep 0.5
MCU_URL=http://127.0.0.1:18080 NODE_PATH=tests/e2e/node_modules node bench/latency.mjs
