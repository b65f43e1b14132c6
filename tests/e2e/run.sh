#!/usr/bin/env bash
# Runs the end-to-end tests inside a loopback-only network namespace (as DESIGN.md asks):
# browsers and libwebrtc then see only 127.0.0.1, and nothing leaves the machine.
# Usage: tests/e2e/run.sh [TEST.mjs...]   (default: every tests/e2e/*.test.mjs)
# Needs root (unshare -n). Starts build/mcu on 127.0.0.1:18080 per test file (MCU_LOG_LEVEL=debug
# for its debug log).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/e2e/*.test.mjs)
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
	echo "tests/e2e/node_modules is missing: run 'make deps' (npm install)" >&2
	exit 1
fi
if [ -z "${MCU_IN_NETNS:-}" ]; then
	exec unshare -n env MCU_IN_NETNS=1 BUILD="$BUILD" bash "$0" "${tests[@]}"
fi
ip link set lo up
logdir="$BUILD/tests/logs/e2e"
mkdir -p "$logdir"
rc=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .test.mjs)
	# a test file may give its server a config: a line "// server-config: {JSON}"
	cfg=()
	json=$(sed -n 's|^// server-config: ||p' "$t")
	if [ -n "$json" ]; then
		printf '%s\n' "$json" >"$logdir/$name.config.json"
		cfg=(--config "$logdir/$name.config.json")
	fi
	"$BUILD/mcu" --bind 127.0.0.1 --port 18080 --log-level "${MCU_LOG_LEVEL:-info}" "${cfg[@]}" >"$logdir/$name.server.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break
		sleep 0.1
	done
	if MCU_URL=http://127.0.0.1:18080 timeout 300 node --test --test-reporter=spec "$t"; then
		echo "PASS e2e/$name"
	else
		echo "FAIL e2e/$name (server log: $logdir/$name.server.log)"
		tail -n 40 "$logdir/$name.server.log" | sed 's/^/    /'
		rc=1
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait "$pid"; then
		echo "FAIL e2e/$name: the server did not exit cleanly (server log: $logdir/$name.server.log)"
		tail -n 60 "$logdir/$name.server.log" | sed 's/^/    /'
		rc=1
	fi
done
exit $rc
