#!/usr/bin/env bash
# latency-av.sh - runs bench/latency-av.mjs (@roamhq/wrtc clients) against build/mcu inside a
# loopback-only network namespace (root): video and audio delay directly and through the MCU
# (median, p95, added), phase jumps of a steady tone, the server's per-stage p50/p95 (GET
# /api/stats "latency") after the MCU path, and newcomers. Env: FLIPS, TONE_S, TONE_HZ, JOINS,
# ONLY, JSON=1.
#   nice -n 19 bash bench/latency-av.sh
exec bash "$(dirname "$0")/with-server.sh" node bench/latency-av.mjs
