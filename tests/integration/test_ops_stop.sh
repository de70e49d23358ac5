# test_ops_stop.sh - the agent under a service manager: sd_notify by
# hand (READY=1, RELOADING=1, STOPPING=1 and STATUS= reach a stand-in
# NOTIFY_SOCKET); SIGTERM lets the CA call in flight finish (its answer
# is stored before exit, the CA sees the order once) and a CA that holds
# its answer past shutdown_timeout does not hold up the exit (audited,
# the order resumes at the next start); socket activation (LISTEN_FDS)
# serves on the inherited socket, leaves it in place on exit, and a
# socket bound elsewhere is refused; under journald each line carries
# its priority. Test child + fake_ca.py.
. "$(dirname "$0")/lib.sh"

TEST_CHILD=$BUILD/tests/hsmagent-connector-test
[ -x "$TEST_CHILD" ] || fail "no $TEST_CHILD (make test builds it)"
port=$(free_port)
SOCK=$T/agent.sock
CLI=$BUILD/hsmagent
cli() { "$CLI" --socket "$SOCK" "$@"; }
posts() {	# ORDER: how many enrollments the CA saw for it
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["posts"].get(sys.argv[2], 0))' "$T/ca.json" "$1" 2>/dev/null || echo 0
}
wait_posts() {	# ORDER
	for _ in $(seq 1 100); do [ "$(posts "$1")" -ge 1 ] && return 0; sleep 0.05; done
	fail "the CA never saw order $1"
}

printf '%s\n' "[rule lab]" "callers = user:root" "connectors = lab" \
	"profiles = server" "san_dns = *.lab.example.com" "max_validity_days = 30" \
	"key_types = ec:p256" >"$T/policy.conf"
CONNECTOR_OVERRIDE=$TEST_CHILD write_config "$T/a.conf" "$EC_KEY_URI" \
	"$CLIENT_EC_CRT" "$port" "shutdown_timeout = 20"
printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" "[state]" \
	"dir = $T/state" "[connector lab]" "type = testca" \
	"url = https://localhost:$port/" "deadline = 120" >>"$T/a.conf"

python3 "$ROOT/tests/tools/notify_listen.py" "$T/notify.sock" "$T/notify.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done

