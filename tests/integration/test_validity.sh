# test_validity.sh - a policy's max_validity_days is a cap, never a
# default. One agent, three CA kinds, one rule whose maximum (397 days)
# differs from the Sectigo connector's term (365): what each connector
# sends when the order names no validity or names one, and what is
# refused before the CA is asked (checked in each CA's own record).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1
gw_port=$port
scm_port=$(free_port)
python3 "$ROOT/tests/fakeca/fake_scm.py" --port "$scm_port" --cert "$SERVER_CRT" \
	--key "$SERVER_KEY" --client-ca "$CA_CRT" --ca-cert "$CA_CRT" \
	--ca-key "$FX/ca.key" --stats "$T/scm.json" --customer-uri acme \
	--login api-bot --password-file /dev/null --org-id 1234 2>"$T/scm.err" &
PIDS+=($!)
wait_port "$scm_port"
start_pebble
port=$gw_port

# The account key (RSA) is not the TLS key (EC): one key, one role.
pebble_agent_config "$T/a.conf" "$RSA_KEY_URI" "$PEBBLE_EAB_HMAC_FILE" \
	"http01_listen = 127.0.0.1:$PEBBLE_HTTP_PORT"
printf '%s\n' "[connector scm]" "type = sectigo" \
	"url = https://localhost:$scm_port/private/api" "customer_uri = acme" \
	"login = api-bot" "org_id = 1234" \
	"[connector entrust]" "type = entrust" \
	"url = https://localhost:$gw_port/cagw" "ca_id = ca1" >>"$T/a.conf"
printf '%s\n' "[rule v]" "callers = user:root" \
	"connectors = scm, entrust, pebble" "profiles = 100, issue, default" \
	"san_dns = *.example.test" "max_validity_days = 397" \
	"key_types = ec:p256" >"$T/policy.conf"
start_agent
wait_validated

