#!/usr/bin/env bash
# run-targets.sh JOBS SECONDS TARGET... - `make fuzz`: every libFuzzer
# target in build-fuzz/ for SECONDS, JOBS at once. A fuzzer uses one
# CPU, so one at a time leaves the others idle for the whole run.
#
# Each target starts from a fresh copy of its seed corpus
# (fuzz/corpus/NAME, the name without "fuzz_"). Results are printed in
# the order the targets were named, whatever order they end in: the
# target, then libFuzzer's final coverage and execution count. A target
# that crashes, leaks or times out ends the run with the tail of its log
# (build-fuzz/TARGET.log) and exit 1, after the others have ended.
set -u
jobs=${1:?JOBS}
secs=${2:?SECONDS}
shift 2
case $jobs$secs in *[!0-9]*) echo "run-targets: JOBS and SECONDS are numbers" >&2; exit 2 ;; esac
[ "$jobs" -ge 1 ] || jobs=1
cd "$(dirname "$0")/.." || exit 2

declare -A pid_of
running=0
# On an interrupt, no fuzzer is left running.
stop_all() {
	local p
	for p in "${pid_of[@]}"; do pkill -TERM -P "$p"; kill "$p"; done 2>/dev/null
	wait
}
trap 'stop_all; exit 130' INT TERM

start() {	# TARGET
	local t=$1 c=${1#fuzz_}
	rm -rf "build-fuzz/corpus-$c"
	mkdir -p "build-fuzz/corpus-$c"
	cp fuzz/corpus/"$c"/* "build-fuzz/corpus-$c/" 2>/dev/null
	rm -f "build-fuzz/$t.rc"
	(
		"build-fuzz/$t" -max_total_time="$secs" -print_final_stats=1 \
			"build-fuzz/corpus-$c" 2>"build-fuzz/$t.log" </dev/null
		echo $? >"build-fuzz/$t.rc"
	) &
	pid_of[$t]=$!
	running=$((running + 1))
}

for t in "$@"; do
	[ -x "build-fuzz/$t" ] || { echo "run-targets: no build-fuzz/$t" >&2; exit 2; }
	while [ "$running" -ge "$jobs" ]; do
		wait -n
		running=$((running - 1))
	done
	start "$t"
done
wait

bad=0
for t in "$@"; do
	echo "fuzz: $t for ${secs}s"
	rc=$(cat "build-fuzz/$t.rc" 2>/dev/null || echo lost)
	if [ "$rc" != 0 ]; then
		tail -40 "build-fuzz/$t.log"
		echo "fuzz: $t failed (exit $rc)"
		bad=1
		continue
	fi
	grep -E 'stat::number_of_executed_units|cov:' "build-fuzz/$t.log" | tail -2
done
exit "$bad"
