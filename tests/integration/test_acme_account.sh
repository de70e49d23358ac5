#!/usr/bin/env bash
# test_acme_account.sh - the ACME pieces against Pebble before the
# connector exists: tests/acme_account_probe.c registers an account whose
# key is in SoftHSM, with External Account Binding (the MAC made from
# the key file as the parent will make it), every JWS checked by
# acme_sign_policy and signed in the token. Pebble accepts the JWS and
# the binding (ES256 and RS256), finds the account again by its key
# (onlyReturnExisting), refuses a wrong EAB key with its own problem
# type, and a key it never saw with accountDoesNotExist.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"

PROBE=$BUILD/tests/acme-account-probe
[ -x "$PROBE" ] || fail "$PROBE not built"
start_pebble always-valid

# probe ACCOUNT_KEY_URI EAB_KEY_FILE new|existing: output in $T/probe.out.
probe() {
	rc=0
	"$PROBE" "$PEBBLE_DIR_URL" "$PEBBLE_TLS_CA" "$HSM_MODULE" "$EC_KEY_URI" \
		"$1" "$CLIENT_EC_CRT" "$PIN_FILE" "$PEBBLE_EAB_KID" "$2" "$3" \
		>"$T/probe.out" 2>"$T/probe.err" || rc=$?
}

probe "$EC_KEY_URI" "$PEBBLE_EAB_HMAC_FILE" new
[ "$rc" -eq 0 ] || { cat "$T/probe.out" "$T/probe.err" >&2; fail "newAccount (ES256): rc $rc"; }
expect_in "$T/probe.out" '^account https://localhost:[0-9]+/my-account/[^ ]+ 201$' \
	"ES256 account created"
acct=$(awk '{print $2}' "$T/probe.out")
expect_in "$T/pebble/pebble.log" "Successful newAccount Binding.*$PEBBLE_EAB_KID" \
	"Pebble verified the binding"
note "ES256 account key in the HSM, EAB: created $acct"

probe "$EC_KEY_URI" "$PEBBLE_EAB_HMAC_FILE" existing
[ "$rc" -eq 0 ] || { cat "$T/probe.out" "$T/probe.err" >&2; fail "onlyReturnExisting: rc $rc"; }
[ "$(cat "$T/probe.out")" = "account $acct 200" ] ||
	fail "onlyReturnExisting: $(cat "$T/probe.out"), want $acct 200"
note "onlyReturnExisting: the same account, found by its key"

probe "$RSA_KEY_URI" "$PEBBLE_EAB_HMAC_FILE" existing
[ "$rc" -eq 1 ] || fail "an unknown key: rc $rc"
expect_in "$T/probe.out" '^problem urn:ietf:params:acme:error:accountDoesNotExist' \
	"an unknown key"

pebble_eab_key "$T/wrong.hmac"
probe "$RSA_KEY_URI" "$T/wrong.hmac" new
[ "$rc" -eq 1 ] || fail "a wrong EAB key: rc $rc"
expect_in "$T/probe.out" '^problem urn:ietf:params:acme:error:unauthorized: .*HTTP 403' \
	"a wrong EAB key"
note "wrong EAB key: $(cat "$T/probe.out")"

probe "$RSA_KEY_URI" "$PEBBLE_EAB_HMAC_FILE" new
[ "$rc" -eq 0 ] || { cat "$T/probe.out" "$T/probe.err" >&2; fail "newAccount (RS256): rc $rc"; }
expect_in "$T/probe.out" ' 201$' "RS256 account created"
note "RS256 account key in the HSM, EAB: created"
echo "test_acme_account: ok"
