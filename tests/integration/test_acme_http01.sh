#!/usr/bin/env bash
# test_acme_http01.sh - real http-01 validation (RFC 8555 §8.3): Pebble
# resolves every name to 127.0.0.1 (pebble-challtestsrv's DNS) and fetches
# http://NAME:PORT/.well-known/acme-challenge/TOKEN from the listener the
# agent's parent opened before the sandbox; the sandboxed child answers
# with the key authorization while the order waits, and only then. The
# account key is EC P-256 in SoftHSM (ES256), EAB required.
#   - issued after real validation of two names;
#   - the child answered Pebble, and answers nothing once the order is done;
#   - a listener Pebble cannot reach: the authorization is invalid, and
#     the order rejected saying so;
#   - no listener configured: the order rejected with the reason, nothing
#     sent to the challenge.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"

SOCK=$T/agent.sock
port=$(free_port)
PEBBLE_AUTHZREUSE=0 start_pebble http-01

# acme_agent_config FILE [LISTEN]: ES256 account; http01_listen if given.
acme_agent_config() {
	pebble_agent_config "$1" "$ACME_EC_KEY_URI" "$PEBBLE_EAB_HMAC_FILE" \
		${2:+"http01_listen = $2"}
}

challenge_get() {	# TOKEN: the HTTP status the listener answers
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://127.0.0.1:$PEBBLE_HTTP_PORT/.well-known/acme-challenge/$1" || true
}

acme_agent_config "$T/a.conf" "127.0.0.1:$PEBBLE_HTTP_PORT"
start_agent
acme_csr one alt-one.example.test
acme_enroll one
[ "$rc" -eq 0 ] || { cat "$T/one.out" "$T/one.err" "$T/agent.err" >&2; tail -30 "$T/pebble/pebble.log" >&2; fail "enroll with http-01: rc $rc"; }
acme_same_key one || fail "the certificate is not for the CSR's key"
n=$(grep -c 'validation .*succeeded\|set VALID by completed challenge' "$T/pebble/pebble.log" || true)
[ "$n" -ge 2 ] || { tail -40 "$T/pebble/pebble.log" >&2; fail "Pebble did not validate both names ($n)"; }
expect_not_in "$T/pebble/pebble.log" 'PEBBLE_VA_ALWAYS_VALID is enabled' "validation was real"
expect_in "$T/agent.err" 'http-01: answered the challenge for token' "the child answered the validation requests"
note "issued after real http-01 validation of 2 names ($n validations in Pebble's log)"

# The order is done: the child answers nothing (the listener is not even
# polled without a token; a connection waits in the backlog unanswered).
token=$(grep -Eo 'acme-challenge/[A-Za-z0-9_-]+' "$T/pebble/pebble.log" | head -1 | cut -d/ -f2)
[ -n "$token" ] || token=$(grep -Eo 'challenge [A-Za-z0-9_-]{20,}' "$T/pebble/pebble.log" | head -1 | cut -d' ' -f2)
code=$(challenge_get "$token")
[ "$code" != 200 ] || fail "the challenge answer is still served after the order ended"
note "after the order: the token is no longer answered (HTTP '$code')"
kill -TERM "$agent"; wait "$agent" || true

# A listener Pebble cannot reach: validation fails, the order says so.
acme_agent_config "$T/b.conf" "127.0.0.1:$(free_port)"
sed -i "s|^dir = .*|dir = $T/state-b|" "$T/b.conf"
start_agent "$T/b.conf" "$T/agent-b.err"
acme_csr two
acme_enroll two
[ "$rc" -ne 0 ] || fail "issued although Pebble could not reach the listener"
grep -q 'authorization for two.example.test is invalid' "$T/two.out" "$T/two.err" ||
	{ cat "$T/two.out" "$T/two.err" "$T/agent-b.err" >&2; fail "failed validation not reported"; }
note "unreachable listener: $(grep -ho 'the ACME authorization for [^"]*' "$T/two.out" "$T/two.err" | head -1)"
kill -TERM "$agent"; wait "$agent" || true

# No listener at all: refused before any challenge is triggered.
acme_agent_config "$T/c.conf"
sed -i "s|^dir = .*|dir = $T/state-c|" "$T/c.conf"
start_agent "$T/c.conf" "$T/agent-c.err"
chal_before=$(grep -c 'POST /chalZ/' "$T/pebble/pebble.log" || true)
acme_csr three
acme_enroll three
[ "$rc" -ne 0 ] || fail "issued without a listener"
grep -q 'answers http-01 only (with http01_listen set), dns-01 is not supported' "$T/three.out" "$T/three.err" ||
	{ cat "$T/three.out" "$T/three.err" >&2; fail "no listener: reason not given"; }
[ "$(grep -c 'POST /chalZ/' "$T/pebble/pebble.log" || true)" -eq "$chal_before" ] ||
	fail "a challenge was triggered without a listener"
note "no listener: rejected before any challenge, with the reason"
kill -TERM "$agent"; wait "$agent" || true
echo "test_acme_http01: ok"
