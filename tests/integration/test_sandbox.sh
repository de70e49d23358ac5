# test_sandbox.sh - the running child is confined (Seccomp: 2,
# NoNewPrivs: 1, unprivileged uid), holds no copy of the PIN in any
# readable mapping, and the sandbox self-test sees SIGSYS for openat
# and execve, after which a fresh child serves the next request.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
start_sserver "$port" "$T/server.log"
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"

# 1. A running daemon: inspect its child from outside.
"$HSMAGENTD" -d -c "$T/a.conf" 2>"$T/daemon.err" &
agent=$!
PIDS+=("$agent")
child=
for _ in $(seq 1 100); do
	if grep -q 'sandboxed:' "$T/daemon.err" 2>/dev/null; then
		child=$(pgrep -P "$agent" | head -n1 || true)
		[ -n "$child" ] && break
	fi
	sleep 0.05
done
[ -n "$child" ] || { cat "$T/daemon.err" >&2; fail "no sandboxed child"; }
st=/proc/$child/status
expect_in "$st" '^Seccomp:[[:space:]]+2$' "child seccomp mode"
expect_in "$st" '^NoNewPrivs:[[:space:]]+1$' "child no_new_privs"
nobody=$(id -u nobody)
expect_in "$st" "^Uid:[[:space:]]+$nobody[[:space:]]+$nobody[[:space:]]+$nobody[[:space:]]+$nobody$" "child uid"
[ "$(readlink /proc/"$child"/root)" = "$T/empty" ] || fail "child is not chrooted to $T/empty"
note "child $child: Seccomp 2, NoNewPrivs 1, uid $nobody, chrooted"

# Drive a probe first so the child has done real work before the scan.
kill -USR1 "$agent"
for _ in $(seq 1 100); do
	grep -q 'probe: https://localhost:[0-9]*/: HTTP 200' "$T/daemon.err" && break
	sleep 0.05
done
expect_in "$T/daemon.err" 'probe: https://localhost:[0-9]+/: HTTP 200 over TLSv1.3' "SIGUSR1 probe"

python3 "$ROOT/tests/integration/memscan.py" "$child" "$PIN_FILE" >"$T/scan" ||
	{ cat "$T/scan" >&2; fail "PIN found in the child's memory"; }
expect_in "$T/scan" '^scanned [0-9]+ mappings, [0-9]+ bytes: no match$' "memory scan"
# Only a sanitizer build may have mappings too large to read (its shadow).
if ! nm "$CONNECTOR" 2>/dev/null | grep ' __asan_init$' >/dev/null; then
	expect_in "$T/scan" '^skipped 0 mappings' "whole memory scanned"
fi
# A scanner that cannot fail proves nothing: run it on a process that
# certainly holds the PIN and require a match.
python3 -c "import sys,time; p=open(sys.argv[1]).read(); print('ready', flush=True); time.sleep(30)" "$PIN_FILE" >"$T/holder.out" &
holder=$!
PIDS+=("$holder")
for _ in $(seq 1 100); do grep -q ready "$T/holder.out" && break; sleep 0.05; done
if python3 "$ROOT/tests/integration/memscan.py" "$holder" "$PIN_FILE" >/dev/null; then
	fail "memory scanner does not find a PIN that is there"
fi
note "child memory: no PIN (scanner proven on a process holding it)"
kill "$agent"
wait "$agent" 2>/dev/null || true

# 2. The self-test: forbidden calls kill the child; a fresh one serves.
"$HSMAGENTD" -P -S -c "$T/a.conf" >"$T/st.out" 2>"$T/st.err" ||
	{ cat "$T/st.out" "$T/st.err" >&2; fail "self-test run failed"; }
expect_in "$T/st.out" '^sandbox self-test: openat: child killed by SIGSYS: ok$' "openat"
expect_in "$T/st.out" '^sandbox self-test: execve: child killed by SIGSYS: ok$' "execve"
expect_in "$T/st.out" '^3 probes succeeded, 0 steps failed;' "fresh child serves"
expect_in "$T/st.err" 'killed by SIGSYS: the sandbox stopped a forbidden system call' "parent reports SIGSYS"
expect_in "$T/st.err" 'sandbox kills 2' "SIGSYS counted"
note "self-test: openat and execve end the child with SIGSYS; the next child serves"