AGENT=
run_agent() {	# [wrapper...]: the agent in the background, NOTIFY_SOCKET set
	NOTIFY_SOCKET=$T/notify.sock "$@" "$HSMAGENTD" -c "$T/a.conf" 2>>"$T/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
}
wait_sock() {
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || { tail -20 "$T/agent.err" >&2; fail "agent did not start"; }
}
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1.lab.example.com" \
		-addext "subjectAltName=DNS:$1.lab.example.com" 2>/dev/null
}
enroll() {	# NAME: the order id (not waiting)
	local out rc=0
	out=$(cli --json enroll --connector lab --profile server --csr "$T/$1.csr") || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 10 ] || fail "enroll $1: exit $rc: $out"
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order"]["id"])' "$out"
}
state() {	# ORDER
	cli --json status "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["order"]["state"])'
}
stopped_within() {	# SECONDS: waits for the agent to exit
	local i
	for i in $(seq 1 $(($1 * 10))); do
		kill -0 "$AGENT" 2>/dev/null || { wait "$AGENT" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	fail "the agent did not exit within $1 s of SIGTERM"
}

# 1. Ready, reload and stop notifications; SIGTERM with a CA call in
# flight: its answer is stored before the agent exits. The CA holds it
# 6 s: on a loaded machine (tests run side by side) seeing the POST
# and sending SIGTERM took more than the 2 s it held once.
start_fakeca --hold-seconds 6
run_agent
wait_sock
for _ in $(seq 1 100); do grep -q 'READY=1' "$T/notify.log" 2>/dev/null && break; sleep 0.05; done
expect_in "$T/notify.log" '^READY=1\|STATUS=serving\|MAINPID=[0-9]+$' "READY=1 with STATUS and MAINPID"
kill -HUP "$AGENT"
for _ in $(seq 1 100); do grep -q 'STATUS=reloaded' "$T/notify.log" && break; sleep 0.05; done
expect_in "$T/notify.log" '^RELOADING=1\|STATUS=reloading\|MONOTONIC_USEC=[0-9]+$' "RELOADING=1"
expect_in "$T/notify.log" '^READY=1\|STATUS=reloaded' "READY=1 after the reload"
csr one
o1=$(enroll one)
wait_posts "$o1"
kill -TERM "$AGENT"
stopped_within 20
expect_in "$T/notify.log" '^STOPPING=1\|STATUS=stopping: 1 jobs in flight' "STOPPING=1"
expect_in "$T/agent.err" 'event=agent.stopping stopping: 1 jobs in flight' "drain logged"
expect_in "$T/agent.err" "order $o1: issued" "the answer in flight stored before exit"
[ ! -e "$SOCK" ] || fail "the agent left its socket behind"
tail -n 1 "$T/state/audit.log" | grep -q '"event":"agent.stop"' || fail "agent.stop is not the last record"
"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit chain after SIGTERM"
note "READY/RELOADING/STOPPING sent; SIGTERM with a CA call in flight: order $o1 issued before exit"

# 2. A CA that holds its answer past shutdown_timeout: the agent goes
# at the deadline, says so, and the order completes after a restart.
stop_fakeca
start_fakeca --hold-seconds 6
sed -i 's/^shutdown_timeout = 20$/shutdown_timeout = 1/' "$T/a.conf"
run_agent
wait_sock
csr two
o2=$(enroll two)
wait_posts "$o2"
kill -TERM "$AGENT"
stopped_within 15
expect_in "$T/agent.err" 'event=agent.stopping 1 jobs still in flight at the deadline' "deadline logged"
grep '"event":"agent.drain"' "$T/state/audit.log" | grep -q '"outcome":"timeout"' || fail "deadline not audited"
sed -i 's/^shutdown_timeout = 1$/shutdown_timeout = 20/' "$T/a.conf"
run_agent
wait_sock
for _ in $(seq 1 200); do [ "$(state "$o2")" = issued ] && break; sleep 0.1; done
[ "$(state "$o2")" = issued ] || fail "order $o2 not issued after the restart: $(state "$o2")"
[ "$(posts "$o2")" -eq 1 ] || fail "order $o2: the CA saw $(posts "$o2") enrollments"
kill -TERM "$AGENT"
stopped_within 20
note "CA holding past shutdown_timeout: exit at the deadline, audited; $o2 issued after restart, one enrollment"

# 3. Socket activation: the agent takes fd 3 (LISTEN_PID is its pid).
activate() {	# PATH: a listening socket at PATH as fd 3, then exec
	python3 -c '
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path); s.listen(16)
os.dup2(s.fileno(), 3); os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"; os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
' "$1" "$HSMAGENTD" -c "$T/a.conf" 2>>"$T/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
}
stop_fakeca
start_fakeca
activate "$SOCK"
for _ in $(seq 1 100); do health_json >/dev/null 2>&1 && break; sleep 0.1; done
health_json >/dev/null || fail "no answer on the inherited socket"
expect_in "$T/agent.err" "api: listening on $SOCK \(socket activation\)" "activation logged"
csr three
o3=$(enroll three)
for _ in $(seq 1 100); do [ "$(state "$o3")" = issued ] && break; sleep 0.1; done
[ "$(state "$o3")" = issued ] || fail "order $o3 through the inherited socket"
kill -TERM "$AGENT"
stopped_within 20
[ -S "$SOCK" ] || fail "the inherited socket was removed (it is systemd's)"
activate "$T/other.sock"
stopped_within 10
expect_in "$T/agent.err" "socket activation: the socket is $T/other.sock, \[api\] socket is $SOCK" "mismatch refused"
note "socket activation: served on fd 3, socket left for systemd; a socket elsewhere refused"

# 4. Under journald (JOURNAL_STREAM names stderr): "<N>" priorities.
: >"$T/journal.err"
rm -f "$SOCK"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.err") "$HSMAGENTD" -c "$T/a.conf" 2>>"$T/journal.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_sock
for _ in $(seq 1 100); do grep -q 'event=agent.ready' "$T/journal.err" && break; sleep 0.05; done
kill -TERM "$AGENT"
stopped_within 20
expect_in "$T/journal.err" '^<6>info: event=agent.ready ' "journald priority on the ready line"
expect_not_in "$T/journal.err" '^hsmagentd\[' "the stderr prefix under journald"
note "under journald: every line carries its priority (<6>info: event=agent.ready ...)"
echo "test_ops_stop: ok"
