#!/usr/bin/env bash
# run-integration.sh - runs every tests/integration/test_*.sh (or those
# named) and ends with the line CI reads: "N passed, N failed". A test
# that prints "SKIP: REASON" and exits 0 is listed as skipped, with it.
#
# TEST_JOBS tests run at once (default: one more than the CPUs, at
# least 3): most of a test's time is spent waiting on a slow CA, a
# deadline or a restart, not on a CPU (the plain suite kept two CPUs
# about half busy with two tests at once), and every test keeps its
# services, token copies and ports to itself (lib.sh: a temp dir,
# free_port, own_token). The longest tests start first, so that none of
# them is left running alone at the end. Results are printed as tests
# end; TEST_JOBS=1 runs them one by one.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0
failed=0
names=()
skipped=()
if [ $# -gt 0 ]; then
	named=("$@")
else
	named=("$here"/integration/test_*.sh)
fi
# The tests that take longest (a minute or more here, more under ASan or
# valgrind) first, then the rest in name order.
longest="test_entrust test_orders_crash test_sectigo test_install"
tests=()
for t in "${named[@]}"; do
	[[ " $longest " == *" $(basename "$t" .sh) "* ]] && tests+=("$t")
done
for t in "${named[@]}"; do
	[[ " $longest " == *" $(basename "$t" .sh) "* ]] || tests+=("$t")
done
jobs=${TEST_JOBS:-$(($(nproc) + 1))}
[ -n "${TEST_JOBS:-}" ] || [ "$jobs" -ge 3 ] || jobs=3
case $jobs in
'' | 0 | *[!0-9]*) echo "TEST_JOBS: a number of tests at once, 1 or more" >&2; exit 2 ;;
esac

out_dir=$(mktemp -d /tmp/hsmagent-runs.XXXXXX)
# Once for every test (lib.sh would otherwise do it in each).
# shellcheck source=python_direct.sh
. "$here/python_direct.sh"
python_direct "$out_dir/bin"
running=()
declare -A name_of
# On an interrupt, stop the tests still running: each stops its own
# services from its EXIT trap when timeout's TERM reaches it.
stop_all() {
	local p
	# timeout passes the TERM on to the test.
	for p in "${running[@]+"${running[@]}"}"; do pkill -TERM -P "$p"; done
	wait
	rm -rf "$out_dir"
}
trap 'stop_all; exit 130' INT TERM
trap 'rm -rf "$out_dir"' EXIT

# report NAME: the result line of a test that has ended.
report() {
	local name=$1 rc out skip ms
	rc=$(cat "$out_dir/$name.rc")
	ms=$(cat "$out_dir/$name.ms")
	out=$(cat "$out_dir/$name.out")
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
		printf 'ok    %-32s %6d ms\n' "$name" "$ms"
		[ -n "${VERBOSE:-}" ] && printf '%s\n' "$out"
	else
		failed=$((failed + 1))
		names+=("$name")
		printf 'FAIL  %-32s %6d ms (exit %d)\n' "$name" "$ms" "$rc"
		printf '%s\n' "$out" | sed 's/^/      /'
	fi
}

# start TEST: in the background; its pid goes into running.
start() {
	local t=$1 name
	name=$(basename "$t" .sh)
	(
		start=$(date +%s%N)
		rc=0
		timeout 300 bash "$t" >"$out_dir/$name.out" 2>&1 </dev/null || rc=$?
		echo $((($(date +%s%N) - start) / 1000000)) >"$out_dir/$name.ms"
		echo "$rc" >"$out_dir/$name.rc"
	) &
	running+=("$!")
	name_of[$!]=$name
}

# reap: wait for any running test to end and report it.
reap() {
	local done_pid name p rest=()
	wait -n -p done_pid "${running[@]}"
	if [ -z "${done_pid:-}" ] || [ -z "${name_of[$done_pid]:-}" ]; then
		echo "run-integration: lost track of the running tests" >&2
		stop_all
		exit 2
	fi
	name=${name_of[$done_pid]}
	for p in "${running[@]}"; do
		[ "$p" = "$done_pid" ] || rest+=("$p")
	done
	running=("${rest[@]+"${rest[@]}"}")
	report "$name"
}

for t in "${tests[@]}"; do
	while [ ${#running[@]} -ge "$jobs" ]; do reap; done
	start "$t"
done
while [ ${#running[@]} -gt 0 ]; do reap; done
[ ${#skipped[@]} -gt 0 ] && echo "skipped (see the reasons above): ${skipped[*]}"
[ ${#names[@]} -gt 0 ] && echo "failed: ${names[*]}"
echo "integration: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
