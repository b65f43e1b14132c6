#!/usr/bin/env bash
# client-cost.sh - runs bench/client-cost.mjs against build/mcu in a loopback-only network
# namespace (root): a libwebrtc client's CPU and downlink receiving a 9-person call through the
# MCU at three rungs, against 9 direct streams (SENDERS=9 WINDOW_S=15 SETTLE_S=8).
exec bash "$(dirname "$0")/with-server.sh" node bench/client-cost.mjs
