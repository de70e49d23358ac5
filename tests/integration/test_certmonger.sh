# test_certmonger.sh - certmonger (Debian's package, no systemd: its
# private-socket mode, state in $T) with "hsmagent certmonger-helper"
# registered as a CA: a certificate through the running agent from the
# fake Entrust gateway, written to certmonger's tracked file; renewed by
# getcert resubmit; a pending order finished through POLL and the
# cookie; a policy denial shown by getcert list; one enrollment per
# submit, and the HSM key's client certificate at the gateway each time.
# The helper's own edges (caps, unknown operations, a repeated SUBMIT)
# are driven directly, with certmonger's variables.
. "$(dirname "$0")/lib.sh"

if ! command -v certmonger >/dev/null || ! command -v getcert >/dev/null; then
	echo "SKIP: certmonger is not installed (Debian package certmonger; make deps)"
	echo "certmonger: 0 passed, 0 failed (skipped)"
	exit 0
fi

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
passed=0
ok() { passed=$((passed + 1)); note "$*"; }
start_cagw ca1

cat >"$T/policy.conf" <<EOF
[rule certmonger]
callers = user:root
connectors = entrust
profiles = issue, pending-2, pending-50
san_dns = *.cm.example.com
max_validity_days = 30
key_types = ec:p256
EOF
entrust_config "$CLIENT_EC_CRT" "mode = 0660"
start_agent
wait_validated

# certmonger with no bus: its private socket, its state in $T/cm. getcert
# reaches it through CERTMONGER_PVT_ADDRESS; the same variables keep even
# a temporary daemon (started by getcert if ours were gone) out of /var.
CM=$T/cm
mkdir -p "$CM/requests" "$CM/cas" "$CM/tmp" "$CM/config" "$CM/local" "$T/out"
export CERTMONGER_REQUESTS_DIR=$CM/requests CERTMONGER_CAS_DIR=$CM/cas \
	CERTMONGER_TMPDIR=$CM/tmp CERTMONGER_CONFIG_DIR=$CM/config \
	CERTMONGER_LOCAL_CA_DIR=$CM/local CERTMONGER_SYSTEM_LOCK_FILE=$CM/lock \
	CERTMONGER_PVT_ADDRESS=unix:path=$CM/cm.sock
certmonger -L -P "$CM/cm.sock" -p "$CM/cm.pid" -n -d 3 >"$CM/certmonger.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [ -S "$CM/cm.sock" ] && break; sleep 0.05; done
[ -S "$CM/cm.sock" ] || { cat "$CM/certmonger.log" >&2; fail "certmonger did not start"; }

helper="$CLI certmonger-helper --socket $SOCK --connector entrust"
# The pending CA's helper logs each call (operation, cookie) first.
cat >"$T/logged-helper" <<EOF
#!/bin/sh
echo "\$CERTMONGER_OPERATION \${CERTMONGER_CA_COOKIE:-}" >>$T/helper.log
exec $helper --profile pending-2
EOF
chmod 0755 "$T/logged-helper"
getcert add-ca -c hsmagent -e "$helper --profile issue" >"$T/add.out" 2>&1 ||
	{ cat "$T/add.out" "$CM/certmonger.log" >&2; fail "getcert add-ca"; }
getcert add-ca -c hsmagent-pending -e "$T/logged-helper" >>"$T/add.out" 2>&1 ||
	{ cat "$T/add.out" >&2; fail "getcert add-ca (pending)"; }
getcert list-cas -c hsmagent -v >"$T/cas.out" 2>&1
expect_in "$T/cas.out" "hsmagent 0\\.[0-9.]+ \\(certmonger helper" "IDENTIFY in list-cas"
ok "helper registered; certmonger ran IDENTIFY and the other start operations (at ${SECONDS} s)"

gw() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/gw.json"; }
posts() { gw "d['by_profile'].get('$1', 0)"; }
client_serial=$(serial_of "$CLIENT_EC_CRT")
# Every gateway request so far came with the HSM key's certificate.
check_clients() {
	local want
	want=$(echo "$client_serial" | sed 's/^0*//')
	[ "$(gw "sorted(set(r['client_serial'].lstrip('0') for r in d['requests']))")" = "['$want']" ] ||
		fail "gateway saw other client certificates: $(gw 'd["requests"]') (HSM key's: $client_serial)"
	[ "$(gw 'd["client_cns"]')" = "['hsmagent-client-ec']" ] ||
		fail "gateway saw client CNs $(gw 'd["client_cns"]')"
}

