#!/usr/bin/env bash
# with-server.sh CMD... - runs CMD against build/mcu inside a loopback-only network namespace
# (root): starts the server on 127.0.0.1:18080, exports MCU_URL and MCU_PID, stops it after.
# Used by bench/latency.sh and bench/server-cpu.sh.
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
MCU_URL=http://127.0.0.1:18080 MCU_PID=$pid "$@"
