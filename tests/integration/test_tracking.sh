# test_tracking.sh - tracked certificates: renewed before expiry with no
# client action (a fake gateway issuing 24-second certificates), fetched
# with the caller's rights and only when new, a policy change that stops
# the renewal and says why; the gateway client certificate's expiry in
# health.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
chmod 0755 "$T"		# a second user tries the socket
start_cagw ca1

policy() {	# SAN pattern the rule allows
	cat >"$T/policy.conf" <<EOF
[rule t]
callers = user:root
connectors = entrust
profiles = short-24, issue
san_dns = $1
max_validity_days = 30
key_types = ec:p256
EOF
}
policy '*.t.example.com'
# The client certificate, as a file the agent watches (rotated below).
cp "$CLIENT_EC_CRT" "$T/client.pem"
write_config "$T/a.conf" "$EC_KEY_URI" "$T/client.pem" "$port"
cat >>"$T/a.conf" <<EOF
[api]
socket = $SOCK
mode = 0666
policy = $T/policy.conf
[state]
dir = $T/state
[renewal]
window_percent = 33
retry_min_seconds = 1
retry_max_seconds = 4
[connector entrust]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca1
EOF
start_agent
wait_validated
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); sys.exit(h["client_certificate"] != "ok")' \
	"$T/health.json" || { cat "$T/health.json" >&2; fail "client certificate not ok at start"; }

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/web.key" -out "$T/web.csr" -subj "/CN=web.t.example.com" \
	-addext "subjectAltName=DNS:web.t.example.com" 2>/dev/null
"$CLI" --socket "$SOCK" track web --connector entrust --profile short-24 \
	--csr "$T/web.csr" >"$T/track.out" 2>&1 || { cat "$T/track.out" >&2; fail "track"; }

tracked() {	# python expression on the tracked entry "web" as t
	"$CLI" --socket "$SOCK" --json tracked >"$T/tracked.json"
	python3 -c "import json,sys; t=[x for x in json.load(open(sys.argv[1]))['tracked'] if x['name']=='web'][0]; print($1)" "$T/tracked.json"
}

fetch() {	# sets rc; writes $T/web.crt and $T/web.chain
	set +e
	"$CLI" --socket "$SOCK" fetch web --out "$T/web.crt" --chain-out "$T/web.chain" "$@" \
		>"$T/fetch.out" 2>&1
	rc=$?
	set -e
}


# The first certificate: fetch writes it once, then has nothing new.
for _ in $(seq 1 50); do
	fetch
	[ "$rc" -ne 10 ] && break
	sleep 0.2
done
[ "$rc" -eq 0 ] || { cat "$T/fetch.out" >&2; fail "first fetch: exit $rc"; }
openssl verify -CAfile "$CA_CRT" -untrusted "$T/web.chain" "$T/web.crt" >/dev/null ||
	fail "fetched certificate does not verify"
[ "$(stat -c %a "$T/web.crt")" = 644 ] || fail "fetched file mode $(stat -c %a "$T/web.crt")"
ls "$T"/web.crt.* "$T"/web.chain.* >/dev/null 2>&1 && fail "temporary files left behind"
fetch
[ "$rc" -eq 14 ] || { cat "$T/fetch.out" >&2; fail "second fetch: exit $rc, expected 14 (nothing new)"; }
first=$(serial_of "$T/web.crt")
first_order=$(tracked 't["issued_order"]')
[ "$(tracked 't["status"]')" = ok ] || fail "status $(tracked 't["status"]') after issue"
note "tracked and issued; fetch wrote it (0644, atomic), then reported nothing new (at ${SECONDS} s)"

# Someone else cannot fetch or see it.
set +e
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CLI" --socket "$SOCK" \
	fetch web --out /tmp/hsmagent-nobody.$$ >"$T/other.out" 2>&1
orc=$?
set -e
[ "$orc" -eq 1 ] && grep -q 'not_found' "$T/other.out" || { cat "$T/other.out" >&2; fail "another user fetched it"; }
[ ! -e /tmp/hsmagent-nobody.$$ ] || fail "a file was written for another user"
# Nor force its renewal: the same not_found, nothing requested.
set +e
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CLI" --socket "$SOCK" \
	renew web >"$T/other-renew.out" 2>&1
orc=$?
set -e
[ "$orc" -eq 1 ] && grep -q 'not_found' "$T/other-renew.out" || { cat "$T/other-renew.out" >&2; fail "another user renewed it"; }
! grep -q '"event":"track.renew"' "$T/state/audit.log" || fail "another user's renew was recorded as requested"

# Renewal without any client action, before expiry (window: a third left).
renewed=0
for _ in $(seq 1 100); do
	if [ "$(tracked 't["issued_order"]')" != "$first_order" ]; then renewed=1; break; fi
	sleep 0.3
done
[ "$renewed" -eq 1 ] || fail "not renewed: $(cat "$T/tracked.json")"
[ "$(date +%s)" -lt "$(openssl x509 -in "$T/web.crt" -noout -enddate | cut -d= -f2 | xargs -I{} date -d {} +%s)" ] ||
	fail "renewed only after the old certificate expired"
rm -f "$T/reloaded"
fetch --exec "touch $T/reloaded"
[ "$rc" -eq 0 ] || { cat "$T/fetch.out" >&2; fail "fetch after renewal: exit $rc"; }
[ "$(serial_of "$T/web.crt")" != "$first" ] || fail "fetch after renewal wrote the old certificate"
[ -e "$T/reloaded" ] || fail "--exec did not run after a new certificate"
fetch --exec "touch $T/reloaded-again"
[ "$rc" -eq 14 ] && [ ! -e "$T/reloaded-again" ] || fail "--exec ran with nothing new"
grep '"event":"track.renew"' "$T/state/audit.log" | grep '"outcome":"submitted"' >/dev/null ||
	fail "renewal not audited"
