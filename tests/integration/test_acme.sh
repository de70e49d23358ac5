#!/usr/bin/env bash
# test_acme.sh - the ACME connector against Debian's Pebble, which nobody
# on this project wrote, through hsmagent enroll and revoke: External
# Account Binding required, the account key (RSA, RS256) a second key in
# SoftHSM next to the agent's EC key, every JWS signed by the parent.
# Pebble validates every challenge at once (PEBBLE_VA_ALWAYS_VALID) and
# rejects 30 % of nonces (badNonce, retried by the connector):
#   - an order issued with its chain, the certificate carrying the CSR's
#     key; the chain the one preferred (Pebble's alternate root);
#   - a second order for the same name: the authorization is reused,
#     already valid, and nothing is validated again;
#   - the account is found again by its key after a restart, not created;
#   - revoke (Pebble's own revokeCert), then a second revoke;
#   - a wrong EAB key: the order rejected with Pebble's problem type;
#   - an identifier Pebble refuses: its problem type reaches the caller;
#   - every account-key signature audited, the log verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
port=$(free_port)
PEBBLE_AUTHZREUSE=100 PEBBLE_ALTERNATE_ROOTS=1 start_pebble always-valid 30
# The chain to prefer: the alternate one, named by its root.
pebble_roots "$T/roots1.pem" 1
ROOT1=$(openssl x509 -in "$T/roots1.pem" -noout -subject -nameopt multiline |
	sed -n 's/^ *commonName *= //p')
[ -n "$ROOT1" ] || fail "no alternate root from Pebble"

# acme_agent_config FILE EAB_FILE: the RSA key as the ACME account
# (the EC key is the agent's TLS key), the alternate chain preferred.
acme_agent_config() {
	pebble_agent_config "$1" "$RSA_KEY_URI" "$2" \
		"contact = mailto:pki@example.test" "preferred_chain = $ROOT1" \
		"http01_listen = 127.0.0.1:$PEBBLE_HTTP_PORT"
}

# An EAB key file that would fail at the first binding is named at once.
cp "$PEBBLE_EAB_HMAC_FILE" "$T/loose.hmac"
secret_file "$T/loose.hmac"
chmod 0644 "$T/loose.hmac"
acme_agent_config "$T/a.conf" "$T/loose.hmac"
rc=0
"$HSMAGENTD" -t -c "$T/a.conf" >"$T/t.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "-t passed an EAB key file readable by all"
expect_in "$T/t.out" '\[connector pebble\] .*EAB HMAC key.*loose.hmac' "-t names the EAB key file"
note "-t: $(grep -o '\[connector pebble\].*' "$T/t.out" | head -1 | cut -c1-120)"

acme_agent_config "$T/a.conf" "$PEBBLE_EAB_HMAC_FILE"
start_agent
wait_validated
python3 - "$T/health.json" <<'PY' || { cat "$T/health.json" >&2; fail "health after validation"; }
import json, sys
h = json.load(open(sys.argv[1]))
assert h["connectors"]["pebble"] == "ok", h["connectors"]
PY
note "validation at start: Pebble's directory read, EAB required and configured"

acme_csr one alt-one.example.test
acme_enroll one
[ "$rc" -eq 0 ] || { cat "$T/one.out" "$T/one.err" "$T/agent.err" >&2; fail "enroll: rc $rc"; }
acme_same_key one || fail "the certificate is not for the CSR's key"
openssl x509 -in "$T/one.crt" -noout -ext subjectAltName | grep -q 'DNS:alt-one.example.test' ||
	fail "the certificate lacks the second name"
# The preferred (alternate) chain: its intermediate is under root 1.
openssl x509 -in "$T/one.chain" -noout -issuer -nameopt multiline | grep -qF "$ROOT1" ||
	{ openssl x509 -in "$T/one.chain" -noout -subject -issuer >&2; fail "not the preferred chain ($ROOT1)"; }
openssl verify -CAfile "$T/roots1.pem" "$T/one.crt" >/dev/null ||
	fail "the certificate does not chain to the preferred root"
expect_in "$T/agent.err" 'acme: connector pebble: account https://localhost:[0-9]+/my-account/[^ ]+ created' \
	"account created with EAB"
expect_in "$T/pebble/pebble.log" "Successful newAccount Binding.*$PEBBLE_EAB_KID" \
	"Pebble verified the binding"
acct=$(grep -Eo 'my-account/[^ ]+' "$T/agent.err" | head -1)
# The parent pinned the URLs the real connector used, learned from its
# first requests: the directory's endpoints and this account.
expect_in "$T/agent.err" 'acme: connector pebble: newOrder pinned to https://localhost:[0-9]+/order-plz' \
	"newOrder pinned"
expect_in "$T/agent.err" "acme: connector pebble: account pinned to https://localhost:[0-9]+/$acct" \
	"the account URL pinned"
note "issued through newAccount (EAB), newOrder, 2 authorizations, finalize, download: $(openssl x509 -in "$T/one.crt" -noout -serial)"
note "the preferred chain, offered as an alternate: up to \"$ROOT1\""

