# test_entrust.sh - the Entrust CA Gateway connector end to end:
# hsmagent enroll -> parent -> sandboxed child (HSM-held mTLS key) ->
# tests/fakeca/fake_cagw.py, in every mode the fake has, as the caller
# sees it (exit code, message, certificate); revocation; 100 orders
# pending at once, all polled by one child.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw 'ca~1' --slow-seconds 10

cat >"$T/policy.conf" <<EOF
[rule e]
callers = user:root
connectors = entrust, badca, shortwait
profiles = issue, pending-2, reject, denied, ratelimit, flaky-2, malformed, huge, slow, pending-1000, nochain, nochain-wrongca
san_dns = *.e.example.com
max_validity_days = 30
key_types = ec:p256
EOF
pin_of() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -binary | base64; }
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
sed -i 's/^timeout = 10$/timeout = 8/' "$T/a.conf"
cat >>"$T/a.conf" <<EOF
[api]
socket = $SOCK
policy = $T/policy.conf
max_connections = 256
[state]
dir = $T/state
[connector entrust]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca~1
poll_max_wait_seconds = 120
[connector badca]
type = entrust
url = https://localhost:$port/cagw
ca_id = no-such-ca
[connector badprofile]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca~1
profile_id = no-such-profile
[connector pinned]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca~1
spki_pin = sha256//$(pin_of "$CA_CRT");sha256//$(pin_of "$SERVER_CRT")
[connector wrongpin]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca~1
spki_pin = sha256//$(pin_of "$CA_CRT")
[connector shortwait]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca~1
poll_max_wait_seconds = 10
EOF
start_agent

# Validation at start: a wrong CA id or profile is a clear error and a
# degraded health, not a crash.
wait_validated
python3 - "$T/health.json" <<'PY' || { cat "$T/health.json" >&2; fail "health after validation"; }
import json, sys
h = json.load(open(sys.argv[1]))
c = h["connectors"]
assert h["status"] == "degraded", h
assert c["entrust"] == "ok" and c["shortwait"] == "ok", c
assert "cagw-4018" in c["badca"], c
assert "no profile \"no-such-profile\"" in c["badprofile"], c
assert c["pinned"] == "ok", c
assert "pinned public key" in c["wrongpin"], c
PY
grep '"event":"connector.validate"' "$T/state/audit.log" | grep '"outcome":"failed"' >/dev/null ||
	fail "failed validation not audited"
kill -0 "$agent" || fail "agent died on a wrong CA id"
note "validation at start: wrong caId (cagw-4018), profile and SPKI pin reported, health degraded"

csr() {	# NAME
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1.e.example.com" \
		-addext "subjectAltName=DNS:$1.e.example.com" 2>/dev/null
}

# enroll_wait NAME PROFILE [CONNECTOR]: sets rc, writes $T/NAME.{out,err,crt}
enroll_wait() {
	csr "$1"
	set +e
	timeout 60 "$CLI" --socket "$SOCK" enroll --connector "${3:-entrust}" \
		--profile "$2" --csr "$T/$1.csr" --wait --out "$T/$1.crt" \
		--chain-out "$T/$1.chain" \
		>"$T/$1.out" 2>"$T/$1.err"
	rc=$?
	set -e
}

same_key() {	# NAME: the issued certificate carries the CSR's key
	[ "$(openssl x509 -in "$T/$1.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
	  "$(openssl pkey -in "$T/$1.key" -pubout -outform DER | sha256sum)" ]
}

gw() {	# python expression on the fake's stats as d
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/gw.json"
}

enroll_wait one issue
[ "$rc" -eq 0 ] || { cat "$T/one.err" >&2; fail "issue: exit $rc"; }
same_key one || fail "issue: certificate not for the CSR's key"
openssl verify -CAfile "$CA_CRT" "$T/one.crt" >/dev/null || fail "issue: does not verify"
note "issue: 200, certificate for the CSR's key (at ${SECONDS} s)"

