#!/usr/bin/env bash
# run-integration.sh - runs every tests/integration/test_*.sh (or those
# named) and ends with the line CI reads: "N passed, N failed". A test
# that prints "SKIP: REASON" and exits 0 is listed as skipped, with it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0
failed=0
names=()
skipped=()
if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=("$here"/integration/test_*.sh)
fi
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s%N)
	rc=0
	out=$(timeout 300 bash "$t" 2>&1) || rc=$?
	# Kept for the secret scan (run-all.sh sets TEST_LOG_DIR).
	[ -n "${TEST_LOG_DIR:-}" ] && printf '%s\n' "$out" >"$TEST_LOG_DIR/$name.log"
	if [ "$rc" -eq 0 ] && skip=$(printf '%s\n' "$out" | sed -n 's/^SKIP: //p' | head -1) &&
	    [ -n "$skip" ]; then
		# A test that cannot run here says why; it counts as passed
		# (as before) but is never silent.
		pass=$((pass + 1))
		skipped+=("$name")
		printf 'skip  %-32s %s\n' "$name" "$skip"
	elif [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		ms=$((($(date +%s%N) - start) / 1000000))
		printf 'ok    %-32s %6d ms\n' "$name" "$ms"
		[ -n "${VERBOSE:-}" ] && printf '%s\n' "$out"
	else
		failed=$((failed + 1))
		names+=("$name")
		printf 'FAIL  %s\n' "$name"
		printf '%s\n' "$out" | sed 's/^/      /'
	fi
done
[ ${#skipped[@]} -gt 0 ] && echo "skipped (see the reasons above): ${skipped[*]}"
[ ${#names[@]} -gt 0 ] && echo "failed: ${names[*]}"
echo "integration: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