# The same names again: the authorizations come back valid (reused).
chal_before=$(grep -c 'POST /chalZ/' "$T/pebble/pebble.log" || true)
acme_csr one alt-one.example.test
acme_enroll one
[ "$rc" -eq 0 ] || { cat "$T/one.out" "$T/one.err" >&2; fail "second enroll: rc $rc"; }
acme_same_key one || fail "second certificate: wrong key"
chal_after=$(grep -c 'POST /chalZ/' "$T/pebble/pebble.log" || true)
[ "$chal_after" -eq "$chal_before" ] ||
	fail "valid authorizations were validated again ($chal_before -> $chal_after challenge POSTs)"
note "already-valid authorizations: issued with no challenge answered"

# Restart: the account is found by its key, not created again.
kill -TERM "$agent"; wait "$agent" || true
start_agent "$T/a.conf" "$T/agent2.err"
acme_csr two
acme_enroll two
[ "$rc" -eq 0 ] || { cat "$T/two.out" "$T/two.err" "$T/agent2.err" >&2; fail "enroll after restart: rc $rc"; }
expect_in "$T/agent2.err" "acme: connector pebble: account https://localhost:[0-9]+/$acct\$" \
	"the same account after the restart"
expect_not_in "$T/agent2.err" 'account .* created' "no second account"
note "after a restart: the account found again by its key ($acct)"

# Revoke through Pebble's revokeCert, signed by the account key.
serial=$(serial_of "$T/two.crt" | sed "s/^0*//")
"$CLI" --socket "$SOCK" revoke --serial "$serial" --reason superseded >"$T/rv.out" 2>&1 ||
	{ cat "$T/rv.out" "$T/agent2.err" >&2; fail "revoke"; }
"$CLI" --socket "$SOCK" list >"$T/list.out"
grep -q "revoked" "$T/list.out" || { cat "$T/list.out" >&2; fail "not revoked in the list"; }
expect_in "$T/pebble/pebble.log" 'POST /revoke-cert' "Pebble saw the revocation"
note "revoked: $serial"

# A name on Pebble's blocklist: its problem type reaches the caller.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/bad.key" -out "$T/bad.csr" -subj "/CN=$PEBBLE_BLOCKED_NAME" \
	-addext "subjectAltName=DNS:$PEBBLE_BLOCKED_NAME" 2>/dev/null
acme_enroll bad
[ "$rc" -ne 0 ] || fail "an identifier Pebble refuses was issued"
grep -q 'urn:ietf:params:acme:error:rejectedIdentifier' "$T/bad.out" "$T/bad.err" ||
	{ cat "$T/bad.out" "$T/bad.err" >&2; fail "the problem type did not reach the caller"; }
note "refused identifier: $(grep -ho 'urn:ietf:params:acme:error:[A-Za-z]*' "$T/bad.out" "$T/bad.err" | head -1)"
kill -TERM "$agent"; wait "$agent" || true

# A wrong EAB key on a fresh account key: Pebble's 403 unauthorized.
pebble_eab_key "$T/wrong.hmac"
acme_agent_config "$T/b.conf" "$T/wrong.hmac"
sed -i "s|^account_key_uri = .*|account_key_uri = $ACME_EC_KEY_URI|" "$T/b.conf"
sed -i "s|^dir = .*|dir = $T/state-b|" "$T/b.conf"
start_agent "$T/b.conf" "$T/agent3.err"
acme_csr three
acme_enroll three
[ "$rc" -ne 0 ] || fail "issued with a wrong EAB key"
grep -q 'urn:ietf:params:acme:error:unauthorized' "$T/three.out" "$T/three.err" ||
	{ cat "$T/three.out" "$T/three.err" "$T/agent3.err" >&2; fail "wrong EAB: no unauthorized problem"; }
note "wrong EAB key: $(grep -ho 'ACME newAccount: [^"]*' "$T/three.out" "$T/three.err" | head -1)"
kill -TERM "$agent"; wait "$agent" || true

# Pebble rejected 30 % of nonces (of the requests that check one; runs
# here saw 3 to 14 rejections at 20 %): none at all would be a fluke of
# well under 1 in 10,000. Ten in a row, which would fail a job, is
# 0.3^10, 6 in a million per request.
bad=$(cat "$T/agent.err" "$T/agent2.err" | grep -c 'badNonce on .*, sent again' || true)
[ "$bad" -ge 1 ] || fail "no badNonce retried (Pebble rejects 30 % of nonces)"
note "badNonce answers retried: $bad, every order still issued"

A=$T/state/audit.log
n=$(grep '"event":"sign.granted"' "$A" | grep -c '"scheme":"jws-account"' || true)
[ "$n" -ge 10 ] || fail "only $n account-key signatures audited"
# Counted, not grep -q: under pipefail an early exit would fail the pipe.
e=$(grep '"event":"sign.granted"' "$A" | grep -c '"scheme":"jws-eab"' || true)
[ "$e" -ge 1 ] || fail "the EAB MAC was not audited"
"$CLI" audit verify "$A" >/dev/null || fail "audit log broken"
note "$n account-key signatures audited; the log verifies"
echo "test_acme: ok"