# No enrollment.chain in the answer: the chain comes from the CA resource,
# and only when it is the certificate's issuer; the child keeps it an hour.
enroll_wait wrongca nochain-wrongca
[ "$rc" -eq 0 ] || { cat "$T/wrongca.err" >&2; fail "nochain-wrongca: exit $rc"; }
same_key wrongca || fail "nochain-wrongca: wrong key"
[ ! -s "$T/wrongca.chain" ] || fail "nochain-wrongca: a chain that did not issue the certificate was kept"
[ "$(gw 'd["ca_fetches"]')" -eq 1 ] || fail "nochain-wrongca: the CA resource was not asked once"
expect_in "$T/agent.err" "issued; the CA's chain could not be read" "a missing chain is logged"
grep '"note":"issued; the CA' "$T/state/audit.log" >/dev/null || fail "a missing chain is not audited"
for n in nochain1 nochain2; do
	enroll_wait "$n" nochain
	[ "$rc" -eq 0 ] || { cat "$T/$n.err" >&2; fail "nochain: exit $rc"; }
	[ "$(openssl x509 -in "$T/$n.chain" -outform DER | sha256sum)" = \
	  "$(openssl x509 -in "$CA_CRT" -outform DER | sha256sum)" ] ||
		fail "$n: the chain is not the CA's certificate"
	[ "$(grep -c 'BEGIN CERTIFICATE' "$T/$n.chain")" -eq 1 ] || fail "$n: the CA certificate is repeated"
	openssl verify -CAfile "$CA_CRT" -untrusted "$T/$n.chain" "$T/$n.crt" >/dev/null ||
		fail "$n: does not verify with its chain"
done
[ "$(gw 'd["ca_fetches"]')" -eq 2 ] || fail "nochain: expected one more CA fetch, then the cached chain"
note "no enrollment.chain: chain read from GET .../{caId}?\$fields=..., checked against the certificate, cached (at ${SECONDS} s)"

enroll_wait two pending-2
[ "$rc" -eq 0 ] || { cat "$T/two.err" >&2; fail "pending-2: exit $rc"; }
expect_in "$T/two.err" 'order [0-9a-f]{16}: pending' "pending progress"
same_key two || fail "pending-2: wrong key"
note "pending-2: 201, polled at GET .../enrollments/{id}, issued (at ${SECONDS} s)"

enroll_wait three reject
[ "$rc" -eq 12 ] || fail "reject: exit $rc, expected 12"
"$CLI" --socket "$SOCK" list >"$T/list.out"
expect_in "$T/list.out" 'rejected .*cagw-4001: Profile does not allow' "gateway code reaches the caller"
note "reject: exit 12, cagw-4001 and its message reach the caller (at ${SECONDS} s)"

enroll_wait four denied
[ "$rc" -eq 12 ] || fail "denied: exit $rc, expected 12"
note "denied at the gateway after pending: exit 12 (at ${SECONDS} s)"

enroll_wait five ratelimit
[ "$rc" -eq 0 ] || { cat "$T/five.err" >&2; fail "ratelimit: exit $rc"; }
[ "$(gw 'd["by_profile"]["ratelimit"]')" -eq 2 ] || fail "ratelimit: not resubmitted exactly once"
note "429 with Retry-After: submitted again after it, issued (at ${SECONDS} s)"

enroll_wait six flaky-2
[ "$rc" -eq 0 ] || { cat "$T/six.err" >&2; fail "flaky-2: exit $rc"; }
[ "$(gw 'd["by_profile"]["flaky-2"]')" -eq 3 ] || fail "flaky-2: expected 3 submissions"
note "two 503s, then issued (at ${SECONDS} s)"

for m in malformed huge slow; do
	enroll_wait "$m" "$m"
	[ "$rc" -eq 1 ] || { cat "$T/$m.err" >&2; fail "$m: exit $rc, expected 1 (failed)"; }
	cat "$T/$m.out" >>"$T/$m.err"
	expect_in "$T/$m.err" 'unknown .*check at the CA' "$m: the caller is told the outcome is unknown"
