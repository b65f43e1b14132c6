#!/usr/bin/env bash
# server-cpu.sh - runs bench/server-cpu.mjs against build/mcu in a loopback-only network
# namespace (root): the server's CPU with 3, 6 and 9 participants (COUNTS=3,6,9 WINDOW_S=10).
exec bash "$(dirname "$0")/with-server.sh" node bench/server-cpu.mjs
