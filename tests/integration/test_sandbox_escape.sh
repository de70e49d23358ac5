# test_sandbox_escape.sh - breakout attempts from inside the real
# sandboxed child (the test child's "sandbox-probe" connector, compiled
# into test builds only): open a file, exec, an AF_UNIX socket, ptrace
# the parent, write to the state directory, connect to a port that is
# not the CA's. Each is killed or refused, the parent reports it, and a
# new child serves the next request.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
CONNECTOR_OVERRIDE=$BUILD/tests/hsmagent-connector-test
ca_port=$(free_port)
other_port=$(free_port)
# Something listens on the other port: a connect that got through would
# succeed, so only the sandbox can make it fail.
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(8); time.sleep(600)' \
	"$other_port" &
PIDS+=($!)
wait_port "$other_port"

probes="open-file exec unix-socket ptrace-parent write-state"
cat >"$T/policy.conf" <<EOF
[rule p]
callers = user:root
connectors = probe
profiles = ${probes// /, }, connect-$other_port
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

# Another port: Landlock's network rules refuse it where the kernel has them.
abi=$(sed -n 's/.*landlock abi \([0-9]*\).*/\1/p' "$T/agent.err" | tail -n1)
set +e
"$CLI" --socket "$SOCK" enroll --connector probe --profile "connect-$other_port" \
	--csr "$T/p.csr" --wait >"$T/connect.out" 2>&1
rc=$?
set -e
if [ "${abi:-0}" -ge 4 ]; then
	[ "$rc" -eq 12 ] || { cat "$T/connect.out" >&2; fail "connect to another port: exit $rc, expected 12"; }
	"$CLI" --socket "$SOCK" list >"$T/list.out"
	expect_in "$T/list.out" "connect to port $other_port refused by the sandbox" "connect refused"
	expect_in "$T/agent.err" "sandbox probe: connect to port $other_port refused" "refusal logged by the parent"
	note "connect to port $other_port (not the CA's): refused by Landlock ABI $abi, reported"
else
	note "connect to another port: not refused (Landlock ABI ${abi:-none} has no network rules; seccomp still limits sockets to TCP)"
fi
