#!/usr/bin/env bash
# with-server.sh CMD... - runs CMD against build/mcu inside a loopback-only network namespace
# (root): starts the server on 127.0.0.1:18080, exports MCU_URL and MCU_PID, stops it after.
# Used by bench/latency.sh, bench/latency-browser-av.sh, bench/server-cpu.sh and
# bench/load-ramp.sh. MCU_ARGS (optional) holds more server flags, e.g. "--loops 1 --config
# FILE"; MCU_BIN another binary (A/B runs).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MCU_IN_NETNS:-}" ]; then
	exec unshare -n env MCU_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
# shellcheck disable=SC2086 # MCU_ARGS is a list of flags
"${MCU_BIN:-build/mcu}" --bind 127.0.0.1 --port 18080 --log-level warn ${MCU_ARGS:-} &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
sleep 0.5
MCU_URL=http://127.0.0.1:18080 MCU_PID=$pid "$@"
