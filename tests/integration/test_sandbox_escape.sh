# test_sandbox_escape.sh - breakout attempts from inside the real
# sandboxed child (the test child's "sandbox-probe" connector, compiled
# into test builds only): open a file, exec, an AF_UNIX socket, a TCP
# socket, an MPTCP socket, ptrace the parent, write to the state
# directory; connect to another port, and to another address on the
# CA's port. Each is killed (the parent reports it, and a new child
# serves the next request) or goes nowhere: no listener sees anything.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
CONNECTOR_OVERRIDE=$BUILD/tests/hsmagent-connector-test
ca_port=$(free_port)
other_port=$(free_port)
# Listeners on another port, and on another address with the CA's
# port: each writes a line for every connection it accepts, so a connect
# that got through would show.
listen_log() {	# ADDR PORT LOG
	python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
while True:
    c, _ = s.accept(); open(sys.argv[3], "a").write("connected\n"); c.close()' "$@" &
	PIDS+=($!)
}
listen_log 127.0.0.1 "$other_port" "$T/other.log"
listen_log 127.0.0.2 "$ca_port" "$T/otherhost.log"
wait_port "$other_port"
sleep 0.2
: >"$T/other.log"	# wait_port's own connection

probes="open-file exec unix-socket tcp-socket mptcp-socket ptrace-parent write-state"
cat >"$T/policy.conf" <<EOF
[rule p]
callers = user:root
connectors = probe
profiles = ${probes// /, }, connect-lo$other_port, connect-two$ca_port
san_dns = *.p.example.com
max_validity_days = 30
key_types = ec:p256
EOF
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$ca_port"
cat >>"$T/a.conf" <<EOF
[api]
socket = $SOCK
policy = $T/policy.conf
[state]
dir = $T/state
[connector probe]
type = sandbox-probe
url = https://localhost:$ca_port$T/state
EOF
start_agent
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -out "$T/p.csr" -subj "/CN=x.p.example.com" \
	-addext "subjectAltName=DNS:x.p.example.com" 2>/dev/null

kills() {
	"$CLI" --socket "$SOCK" metrics | sed -n 's/^hsmagent_sandbox_kills_total \([0-9]*\)$/\1/p'
}
child_ready() {
	health_json 2>/dev/null | grep '"connector_child_ready":true' >/dev/null
}
for _ in $(seq 1 100); do child_ready && break; sleep 0.05; done

for p in $probes; do
	before=$(kills)
	"$CLI" --socket "$SOCK" enroll --connector probe --profile "$p" --csr "$T/p.csr" \
		>"$T/$p.out" 2>&1 || true
	killed=0
	for _ in $(seq 1 200); do
		if [ "$(kills)" -gt "$before" ]; then killed=1; break; fi
		sleep 0.05
	done
	[ "$killed" -eq 1 ] || { tail -5 "$T/agent.err" >&2; fail "$p: the child was not killed"; }
	if grep -q "NOT stopped" "$T/agent.err"; then
		grep "NOT stopped" "$T/agent.err" >&2
		fail "$p: the attempt got through"
	fi
	# A new child comes (after the restart backoff) and serves again.
	back=0
	for _ in $(seq 1 400); do child_ready && { back=1; break; }; sleep 0.05; done
	[ "$back" -eq 1 ] || fail "$p: no new child after the kill"
	note "$p: child killed by seccomp (SIGSYS), reported, replaced (at ${SECONDS} s)"
done
[ ! -e "$T/state/probe" ] || fail "the child wrote into the state directory"
[ "$(grep -c '"event":"sandbox.violation"' "$T/state/audit.log")" -ge 5 ] ||
	fail "not every kill was audited as sandbox.violation"
grep -c 'killed by signal 31\|SIGSYS' "$T/agent.err" >/dev/null || fail "the log does not name SIGSYS"

# connect() from inside: to another port, and to another address on the
# CA's port. The child holds no socket of its own to try with, and its
# connect never reaches the kernel: rejected with the reason, and the
# listeners saw nothing.
for target in "lo$other_port:127.0.0.1:$other_port" "two$ca_port:127.0.0.2:$ca_port"; do
	IFS=: read -r name addr tport <<<"$target"
	set +e
	"$CLI" --socket "$SOCK" enroll --connector probe --profile "connect-$name" \
		--csr "$T/p.csr" --wait >"$T/connect.out" 2>&1
	rc=$?
	set -e
	[ "$rc" -eq 12 ] || { cat "$T/connect.out" >&2; fail "connect-$name: exit $rc, expected 12"; }
	expect_in "$T/agent.err" "sandbox probe: connect to $addr port $tport never reached the kernel" \
		"connect to $addr:$tport refused"
	expect_not_in "$T/agent.err" "NOT stopped" "connect to $addr:$tport got through"
done
sleep 0.5
[ ! -s "$T/other.log" ] && [ ! -s "$T/otherhost.log" ] || fail "a listener saw a connection from the child"
note "connect to another port and to another host on the CA's port: never reached the kernel, nothing connected"