# enroll NAME CONNECTOR PROFILE [--validity N]: sets rc; $T/NAME.{out,err,crt}
enroll() {
	local n=$1 conn=$2 prof=$3
	shift 3
	acme_csr "$n"
	rc=0
	timeout 90 "$CLI" --socket "$SOCK" enroll --connector "$conn" \
		--profile "$prof" --csr "$T/$n.csr" --wait --out "$T/$n.crt" "$@" \
		>"$T/$n.out" 2>"$T/$n.err" || rc=$?
}
scm() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/scm.json"; }
gw() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/gw.json"; }
scm_count() { if [ -f "$T/scm.json" ]; then scm "len(d['enrollments'])"; else echo 0; fi; }
gw_count() { if [ -f "$T/gw.json" ]; then gw "len(d['enrollments'])"; else echo 0; fi; }
scm_last_term() { scm "[e['term'] for e in d['enrollments'].values()][-1]"; }
gw_last_validity() { gw "[e['validity'] for e in d['enrollments'].values()][-1]"; }
new_orders() { grep -c 'POST /order-plz' "$T/pebble/pebble.log" || true; }
issued() {	# NAME WHAT
	[ "$rc" -eq 0 ] || { cat "$T/$1.err" "$T/$1.out" >&2; fail "$2: exit $rc"; }
	acme_same_key "$1" || fail "$2: no certificate for the CSR's key"
}
refused_before_ca() {	# NAME WHAT COUNT_BEFORE COUNT_AFTER PATTERN...
	local n=$1 what=$2 before=$3 after=$4 p
	shift 4
	[ "$rc" -eq 1 ] || { cat "$T/$n.err" >&2; fail "$what: exit $rc, expected 1"; }
	[ "$before" = "$after" ] || fail "$what: the CA was asked ($before -> $after)"
	for p in "$@"; do expect_in "$T/$n.err" "$p" "$what"; done
	[ ! -s "$T/$n.crt" ] || fail "$what: a certificate was written"
}
days_left() { echo $(( ($(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 )); }

# Sectigo: no validity -> the connector's term (365), not the rule's 397.
enroll s-none scm 100
issued s-none "sectigo, no validity"
[ "$(scm_last_term)" = 365 ] ||
	fail "sectigo, no validity: term $(scm_last_term) sent, expected the connector's 365"
days=$(days_left "$T/s-none.crt")
[ "$days" -ge 363 ] && [ "$days" -le 365 ] || fail "sectigo, no validity: certificate valid $days days"
note "sectigo, no validity: term 365 sent (the rule's maximum is 397), certificate of $days days"

# Asked for 397 (within the rule, over the term): refused before the CA.
before=$(scm_count)
enroll s-397 scm 100 --validity 397
refused_before_ca s-397 "sectigo, 397 days" "$before" "$(scm_count)" \
	"validity 397 days is over connector scm's term of 365 days"
grep '"event":"order.request"' "$T/state/audit.log" | grep '"outcome":"refused"' |
	grep -q 'term of 365' || fail "the refusal is not in the audit log"
note "sectigo, --validity 397: refused before the CA, naming 397 and 365, audited"

# Asked for the term itself: sent as asked.
enroll s-365 scm 100 --validity 365
issued s-365 "sectigo, 365 days"
[ "$(scm_last_term)" = 365 ] || fail "sectigo, 365: term $(scm_last_term) sent"

# Over the rule: the policy's denial (exit 11), nothing sent.
before=$(scm_count)
enroll s-398 scm 100 --validity 398
[ "$rc" -eq 11 ] || fail "sectigo, 398 days: exit $rc, expected 11 (the rule's maximum)"
[ "$before" = "$(scm_count)" ] || fail "sectigo, 398 days: the CA was asked"
note "sectigo, --validity 398 (over the rule): policy denial, nothing sent"

# Entrust: no validity -> no validityPeriod (the profile's); asked -> P<n>D.
enroll e-none entrust issue
issued e-none "entrust, no validity"
[ "$(gw_last_validity)" = None ] ||
	fail "entrust, no validity: validityPeriod $(gw_last_validity) sent"
enroll e-20 entrust issue --validity 20
issued e-20 "entrust, 20 days"
[ "$(gw_last_validity)" = P20D ] || fail "entrust, 20 days: validityPeriod $(gw_last_validity) sent"
before=$(gw_count)
enroll e-398 entrust issue --validity 398
[ "$rc" -eq 11 ] || fail "entrust, 398 days: exit $rc, expected 11"
[ "$before" = "$(gw_count)" ] || fail "entrust, 398 days: the CA was asked"
note "entrust: no validity sends no validityPeriod, --validity 20 sends P20D, 398 denied by the rule"

# SANs that differ from the CSR's: the policy's denial, in every place the
# caller or an auditor looks (exit 11, the JSON code, the audit outcome).
before=$(gw_count)
acme_csr e-san
rc=0
timeout 30 "$CLI" --socket "$SOCK" --json enroll --connector entrust \
	--profile issue --csr "$T/e-san.csr" --san dns:other.example.test \
	>"$T/e-san.out" 2>"$T/e-san.err" || rc=$?
[ "$rc" -eq 11 ] || { cat "$T/e-san.err" "$T/e-san.out" >&2; fail "SAN mismatch: exit $rc, expected 11"; }
cat "$T/e-san.out" >>"$T/e-san.err"
expect_in "$T/e-san.err" '"code": ?"policy_denied"' "SAN mismatch: the JSON error code"
expect_in "$T/e-san.err" "differ from the CSR's" "SAN mismatch: the reason"
[ "$before" = "$(gw_count)" ] || fail "SAN mismatch: the CA was asked"
grep '"event":"policy.decision"' "$T/state/audit.log" | grep '"outcome":"denied"' |
	grep -q "differ from the CSR" || fail "SAN mismatch: no policy.decision denied in the audit log"
note "SANs differing from the CSR's: exit 11, policy_denied, audited as denied"

# ACME: the CA sets the validity; one asked for is refused, not ignored.
enroll a-none pebble default
issued a-none "acme, no validity"
before=$(new_orders)
[ "$before" -ge 1 ] || fail "acme: Pebble's log shows no newOrder"
enroll a-30 pebble default --validity 30
refused_before_ca a-30 "acme, 30 days" "$before" "$(new_orders)" \
	'validity 30 days cannot be asked of connector pebble'
note "acme: issued with the CA's validity; --validity 30 refused before the CA"
