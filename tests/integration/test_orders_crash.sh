# test_orders_crash.sh - process faults: orders survive the agent being
# killed (after the order is committed and sent but before the CA
# answers; while it is pending at the CA; in the middle of busy
# auditing) and the child being killed at each step of a job (waiting
# for a signature mid-handshake, reading the response, between polls) or
# stopped (a hung child: its job's deadline passes, it is replaced).
# After each the order completes, the CA saw exactly one enrollment for
# it, and the audit chain verifies. Also: enroll --wait shows progress
# and writes the certificate. Uses the test child
# (build/tests/hsmagent-connector-test) with the test CA connector and
# tests/fakeca/fake_ca.py, which demands the HSM-held client certificate.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
TEST_CHILD=$BUILD/tests/hsmagent-connector-test
[ -x "$TEST_CHILD" ] || fail "no $TEST_CHILD (make test builds it)"

port=$(free_port)
start_ca() { start_fakeca --expect-cn hsmagent-client-ec "$@"; }
stop_ca() { stop_fakeca; }

cat >"$T/policy.conf" <<EOF
[rule lab]
callers = user:root
connectors = lab
profiles = server
san_dns = *.lab.example.com
max_validity_days = 30
key_types = ec:p256
EOF
CONNECTOR_OVERRIDE=$TEST_CHILD write_config "$T/a.conf" "$EC_KEY_URI" \
	"$CLIENT_EC_CRT" "$port"
cat >>"$T/a.conf" <<EOF
[api]
socket = $SOCK
policy = $T/policy.conf
[state]
dir = $T/state
[connector lab]
type = testca
url = https://localhost:$port/
deadline = 120
EOF

AGENT=
start_agent() {
	"$HSMAGENTD" -c "$T/a.conf" 2>>"$T/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || { tail -20 "$T/agent.err" >&2; fail "agent did not start"; }
}
cli() { "$CLI" --socket "$SOCK" "$@"; }

csr() {	# NAME
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1.lab.example.com" \
		-addext "subjectAltName=DNS:$1.lab.example.com" 2>/dev/null
}

enroll() {	# NAME: prints the order id
	local out rc
	set +e
	out=$(cli --json enroll --connector lab --profile server --csr "$T/$1.csr")
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || [ "$rc" -eq 10 ] || fail "enroll $1: exit $rc: $out"
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order"]["id"])' "$out"
}

posts() {	# ORDER: how many enrollments the CA saw for it
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["posts"].get(sys.argv[2], 0))' "$T/ca.json" "$1"
}

wait_posts() {	# ORDER
	for _ in $(seq 1 100); do [ "$(posts "$1")" -ge 1 ] && return 0; sleep 0.05; done
	fail "the CA never saw order $1"
}

wait_state() {	# ORDER STATE SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		cli --json status "$1" >"$T/st.json" 2>&1 || true
		grep "\"state\":\"$2\"" "$T/st.json" >/dev/null && return 0
		sleep 0.1
	done
	cli status "$1" >&2 || true
	tail -20 "$T/agent.err" >&2
	fail "order $1 did not reach $2 within $3 s"
}

# 1. Killed after the commit, while the CA holds its answer (6 s: long
# enough on a machine busy with other tests that the kill comes first).
start_ca --hold-seconds 6
start_agent
csr one
o1=$(enroll one)
wait_posts "$o1"
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null || true
! grep '"event":"ca.result"' "$T/state/audit.log" | grep -q "\"target\":\"$o1\"" ||
	fail "the CA's answer for $o1 came before the kill: nothing was outstanding"
grep -q "\"event\":\"order.submit\",\"outcome\":\"intent\"" "$T/state/audit.log" ||
	grep -q '"outcome":"intent"' "$T/state/audit.log" || fail "no submit intent audited"
