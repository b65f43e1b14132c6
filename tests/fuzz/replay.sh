#!/usr/bin/env bash
# Replays the committed fuzz corpora as a regression test: each libFuzzer target in
# $BUILD/fuzz/ runs every file of tests/fuzz/corpus/<target>/ once (files as arguments: no
# fuzzing, no writes). Fails if a target binary is missing, a corpus is empty, or any input
# crashes, leaks or trips ASan/UBSan. Builds nothing: `make test` / `make asan` build the
# targets first (mk/fuzz.mk). Run from the repository root.
#
# A second pass replays every corpus again with FUZZ_FAIL_ALLOC=7: about one allocation in 7
# made by our code fails (tests/fuzz/failalloc.c), so the out-of-memory paths are regression
# tested too (checklist A3).
set -u
BUILD=${BUILD:-build}
dir="$BUILD/fuzz"
corpus=tests/fuzz/corpus
status=0

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	target=${name#fuzz_}
	bin="$dir/$name"
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is missing (build it with: make fuzz-build BUILD=$BUILD)"
		status=1
		continue
	fi
	files=()
	while IFS= read -r -d '' f; do files+=("$f"); done \
		< <(find "$corpus/$target" -type f -print0 2>/dev/null | sort -z)
	if [ "${#files[@]}" -eq 0 ]; then
		echo "FAIL $name: no inputs in $corpus/$target"
		status=1
		continue
	fi
	for fail in 0 7; do
		log="$dir/$name.replay.log"
		label=
		if [ "$fail" != 0 ]; then
			log="$dir/$name.failalloc.log"
			label=" (FUZZ_FAIL_ALLOC=$fail)"
		fi
		t0=$(date +%s%N)
		if FUZZ_FAIL_ALLOC=$fail "$bin" -rss_limit_mb=2048 -timeout=25 "${files[@]}" \
			>"$log" 2>&1; then
			printf 'ok   %-16s %4d inputs  %5d ms%s\n' "$name" "${#files[@]}" \
				$((($(date +%s%N) - t0) / 1000000)) "$label"
		else
			echo "FAIL $name$label (log: $log)"
			grep -m 20 -E 'ERROR|SUMMARY|Running:|runtime error|==[0-9]+==' "$log" |
				sed 's/^/    /'
			status=1
		fi
	done
done
exit $status
