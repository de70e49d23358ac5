# test_sectigo.sh - the Sectigo Certificate Manager connector end to end,
# in both authentication modes: hsmagent enroll/revoke -> parent ->
# sandboxed child -> tests/fakeca/fake_scm.py. Certificate mode must
# present the HSM-held client certificate and never a password; password
# mode must keep the password out of the logs, the audit log, the state
# and the child's memory between requests.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
port=$(free_port)
# A password that occurs nowhere else, so that any copy found is a leak.
umask 077
echo "scm-pw-$(openssl rand -hex 16)" >"$T/scm.pw"
echo "wrong-password-$(openssl rand -hex 8)" >"$T/bad.pw"
secret_file "$T/scm.pw" "$T/bad.pw"
umask 022
python3 "$ROOT/tests/fakeca/fake_scm.py" --port "$port" --cert "$SERVER_CRT" \
	--key "$SERVER_KEY" --client-ca "$CA_CRT" --ca-cert "$CA_CRT" \
	--ca-key "$FX/ca.key" --stats "$T/scm.json" --customer-uri acme \
	--login api-bot --password-file "$T/scm.pw" --org-id 1234 \
	2>"$T/scm.err" &
PIDS+=($!)
wait_port "$port"

cat >"$T/policy.conf" <<EOF
[rule s]
callers = user:root
connectors = scm-cert, scm-pw, scm-badpw
profiles = 100, 101, 102, 103, 104, 105, 106, 107, 108, 999
san_dns = *.s.example.com
max_validity_days = 365
key_types = ec:p256
EOF
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
common="customer_uri = acme
login = api-bot
org_id = 1234
poll_max_wait_seconds = 120"
cat >>"$T/a.conf" <<EOF
[api]
socket = $SOCK
policy = $T/policy.conf
[state]
dir = $T/state
[connector scm-cert]
type = sectigo
url = https://localhost:$port/private/api
$common
[connector scm-pw]
type = sectigo
auth = password
password_file = $T/scm.pw
url = https://localhost:$port/api
$common
[connector scm-badpw]
type = sectigo
auth = password
password_file = $T/bad.pw
url = https://localhost:$port/api
$common
[connector scm-badtype]
type = sectigo
url = https://localhost:$port/private/api
cert_type = 999
$common
[connector scm-badterm]
type = sectigo
url = https://localhost:$port/private/api
cert_type = 101
term = 730
$common
EOF
start_agent

# Validation at start: GET /ssl/v1/types; credentials, type and term.
wait_validated
python3 - "$T/health.json" <<'PY' || { cat "$T/health.json" >&2; fail "health after validation"; }
import json, sys
h = json.load(open(sys.argv[1]))
c = h["connectors"]
assert h["status"] == "degraded", h
assert c["scm-cert"] == "ok" and c["scm-pw"] == "ok", c
assert "refused the credentials (-16: Unknown user)" in c["scm-badpw"], c
assert "offers no certificate type 999" in c["scm-badtype"], c
assert "type 101 does not allow a term of 730 days" in c["scm-badterm"], c
PY
note "validation: credentials (-16), unknown type and bad term reported, health degraded"

csr() {	# NAME
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1.s.example.com" \
		-addext "subjectAltName=DNS:$1.s.example.com" 2>/dev/null
}

# enroll_wait NAME CONNECTOR PROFILE [extra args]: sets rc
enroll_wait() {
	local name=$1 conn=$2 prof=$3
	shift 3
	csr "$name"
	set +e
	timeout 60 "$CLI" --socket "$SOCK" --json enroll --connector "$conn" \
		--profile "$prof" --csr "$T/$name.csr" --wait --out "$T/$name.crt" \
		--chain-out "$T/$name.chain" "$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	set -e
}

same_key() {
	[ "$(openssl x509 -in "$T/$1.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
	  "$(openssl pkey -in "$T/$1.key" -pubout -outform DER | sha256sum)" ]
}

scm() {	# python expression on the fake's stats as d
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/scm.json"
}

order_field() {	# NAME FIELD: from the last --json line of enroll --wait
	python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["order"].get(sys.argv[2], ""))' \
		"$T/$1.out" "$2"
}

issued_ok() {	# NAME WHAT
	[ "$rc" -eq 0 ] || { cat "$T/$1.err" "$T/$1.out" >&2; fail "$2: exit $rc"; }
	same_key "$1" || fail "$2: certificate not for the CSR's key"
	openssl verify -CAfile "$CA_CRT" -untrusted "$T/$1.chain" "$T/$1.crt" >/dev/null ||
		fail "$2: does not verify with its chain"
	[ "$(openssl x509 -in "$T/$1.chain" -outform DER | sha256sum)" = \
	  "$(openssl x509 -in "$CA_CRT" -outform DER | sha256sum)" ] || fail "$2: chain is not the CA"
}