start_agent
wait_state "$o1" issued 20
[ "$(posts "$o1")" -eq 1 ] || fail "order $o1: the CA saw $(posts "$o1") enrollments"
note "killed with the CA's answer outstanding: order $o1 issued after restart, CA saw 1 enrollment"

# 2. Killed while the order is pending at the CA.
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
stop_ca
start_ca --pending-seconds 4
start_agent
csr two
o2=$(enroll two)
wait_state "$o2" pending 10
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null || true
start_agent
wait_state "$o2" issued 30
[ "$(posts "$o2")" -eq 1 ] || fail "order $o2: the CA saw $(posts "$o2") enrollments"
note "killed while pending: order $o2 issued after restart, CA saw 1 enrollment"

# 3. enroll --wait: progress on stderr, the certificate written.
csr three
set +e
cli enroll --connector lab --profile server --csr "$T/three.csr" --wait \
	--out "$T/three.crt" --chain-out "$T/three-chain.pem" 2>"$T/wait.err" >"$T/wait.out"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$T/wait.err" "$T/wait.out" >&2; fail "enroll --wait: exit $rc"; }
expect_in "$T/wait.err" 'order [0-9a-f]{16}: (submitting|pending)' "progress on stderr"
openssl verify -CAfile "$CA_CRT" "$T/three.crt" >/dev/null || fail "issued certificate does not verify"
[ "$(openssl x509 -in "$T/three.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
  "$(openssl pkey -in "$T/three.key" -pubout -outform DER | sha256sum)" ] ||
	fail "issued certificate is not for the CSR's key"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["client_cns"]==["hsmagent-client-ec"] else 1)' "$T/ca.json" ||
	fail "the CA saw another client certificate than the HSM key's"
note "enroll --wait: progress shown, certificate for the CSR's key, mTLS with the HSM key"

# 4. Revocation by serial, with an RFC 5280 reason, through the CA.
serial=$(openssl x509 -in "$T/three.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
cli revoke --serial "$serial" --reason keyCompromise >"$T/revoke.out" 2>&1 ||
	{ cat "$T/revoke.out" >&2; fail "revoke by serial"; }
expect_in "$T/revoke.out" 'revoked' "revoke reply"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if list(d["revoked"].values())==[1] else 1)' "$T/ca.json" ||
	fail "the CA did not record a keyCompromise revocation"
set +e
cli revoke --serial "$serial" 2>"$T/revoke2.err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "revoking twice: exit $rc"
expect_in "$T/revoke2.err" 'conflict' "second revocation refused"
note "revoked by serial with reason keyCompromise; the CA recorded it; twice is a conflict"

# 5. The child killed at each step of a job.
child_of() { pgrep -P "$AGENT" | head -n1; }
wait_child() {
	for _ in $(seq 1 200); do
		health_json 2>/dev/null | grep '"connector_child_ready":true' >/dev/null && return 0
		sleep 0.05
	done
	fail "no connector child"
}
verify_audit() {
	"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit log does not verify after $1"
}
# a) Mid-handshake, waiting for a signature: the parent is frozen as
#    soon as the job is out (enroll has answered), so the child's
#    signature request stays unanswered; no new sign.granted record
#    proves it was caught there. Tried a few times: it is a race.
granted() { grep -c '"event":"sign.granted"' "$T/state/audit.log" || true; }
wait_child
caught=0
for try in 1 2 3 4 5 6; do
	csr "four-$try"
	g0=$(granted)
	o4=$(enroll "four-$try")
	kill -STOP "$AGENT"
	sleep 0.3
	if [ "$(granted)" -eq "$g0" ]; then
		kill -9 "$(child_of)"
		kill -CONT "$AGENT"
		caught=1
		break
	fi
	kill -CONT "$AGENT"
	wait_state "$o4" issued 30
