# test_acme_sign.sh - the ACME signer's start-up checks in the parent
# (what a hijacked child tries at run time is test_hostile_child.sh):
# the http-01 port is bound by the parent and cannot move on SIGHUP; an
# account key that is not on the token, or extractable, or that is the
# TLS client key or another connector's account key (one key, one role,
# compared by public key) stops the agent with a clear message; a type
# the child lacks stops it without a restart loop.
. "$(dirname "$0")/lib.sh"

SOCK=$T/agent.sock
port=$(free_port)
acme_config() {	# acme_config FILE ACCOUNT_KEY_URI [CONNECTOR]
	CONNECTOR_OVERRIDE=${3:-$CONNECTOR} \
		write_config "$1" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
	printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" \
		"[state]" "dir = $T/state" "[connector acme]" "type = acme" \
		"url = https://localhost:14000/dir" "account_key_uri = $2" \
		"contact = mailto:pki@example.org" "[connector other]" \
		"type = entrust" "url = https://localhost:$port/cagw" \
		"ca_id = ca~1" >>"$1"
}
printf '%s\n' "[rule r]" "callers = user:root" "connectors = acme" \
	"profiles = p" "san_dns = *.example.com" "max_validity_days = 30" \
	"key_types = ec:p256" >"$T/policy.conf"

acme_config "$T/a.conf" "$ACME_EC_KEY_URI"
h01=$(free_port)
sed -i "/^contact = /a http01_listen = 127.0.0.1:$h01" "$T/a.conf"

# The http-01 listener is bound at start: SIGHUP cannot move it.
rm -f "$SOCK"
start_agent "$T/a.conf" "$T/hup.err"
expect_soon "$T/hup.err" "http-01: listening on 127.0.0.1:$h01" "http-01 port bound by the parent"
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
# One key, one role: the TLS key (named as it is, then by its id) as an
# account key; two connectors with one account key.
expect_stop "the TLS key as account key" "$EC_KEY_URI" \
	'\[connector acme\] account_key_uri names the TLS client key'
expect_stop "the TLS key as account key, another URI" "pkcs11:token=$TOKEN_LABEL;id=%01;type=private" \
	'\[connector acme\] account_key_uri names the TLS client key'
acme_config "$T/d.conf" "$ACME_EC_KEY_URI"
printf '%s\n' "[connector acme2]" "type = acme" "url = https://localhost:14001/dir" \
	"account_key_uri = pkcs11:token=$TOKEN_LABEL;object=acme-ec" >>"$T/d.conf"
rm -f "$SOCK"
rc=0
timeout 30 "$HSMAGENTD" -c "$T/d.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$T/err" >&2; fail "shared account key: rc $rc"; }
expect_in "$T/err" '\[connector acme\] and \[connector acme2\] have the same ACME account key' \
	"two connectors, one account key"
note "one key, one role: the TLS key (by label and by id) and a shared account key refused at start"

# A type the product's child does not have (the test CA): the child
# refuses the configuration, and the agent stops with its reason, no
# restart loop.
rm -f "$SOCK"
acme_config "$T/c.conf" "$ACME_EC_KEY_URI" "$CONNECTOR"
sed -i 's/^type = entrust$/type = testca/' "$T/c.conf"
rc=0
timeout 30 "$HSMAGENTD" -c "$T/c.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 78 ] || { cat "$T/err" >&2; fail "type testca in the product child: rc $rc, expected 78 (configuration)"; }
expect_in "$T/err" 'error: child\[[0-9]+\]: connector other: type "testca" is not in this build' \
	"the child names the connector and the type"
expect_in "$T/err" 'error: supervisor: the connector child refused the configuration' \
	"the agent says why it stops"
expect_not_in "$T/err" 'restarting the connector child' "no restart"
note "a type the child lacks: $(grep 'not in this build' "$T/err" | sed 's/.*error: //')"
echo "test_acme_sign: ok"
