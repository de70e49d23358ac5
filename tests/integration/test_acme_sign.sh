# test_acme_sign.sh - the parent's answer to IPC_JWS_SIGN_REQUEST, driven
# by a test child (tests/acme_sign_child.c) during the start-up
# validation of an ACME connector: a JWS the ACME policy allows is signed
# by the account key in SoftHSM (and verifies); one for another server,
# one without a nonce, one for no job in flight and one for a CA job of
# a connector that is not ACME are refused; each verdict is audited; a
# request of an unknown kind kills the child. Then the start-up checks:
# an account key that is not on the token, or extractable, stops the
# agent with a clear message.
. "$(dirname "$0")/lib.sh"

SOCK=$T/agent.sock
port=$(free_port)
acme_config() {	# acme_config FILE ACCOUNT_KEY_URI [CONNECTOR]
	CONNECTOR_OVERRIDE=${3:-$BUILD/tests/acme-sign-child} \
		write_config "$1" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
	cat >>"$1" <<EOC
[api]
socket = $SOCK
policy = $T/policy.conf
[state]
dir = $T/state
[connector acme]
type = acme
url = https://localhost:14000/dir
account_key_uri = $2
contact = mailto:pki@example.org
[connector other]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca~1
EOC
}
cat >"$T/policy.conf" <<EOF
[rule r]
callers = user:root
connectors = acme
profiles = p
san_dns = *.example.com
max_validity_days = 30
key_types = ec:p256
EOF

# The account key is the client key here (hsm_account allows it), so
# the test child can verify the signature with the certificate.
acme_config "$T/a.conf" "$EC_KEY_URI"
# The http-01 listener: bound by the parent, fd 4 in the child.
h01=$(free_port)
sed -i "/^contact = /a http01_listen = 127.0.0.1:$h01" "$T/a.conf"
start_agent "$T/a.conf"
for _ in $(seq 1 100); do
	grep -q 'killing connector child' "$T/agent.err" && break
	sleep 0.1
done
expect_in "$T/agent.err" 'acme-sign: valid=granted verify=ok url=refused nonce=refused nojob=refused other=refused' \
	"verdicts"
expect_in "$T/agent.err" "http-01: listening on 127.0.0.1:$h01" "http-01 port bound"
expect_in "$T/agent.err" 'acme-sign: fd 4: tcp listening, nothing past it' \
	"the child holds the listener as fd 4"
expect_in "$T/agent.err" 'sign: url: job [0-9]+ jws-account' "wrong server logged"
expect_in "$T/agent.err" 'sign: nonce: job [0-9]+ jws-account' "missing nonce logged"
expect_in "$T/agent.err" 'sign: refused-no-job: job [0-9]+ jws-account' "no job logged"
expect_in "$T/agent.err" 'killing connector child [0-9]+: malformed or premature jws-sign-request' \
	"an unknown kind kills the child"
kill -TERM "$agent"; wait "$agent" || true
expect_in "$T/agent.err" 'signatures granted 1, refused 4 \(scheme 0, digest-length 0, no-job 2, rate 0, acme-policy 2\)' \
	"counters"
A=$T/state/audit.log
grep '"event":"sign.granted"' "$A" | grep '"scheme":"jws-account"' | grep -q '"connector":"acme"' ||
	{ cat "$A" >&2; fail "sign.granted for the ACME job not audited"; }
for why in url nonce refused-no-job; do
	grep '"event":"sign.refused"' "$A" | grep -q "\"outcome\":\"$why\"" ||
		{ cat "$A" >&2; fail "sign.refused $why not audited"; }
done
[ "$(grep -c '"event":"sign.refused"' "$A")" -eq 4 ] || fail "expected 4 sign.refused records"
"$BUILD/hsmagent" audit verify "$A" >/dev/null || fail "audit log broken"
note "granted and verified; refused: another server, no nonce, no job, not ACME; audited"

# The http-01 listener is bound at start: SIGHUP cannot move it.
rm -f "$SOCK"
start_agent "$T/a.conf" "$T/hup.err"
sed -i "s|^http01_listen = .*|http01_listen = 127.0.0.1:$(free_port)|" "$T/a.conf"
kill -HUP "$agent"
for _ in $(seq 1 100); do
	grep -q 'event=config.reload' "$T/hup.err" && break
	sleep 0.05
done
expect_in "$T/hup.err" 'event=config.reload outcome=failed: \[connector\] http01_listen \(bound at start\) changed: that needs a restart' \
	"http01_listen is not reloaded"
kill -TERM "$agent"; wait "$agent" || true
note "http-01: the parent binds, the child holds fd 4; SIGHUP cannot move it"

# Start-up: the account key is checked after the login, before serving.
expect_stop() {	# expect_stop NAME URI PATTERN
	rm -f "$SOCK"
	acme_config "$T/b.conf" "$2"
	rc=0
	timeout 30 "$HSMAGENTD" -c "$T/b.conf" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$T/err" >&2; fail "$1: rc $rc"; }
	expect_in "$T/err" "$3" "$1"
	note "$1: $(grep ': error: ' "$T/err" | tail -n1 | sed 's/.*: error: //' | cut -c1-110)"
}
expect_stop "account key on another token" "pkcs11:token=other;object=gw-ec" \
	'\[connector acme\] account key .*not on the agent.s token'
expect_stop "extractable account key" "$EXTRACTABLE_KEY_URI" \
	'\[connector acme\] .*extractable'

# A type the product's child does not have (the test CA): the child
# refuses the configuration, and the agent stops with its reason, no
# restart loop.
rm -f "$SOCK"
acme_config "$T/c.conf" "$EC_KEY_URI" "$CONNECTOR"
sed -i 's/^type = entrust$/type = testca/' "$T/c.conf"
rc=0
timeout 30 "$HSMAGENTD" -c "$T/c.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/err" >&2; fail "type testca in the product child: rc $rc, expected 1"; }
expect_in "$T/err" 'error: child\[[0-9]+\]: connector other: type "testca" is not in this build' \
	"the child names the connector and the type"
expect_in "$T/err" 'error: supervisor: the connector child refused the configuration' \
	"the agent says why it stops"
expect_not_in "$T/err" 'restarting the connector child' "no restart"
note "a type the child lacks: $(grep 'not in this build' "$T/err" | sed 's/.*error: //')"
echo "test_acme_sign: ok"
