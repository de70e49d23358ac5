#!/usr/bin/env bash
# run-all.sh - the whole suite: every unit test binary (cmocka), then the
# integration tests. Ends with one line for CI: "N passed, N failed",
# counting cmocka test cases and integration scripts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:?}
export BUILD
# Paths and URIs of the fixture token (no secrets in env.sh).
set -a
# shellcheck source=/dev/null
. "${HSMAGENT_FIXTURES:?}/env.sh"
set +a
pass=0
failed=0
# Everything the tests print and leave, for the secret scan at the end.
TEST_LOG_DIR=$BUILD/test-logs
export TEST_LOG_DIR
rm -rf "$TEST_LOG_DIR"
mkdir -p "$TEST_LOG_DIR"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$TEST_LOG_DIR/unit-$(basename "$t").log"
	printf '%s\n' "$out" | grep -E '^\[ +(PASSED|FAILED) +\]|^\[  ERROR|^ERROR|FAILED ' || true
	run=$(printf '%s\n' "$out" | sed -n 's/^\[==========\] \([0-9]*\) test(s) run\./\1/p' | tail -n1)
	bad=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' | tail -n1)
	run=${run:-0}
	bad=${bad:-0}
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		# Crashed or refused to run: count it as one failure, show why.
		printf '%s\n' "$out" | tail -n 20
		bad=1
	fi
	echo "unit $(basename "$t"): $((run - bad)) passed, $bad failed"
	pass=$((pass + run - bad))
	failed=$((failed + bad))
done
ires=$(bash "$here/run-integration.sh" 2>&1)
printf '%s\n' "$ires"
ip=$(printf '%s\n' "$ires" | sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
if_=$(printf '%s\n' "$ires" | sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
[ -n "$ip" ] || { ip=0; if_=1; }
pass=$((pass + ip))
failed=$((failed + if_))
printf '%s\n' "$ires" >"$TEST_LOG_DIR/integration.log"
if bash "$here/check-secrets.sh" "$TEST_LOG_DIR"; then
	pass=$((pass + 1))
else
	failed=$((failed + 1))
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