status_of() { getcert list -i "$1" | sed -n 's/^[[:space:]]*status: //p'; }
# wait_status ID STATUS: up to 30 s.
wait_status() {
	for _ in $(seq 1 150); do
		[ "$(status_of "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	getcert list -i "$1" >&2
	tail -n 30 "$CM/certmonger.log" >&2
	fail "request $1: status $(status_of "$1"), expected $2"
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# 1. Issue: certmonger makes the key and CSR, the helper enrolls.
t0=$(date +%s%N)
set +e
getcert request -c hsmagent -I web -f "$T/out/web.crt" -k "$T/out/web.key" \
	-N CN=web.cm.example.com -D web.cm.example.com -G EC -g 256 -w >"$T/req.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$T/req.out" >&2; getcert list -i web >&2; fail "getcert request: exit $rc"; }
wait_status web MONITORING
issue_ms=$(ms_since "$t0")
[ -s "$T/out/web.crt" ] || fail "no certificate in certmonger's tracked file"
openssl verify -CAfile "$CA_CRT" "$T/out/web.crt" >/dev/null || fail "issued certificate does not verify"
[ "$(openssl x509 -in "$T/out/web.crt" -noout -pubkey)" = "$(openssl pkey -in "$T/out/web.key" -pubout)" ] ||
	fail "certificate is not for certmonger's key"
first=$(serial_of "$T/out/web.crt")
[ "$(posts issue)" -eq 1 ] || fail "$(posts issue) enrollments for one submit"
check_clients
ok "getcert request: issued through the agent in $issue_ms ms, in certmonger's file, one enrollment, HSM client cert"

# 2. Renewal: resubmit keeps the key, gets a new certificate.
t0=$(date +%s%N)
set +e
getcert resubmit -i web -w >"$T/resub.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$T/resub.out" >&2; fail "getcert resubmit: exit $rc"; }
for _ in $(seq 1 150); do
	[ "$(serial_of "$T/out/web.crt")" != "$first" ] && break
	sleep 0.2
done
wait_status web MONITORING
resub_ms=$(ms_since "$t0")
[ "$(serial_of "$T/out/web.crt")" != "$first" ] || fail "resubmit did not renew"
[ "$(posts issue)" -eq 2 ] || fail "$(posts issue) enrollments after two submits"
check_clients
ok "getcert resubmit: renewed in $resub_ms ms (serial $first -> $(serial_of "$T/out/web.crt")), one more enrollment"

# FETCH-ROOTS: the root the connector's orders came with.
CERTMONGER_OPERATION=FETCH-ROOTS $helper >"$T/roots.out"
head -n 1 "$T/roots.out" | grep -q . || fail "FETCH-ROOTS: no nickname line"
sed -n '/BEGIN CERT/,/END CERT/p' "$T/roots.out" | openssl x509 -noout -fingerprint >"$T/roots.fp"
[ "$(cat "$T/roots.fp")" = "$(openssl x509 -in "$CA_CRT" -noout -fingerprint)" ] ||
	fail "FETCH-ROOTS printed another certificate than the CA's"
ok "FETCH-ROOTS: the CA's root, with a nickname (at ${SECONDS} s)"

# 3. Pending: 201, then issued on the agent's second poll; certmonger
# gets exit 5 and a cookie, then POLLs with it.
t0=$(date +%s%N)
set +e
getcert request -c hsmagent-pending -I slow -f "$T/out/slow.crt" -k "$T/out/slow.key" \
	-N CN=slow.cm.example.com -D slow.cm.example.com -G EC -g 256 -w >"$T/slow.out" 2>&1
set -e
wait_status slow MONITORING
pend_ms=$(ms_since "$t0")
[ -s "$T/out/slow.crt" ] || fail "pending: no certificate in the tracked file"
openssl verify -CAfile "$CA_CRT" "$T/out/slow.crt" >/dev/null || fail "pending: certificate does not verify"
expect_in "$T/helper.log" '^SUBMIT $' "pending: SUBMIT"
expect_in "$T/helper.log" '^POLL [0-9a-f]{16}$' "pending: POLL with the cookie"
cookie=$(sed -n 's/^POLL //p' "$T/helper.log" | head -n 1)
grep "\"target\":\"$cookie\"" "$T/state/audit.log" | grep -q '"outcome":"issued"' ||
	fail "pending: the cookie $cookie is not the issued order"
[ "$(posts pending-2)" -eq 1 ] || fail "pending: $(posts pending-2) enrollments for one submit"
check_clients
ok "pending: exit 5 with cookie $cookie, POLLed until issued in $pend_ms ms, one enrollment"

# 4. Denied by policy: rejected in certmonger, the reason in getcert list.
set +e
getcert request -c hsmagent -I denied -f "$T/out/denied.crt" -k "$T/out/denied.key" \
	-N CN=bad.other.example.com -D bad.other.example.com -G EC -g 256 -w >"$T/denied.out" 2>&1