rejected() {	# NAME WHAT PATTERN
	[ "$rc" -eq 12 ] || { cat "$T/$1.err" "$T/$1.out" >&2; fail "$2: exit $rc, expected 12"; }
	expect_in "$T/$1.out" "$3" "$2"
}

for mode in cert pw; do
	c=scm-$mode
	enroll_wait "$mode-now" "$c" 100
	issued_ok "$mode-now" "$c issued at once"
	ssl=$(order_field "$mode-now" ca_handle)
	[ "$(scm "d['enrollments']['$ssl']['renewId']")" = "$(order_field "$mode-now" ca_renew_id)" ] ||
		fail "$c: renewId not stored with the order"
	[ "$(scm "d['enrollments']['$ssl']['subjAltNames']")" = "$mode-now.s.example.com" ] ||
		fail "$c: subjAltNames not sent as one string"
	for t in 101 102 103 104 105; do
		enroll_wait "$mode-$t" "$c" "$t"
		issued_ok "$mode-$t" "$c type $t (not ready twice)"
		ssl=$(order_field "$mode-$t" ca_handle)
		[ "$(scm "d['collects']['$ssl']")" -eq 3 ] || fail "$c type $t: expected 3 collects"
	done
	enroll_wait "$mode-flaky" "$c" 108
	issued_ok "$mode-flaky" "$c 503 on collect, then issued"
	enroll_wait "$mode-declined" "$c" 107
	rejected "$mode-declined" "$c declined" "-130: SSL state is not 'ISSUED'"
	enroll_wait "$mode-badterm" "$c" 100 --validity 100
	rejected "$mode-badterm" "$c bad term" "-36: The validity period"
	enroll_wait "$mode-badtype" "$c" 999
	rejected "$mode-badtype" "$c unknown certificate type" "-39: The certificate profile id"
	# Revoke by serial: the agent finds the order and sends its sslId.
	serial=$(openssl x509 -in "$T/$mode-now.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
	ssl=$(order_field "$mode-now" ca_handle)
	"$CLI" --socket "$SOCK" revoke --serial "$serial" --reason keyCompromise >"$T/rv.out" 2>&1 ||
		{ cat "$T/rv.out" >&2; fail "$c: revoke"; }
	[ "$(scm "d['revocations']['$ssl']['reasonCode']")" = 1 ] || fail "$c: revocation not recorded by sslId"
	# The CA lost the certificate: its error reaches the caller.
	enroll_wait "$mode-forget" "$c" 106
	issued_ok "$mode-forget" "$c type 106"
	set +e
	"$CLI" --socket "$SOCK" revoke --order "$(order_field "$mode-forget" id)" >"$T/rv2.out" 2>&1
	rc=$?
	set -e
	[ "$rc" -ne 0 ] || fail "$c: revoking an unknown sslId succeeded"
	expect_in "$T/rv2.out" "-124: Wrong SSL certificate id" "$c: unknown sslId"
	note "$c: issued at once; not ready (0, -183, -1400, -109, -195) then issued; 503; -130, -36, -39 final; revoke 204 by sslId; -124 reaches the caller (at ${SECONDS} s)"
done

enroll_wait badpw scm-badpw 100
rejected badpw "wrong password" "refused the credentials \(-16: Unknown user\)"
note "wrong password: 401 -16 reaches the caller"

# Certificate mode: the HSM's certificate, never a password header.
python3 - "$T/scm.json" <<'PY' || fail "certificate mode: wrong credentials on the wire"
import json, sys
d = json.load(open(sys.argv[1]))
priv = [r for r in d["requests"] if r["path"].startswith("/private/")]
pub = [r for r in d["requests"] if r["path"].startswith("/api/")]
assert len(priv) > 20 and len(pub) > 20, (len(priv), len(pub))
assert all(r["client"] == "hsmagent-client-ec" for r in priv), priv
assert not any(r["password_header"] for r in priv), "password sent in certificate mode"
assert d["password_on_private"] == 0
assert all(r["password_header"] for r in pub)
PY
note "certificate mode: every request presented the HSM-held certificate and no password"

# Password mode: nowhere at rest, and not in the child between requests.
pw=$(cat "$T/scm.pw")
for f in "$T/agent.err" "$T/state/audit.log" "$T/state/orders.db" "$T/health.json"; do
	if grep -aF -- "$pw" "$f" >/dev/null; then
		fail "the password is in $f"
	fi
done
child=$(pgrep -P "$agent" | head -n1)
[ -n "$child" ] || fail "no connector child"
python3 "$ROOT/tests/integration/memscan.py" "$child" "$T/scm.pw" >"$T/scan" ||
	{ cat "$T/scan" >&2; fail "the password stays in the child's memory between requests"; }
grep -q 'skipped 0 mappings' "$T/scan" || [ -n "${ASAN_OPTIONS:-}" ] ||
	{ cat "$T/scan" >&2; fail "memory scan skipped mappings"; }
note "password: not in logs, audit log, orders.db; child memory between requests: $(head -n1 "$T/scan")"