done
expect_in "$T/huge.err" "the CA's answer exceeded 1048576 bytes" "huge: the cap is named, not curl's write failure"
kill -0 "$agent" || fail "agent died on a hostile gateway answer"
note "malformed JSON, 10 MiB body, timeout: failed with 'check at the CA', agent fine (at ${SECONDS} s)"

enroll_wait seven issue badca
[ "$rc" -eq 12 ] || fail "unknown CA id: exit $rc, expected 12"
"$CLI" --socket "$SOCK" list >"$T/list2.out"
expect_in "$T/list2.out" 'cagw-4018: CA with specified name not found' "unknown CA id"
note "unknown caId: 404 cagw-4018 reaches the caller (at ${SECONDS} s)"

serial=$(openssl x509 -in "$T/one.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
"$CLI" --socket "$SOCK" revoke --serial "$serial" --reason superseded >"$T/rv.out" 2>&1 ||
	{ cat "$T/rv.out" >&2; fail "revoke"; }
[ "$(gw "d['revocations'].get('$serial')")" = "['superseded']" ] || fail "the gateway did not record the revocation"
note "revoke: POST .../certificates/{serial}/actions RevokeAction superseded (at ${SECONDS} s)"

# The deadline: polling stops, the order stays pending; status resumes it.
csr late
out=$("$CLI" --socket "$SOCK" --json enroll --connector shortwait \
	--profile pending-1000 --csr "$T/late.csr" || true)
late=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order"]["id"])' "$out")
stopped=0
for _ in $(seq 1 60); do
	if "$CLI" --socket "$SOCK" list | grep "$late: pending .*polling stopped at the connector's deadline" >/dev/null; then
		stopped=1; break
	fi
	sleep 0.5
done
[ "$stopped" -eq 1 ] || fail "order $late: polling did not stop at the deadline"
grep '"event":"order.poll_stopped"' "$T/state/audit.log" >/dev/null || fail "poll stop not audited"
polls=$(gw "sum(e['polls'] for e in d['enrollments'].values() if e['profile']=='pending-1000')")
sleep 2
[ "$(gw "sum(e['polls'] for e in d['enrollments'].values() if e['profile']=='pending-1000')")" -eq "$polls" ] ||
	fail "order $late is still polled after its deadline"
set +e
"$CLI" --socket "$SOCK" status "$late" >"$T/late.out" 2>&1; rc=$?
set -e
[ "$rc" -eq 10 ] || fail "status of a stopped order: exit $rc, expected 10 (pending)"
for _ in $(seq 1 30); do
	[ "$(gw "sum(e['polls'] for e in d['enrollments'].values() if e['profile']=='pending-1000')")" -gt "$polls" ] && break
	sleep 0.2
done
[ "$(gw "sum(e['polls'] for e in d['enrollments'].values() if e['profile']=='pending-1000')")" -gt "$polls" ] ||
	fail "status did not resume polling"
note "deadline: polling stopped, order still pending; status resumed it"

# 100 orders pending at once, one child polls them all.
ids=()
for i in $(seq 1 100); do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -out "$T/m$i.csr" -subj "/CN=m$i.e.example.com" \
		-addext "subjectAltName=DNS:m$i.e.example.com" 2>/dev/null
	out=$("$CLI" --socket "$SOCK" --json enroll --connector entrust \
		--profile pending-2 --csr "$T/m$i.csr" || true)
	ids+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order"]["id"])' "$out")")
done
done_all=0
for _ in $(seq 1 120); do
	n=$("$CLI" --socket "$SOCK" list | grep -c ': issued ' || true)
	if [ "$n" -ge 106 ]; then done_all=1; break; fi
	sleep 0.5
done
[ "$done_all" -eq 1 ] || fail "100 pending orders: only $n issued"
children=$(pgrep -P "$agent" | wc -l)
[ "$children" -eq 1 ] || fail "expected one connector child, saw $children"
note "100 orders pending at once: all issued, one child (at ${SECONDS} s)"

python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["client_cns"]==["hsmagent-client-ec"] else 1)' "$T/gw.json" ||
	fail "a request used another client certificate: $(gw 'd["client_cns"]')"
note "every gateway request used the HSM-held client certificate (at ${SECONDS} s)"
