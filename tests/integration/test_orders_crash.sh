# test_orders_crash.sh - orders survive the agent being killed: once
# after the order is committed and sent but before the CA answers, once
# while the order is pending at the CA. After each restart the order
# completes and the CA saw exactly one enrollment for it. Also: enroll
# --wait shows progress and writes the certificate. Uses the test child
# (build/tests/hsmagent-connector-test) with the test CA connector and
# tests/fakeca/fake_ca.py, which demands the HSM-held client certificate.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
TEST_CHILD=$BUILD/tests/hsmagent-connector-test
[ -x "$TEST_CHILD" ] || fail "no $TEST_CHILD (make test builds it)"

port=$(free_port)
FAKECA=
start_ca() {	# extra fake_ca.py options
	python3 "$ROOT/tests/fakeca/fake_ca.py" --port "$port" \
		--cert "$SERVER_CRT" --key "$SERVER_KEY" --client-ca "$CA_CRT" \
		--ca-cert "$CA_CRT" --ca-key "$FX/ca.key" --stats "$T/ca.json" \
		--expect-cn hsmagent-client-ec "$@" >"$T/ca.out" 2>>"$T/ca.err" &
	FAKECA=$!
	PIDS+=("$FAKECA")
	wait_port "$port"
}
stop_ca() {
	kill "$FAKECA" 2>/dev/null || true
	wait "$FAKECA" 2>/dev/null || true
}

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

# 1. Killed after the commit, while the CA holds its answer.
start_ca --hold-seconds 3
start_agent
csr one
o1=$(enroll one)
wait_posts "$o1"
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null || true
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

kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit log does not verify after two crashes"
for ev in order.submit ca.result ca.revoke order.revoke sign.granted; do
	grep -q "\"event\":\"$ev\"" "$T/state/audit.log" || fail "no $ev record"
done
note "audit log intact across two SIGKILLs"