set -e
wait_status denied CA_REJECTED
getcert list -i denied >"$T/denied.list"
expect_in "$T/denied.list" "ca-error: .*denied by policy" "denial reason in getcert list"
[ ! -s "$T/out/denied.crt" ] || fail "a certificate was written for a denied request"
[ "$(gw 'd["posts"]')" -eq 3 ] || fail "the gateway saw an enrollment for a denied request"
ok "policy denial: CA_REJECTED with the reason in getcert list, nothing at the CA (at ${SECONDS} s)"

# 5. The helper by hand: a repeated SUBMIT while pending is the same order.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/dup.key" -out "$T/dup.csr" -subj "/CN=dup.cm.example.com" \
	-addext "subjectAltName=DNS:dup.cm.example.com" 2>/dev/null
submit() {	# sets rc; output in $T/sub.out
	set +e
	env -i PATH=/usr/bin:/bin CERTMONGER_OPERATION=SUBMIT CERTMONGER_CSR="$(cat "$1")" \
		$helper --profile "$2" >"$T/sub.out" 2>"$T/sub.err"
	rc=$?
	set -e
}
submit "$T/dup.csr" pending-50
[ "$rc" -eq 5 ] || { cat "$T/sub.out" "$T/sub.err" >&2; fail "SUBMIT pending: exit $rc, expected 5"; }
c1=$(sed -n 2p "$T/sub.out")
submit "$T/dup.csr" pending-50
[ "$rc" -eq 5 ] || fail "second SUBMIT: exit $rc"
c2=$(sed -n 2p "$T/sub.out")
[ -n "$c1" ] && [ "$c1" = "$c2" ] || fail "repeated SUBMIT gave cookies $c1 and $c2"
[ "$(posts pending-50)" -eq 1 ] || fail "repeated SUBMIT enrolled $(posts pending-50) times"
grep "\"target\":\"$c1\"" "$T/state/audit.log" | grep -q '"outcome":"reused"' ||
	fail "reuse not audited"
ok "repeated SUBMIT while pending: the same order $c1, one enrollment, audited (at ${SECONDS} s)"

# Caps and strictness: a CSR over the agent's cap, a bad cookie, the
# operations certmonger asks of every CA, and no agent at all.
python3 -c 'import sys; sys.stdout.write("-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 49200 + "\n-----END CERTIFICATE REQUEST-----\n")' >"$T/big.csr"
submit "$T/big.csr" issue
[ "$rc" -eq 2 ] && grep -q "larger than the agent's 49152-byte limit" "$T/sub.out" ||
	{ cat "$T/sub.out" >&2; fail "oversized CSR: exit $rc"; }
printf 'garbage\n' >"$T/bad.csr"
submit "$T/bad.csr" issue
[ "$rc" -eq 2 ] || fail "non-PEM CSR: exit $rc"
for op in GET-NEW-REQUEST-REQUIREMENTS GET-RENEW-REQUEST-REQUIREMENTS GET-SUPPORTED-TEMPLATES \
	GET-DEFAULT-TEMPLATE FETCH-SCEP-CA-CAPS FETCH-SCEP-CA-CERTS 'SUBMIT;rm' NOSUCH; do
	set +e
	CERTMONGER_OPERATION=$op $helper --profile issue >/dev/null 2>&1
	rc=$?
	set -e
	[ "$rc" -eq 6 ] || fail "operation $op: exit $rc, expected 6"
done
set +e
CERTMONGER_OPERATION=POLL CERTMONGER_CA_COOKIE='../../etc' $helper --profile issue >"$T/sub.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad cookie: exit $rc"
set +e
CERTMONGER_OPERATION=SUBMIT CERTMONGER_CSR="$(cat "$T/dup.csr")" \
	"$CLI" certmonger-helper --socket "$T/nothing.sock" --connector entrust --profile issue >"$T/sub.out" 2>/dev/null
rc=$?
CERTMONGER_OPERATION=SUBMIT CERTMONGER_CSR="$(cat "$T/dup.csr")" "$CLI" certmonger-helper \
	--socket "$SOCK" >"$T/sub2.out" 2>/dev/null
rc2=$?
set -e
[ "$rc" -eq 3 ] || fail "no agent: exit $rc, expected 3"
[ "$rc2" -eq 4 ] || fail "no --connector: exit $rc2, expected 4"
# --json is the CLI's: the helper's stdout stays certmonger's.
CERTMONGER_OPERATION=FETCH-ROOTS "$CLI" --json certmonger-helper --socket "$SOCK" \
	--connector entrust >"$T/roots2.out"
cmp -s "$T/roots.out" "$T/roots2.out" || fail "--json changed the helper's output"
ok "caps: oversized CSR refused (2), bad cookie (2), unknown operations (6), no agent (3), no connector (4)"

"$BUILD/hsmagent" audit verify "$T/state/audit.log" >/dev/null || fail "audit log broken"
echo "certmonger: $passed passed, 0 failed"