note "renewed before expiry without client action; fetch wrote the new one, ran --exec (at ${SECONDS} s)"

# A policy that no longer allows the name stops the renewal, and says why.
policy '*.other.example.com'
kill -HUP "$agent"
second_order=$(tracked 't["issued_order"]')
refused=0
for _ in $(seq 1 100); do
	if tracked 't.get("last_error","")' | grep -q 'the policy refuses the renewal'; then
		refused=1; break
	fi
	sleep 0.3
done
[ "$refused" -eq 1 ] || fail "policy change did not stop the renewal: $(cat "$T/tracked.json")"
[ "$(tracked 't["issued_order"]')" = "$second_order" ] || fail "renewed despite the policy"
[ "$(tracked 't["status"]')" = failing ] || fail "status $(tracked 't["status"]'), expected failing"
health_json >"$T/health.json"
grep -q 'the policy refuses the renewal' "$T/health.json" || fail "health does not show the renewal error"
"$CLI" --socket "$SOCK" metrics >"$T/metrics.txt"
grep -E '^hsmagent_tracked_failed_attempts\{name="web"\} [1-9]' "$T/metrics.txt" >/dev/null ||
	fail "metrics do not count the failed attempts"
grep -E '^hsmagent_tracked_not_after_seconds\{name="web"\} [0-9]{10}' "$T/metrics.txt" >/dev/null ||
	fail "metrics lack the expiry"
grep '"event":"track.renew"' "$T/state/audit.log" | grep '"outcome":"failed"' >/dev/null ||
	fail "refused renewal not audited"
note "policy change: renewal refused and said why (tracked, health, metrics, audit) (at ${SECONDS} s)"

# Tracking an order the caller already has; then stop tracking.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/api.key" -out "$T/api.csr" -subj "/CN=api.other.example.com" \
	-addext "subjectAltName=DNS:api.other.example.com" 2>/dev/null
out=$("$CLI" --socket "$SOCK" --json enroll --connector entrust --profile issue \
	--csr "$T/api.csr" --wait | tail -n1)
oid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order"]["id"])' "$out")
"$CLI" --socket "$SOCK" track api --order "$oid" >"$T/track2.out" 2>&1 ||
	{ cat "$T/track2.out" >&2; fail "track --order"; }
grep -q '^api: ok' "$T/track2.out" || { cat "$T/track2.out" >&2; fail "track --order: not issued at once"; }
# tracked NAME shows that one; renew NAME renews now (getcert resubmit).
"$CLI" --socket "$SOCK" tracked api >"$T/t1.out" || fail "tracked api"
[ "$(wc -l <"$T/t1.out")" -eq 1 ] && grep -q '^api: ok' "$T/t1.out" ||
	{ cat "$T/t1.out" >&2; fail "tracked api: not that one line"; }
rc=0; "$CLI" --socket "$SOCK" tracked nosuch 2>"$T/t2.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'no tracked certificate nosuch' "$T/t2.err" || fail "tracked nosuch: exit $rc"
"$CLI" --socket "$SOCK" fetch api --out "$T/api1.crt" >/dev/null 2>&1 || fail "fetch api"
"$CLI" --socket "$SOCK" renew api >"$T/rn.out" 2>&1 || { cat "$T/rn.out" >&2; fail "renew api"; }
renewed=0
for _ in $(seq 1 100); do
	rc=0; "$CLI" --socket "$SOCK" fetch api --out "$T/api1.crt" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && { renewed=1; break; }
	sleep 0.1
done
[ "$renewed" -eq 1 ] || fail "renew api: no new certificate within 10 s"
grep '"event":"track.renew"' "$T/state/audit.log" | grep -q '"outcome":"requested"' || fail "renew not audited"
note "tracked NAME shows it; renew NAME: a new certificate now, not at the window, audited (at ${SECONDS} s)"
"$CLI" --socket "$SOCK" untrack api >/dev/null || fail "untrack"
set +e
"$CLI" --socket "$SOCK" fetch api --out "$T/api.crt" >"$T/f3.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q not_found "$T/f3.out" || fail "fetch after untrack: exit $rc"
note "track --order takes an issued order at once; untrack stops it (at ${SECONDS} s)"

# The gateway's own certificate near expiry: health degraded.
openssl x509 -in "$CLIENT_EC_CRT" -noout -pubkey >"$T/client-pub.pem"
printf 'extendedKeyUsage = clientAuth\nkeyUsage = critical, digitalSignature\n' \
	>"$T/client-ext.cnf"
openssl x509 -new -subj /CN=hsmagent-client-ec -force_pubkey "$T/client-pub.pem" \
	-CA "$CA_CRT" -CAkey "$FX/ca.key" -days 5 -extfile "$T/client-ext.cnf" \
	-out "$T/near.pem" 2>"$T/near.err" || { cat "$T/near.err" >&2; fail "near-expiry certificate"; }
mv -f "$T/near.pem" "$T/client.pem"
degraded=0
for _ in $(seq 1 50); do
	"$CLI" --socket "$SOCK" --json health >"$T/health.json" 2>/dev/null || true
	if grep -q 'expires in 4 days (warning from 30)' "$T/health.json"; then degraded=1; break; fi
	sleep 0.2
done
[ "$degraded" -eq 1 ] || { cat "$T/health.json" >&2; fail "near expiry not in health"; }
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); sys.exit(h["status"] != "degraded")' \
	"$T/health.json" || fail "health not degraded near expiry"
note "gateway client certificate 4 days from expiry: health degraded (at ${SECONDS} s)"
