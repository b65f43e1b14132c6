#!/usr/bin/env bash
# latency-av.sh - runs bench/latency-av.mjs (@roamhq/wrtc clients) against build/mcu inside a
# loopback-only network namespace (root): video and audio delay directly and through the MCU
# (median, p95, added) and phase jumps of a steady tone. Env: FLIPS, TONE_S, TONE_HZ, JSON=1.
#   nice -n 19 bash bench/latency-av.sh
exec bash "$(dirname "$0")/with-server.sh" node bench/latency-av.mjs