done
[ "$caught" -eq 1 ] || fail "never caught the child waiting for a signature"
wait_state "$o4" issued 30
[ "$(posts "$o4")" -eq 1 ] || fail "order $o4: the CA saw $(posts "$o4") enrollments"
verify_audit "a child killed mid-handshake"
note "child SIGKILLed mid-handshake, its signature request unanswered (try $try): order $o4 issued, CA saw 1 enrollment"

# b) Reading the response: the CA holds its answer, the child dies.
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
stop_ca
start_ca --hold-seconds 6
start_agent
wait_child
csr five
o5=$(enroll five)
wait_posts "$o5"
kill -9 "$(child_of)"
wait_state "$o5" issued 30
[ "$(posts "$o5")" -eq 1 ] || fail "order $o5: the CA saw $(posts "$o5") enrollments"
verify_audit "a child killed reading the response"
note "child SIGKILLed while reading the CA's answer: order $o5 found by reference and issued, 1 enrollment"

# c) Between polls: the order is pending at the CA.
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
stop_ca
start_ca --pending-seconds 4
start_agent
wait_child
csr six
o6=$(enroll six)
wait_state "$o6" pending 10
kill -9 "$(child_of)"
wait_state "$o6" issued 30
[ "$(posts "$o6")" -eq 1 ] || fail "order $o6: the CA saw $(posts "$o6") enrollments"
verify_audit "a child killed between polls"
note "child SIGKILLed between polls: order $o6 issued, 1 enrollment"

# d) A hung child (SIGSTOP): its job passes the deadline, it is replaced.
wait_child
c=$(child_of)
kill -STOP "$c"
csr seven
o7=$(enroll seven)
wait_state "$o7" issued 60
[ "$(posts "$o7")" -eq 1 ] || fail "order $o7: the CA saw $(posts "$o7") enrollments"
expect_in "$T/agent.err" "child hung" "hung child reported"
kill -0 "$c" 2>/dev/null && fail "the hung child $c is still there"
verify_audit "a hung child"
note "child SIGSTOPped: killed at its job's deadline, replaced; order $o7 issued, 1 enrollment"

# 6. The agent killed while it is busy writing audit records.
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
stop_ca
start_ca
ids=()
for round in 1 2 3; do
	start_agent
	# Not during the login: SoftHSM rewrites its token file then, and a
	# SIGKILL in the middle can leave the (shared test) token unreadable.
	wait_child
	clients=()
	for i in $(seq 1 8); do
		csr "b$round-$i"
		cli --json enroll --connector lab --profile server --csr "$T/b$round-$i.csr" \
			>"$T/b$round-$i.out" 2>&1 &
		clients+=($!)
	done
	sleep "0.$((RANDOM % 4 + 1))"
	kill -9 "$AGENT"
	wait "$AGENT" 2>/dev/null || true
	for p in "${clients[@]}"; do wait "$p" 2>/dev/null || true; done
	verify_audit "SIGKILL during burst $round"
	for i in $(seq 1 8); do
		id=$(python3 -c 'import json,sys
try: print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["order"]["id"])
except Exception: pass' "$T/b$round-$i.out")
		[ -n "$id" ] && ids+=("$id")
	done
done
start_agent
for id in "${ids[@]}"; do
	wait_state "$id" issued 60
	[ "$(posts "$id")" -eq 1 ] || fail "order $id: the CA saw $(posts "$id") enrollments"
done
note "3 SIGKILLs in bursts of 8 requests: the chain verifies each time; all ${#ids[@]} accepted orders issued once"

kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit log does not verify after two crashes"
for ev in order.submit ca.result ca.revoke order.revoke sign.granted; do
	grep -q "\"event\":\"$ev\"" "$T/state/audit.log" || fail "no $ev record"
done
# Records before state, across every kill above: each order's decision
# before it was submitted, each outcome on record.
python3 "$ROOT/tests/integration/records_check.py" "$T/state/orders.db" \
	"$T/state/audit.log" >"$T/records.out" || fail "orders without their records (above)"
note "audit log intact across two SIGKILLs; $(cat "$T/records.out")"
