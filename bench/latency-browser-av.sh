#!/usr/bin/env bash
# latency-browser-av.sh - runs bench/latency-browser-av.mjs (headless Chromium) against build/mcu
# inside a loopback-only network namespace (root): video and audio delay and the A/V offset as
# the browser plays them, directly and through the MCU (median, p95, added, the MCU's share of
# the offset). Env: FLIPS (15), PERIOD_MS, BURST_MS, TONE_HZ, WARMUP_MS, ONLY, JSON=1.
#   bash bench/latency-browser-av.sh
exec bash "$(dirname "$0")/with-server.sh" node bench/latency-browser-av.mjs
