#!/usr/bin/env bash
# server-cpu.sh - runs bench/server-cpu.mjs against build/mcu in a loopback-only network
# namespace (root): the server's CPU with 3, 6 and 9 participants (COUNTS=3,6,9 WINDOW_S=10).
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
MCU_URL=http://127.0.0.1:18080 MCU_PID=$pid node bench/server-cpu.mjs
