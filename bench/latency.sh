#!/usr/bin/env bash
# latency.sh - runs bench/latency.mjs against build/mcu inside a loopback-only network
# namespace (root). Prints the glass-to-glass delay through the MCU and directly.
exec bash "$(dirname "$0")/with-server.sh" node bench/latency.mjs
