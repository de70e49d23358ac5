# test_hsm_quirks.sh - tokens that are not SoftHSM: what the agent does
# when a token lacks a mechanism, hides one, ignores a parameter,
# restricts a key's mechanisms, or will not make a sign-only key. The
# quirks are those seen on tpm2-pkcs11 (test_tpm.sh, test_tpm_ca.sh) and
# others a vendor's module may have, played by tests/pkcs11_quirks.c in
# front of SoftHSM (HSM_QUIRKS says which):
#   - CKM_RSA_PKCS_PSS not listed but working: used, and logged;
#   - CKM_RSA_PKCS_PSS refused: the RSA key refused at start, one line
#     naming the mechanism (TLS 1.3 needs it);
#   - PSS signed with another salt length than asked: refused at start;
#   - CKA_ALLOWED_MECHANISMS without CKM_ECDSA: refused at start;
#   - no CKM_RSA_PKCS: an RSA TLS key serves TLS 1.3, with a warning; an
#     RSA ACME account key is refused at start;
#   - p11-kit-proxy.so in front of SoftHSM;
#   - a token that answers C_GenerateKeyPair with other keys' handles;
#   - a token that fails a key template saying "no decrypt", and makes keys
#     that decrypt: credential new turns decrypt off and checks; where the
#     token will not, the key is destroyed and the refusal names why.
. "$(dirname "$0")/lib.sh"

QUIRKS=$BUILD/tests/pkcs11-quirks.so
[ -r "$QUIRKS" ] || fail "$QUIRKS not built (make test-run builds it)"
export HSM_QUIRKS_MODULE=$HSM_MODULE

# start_with NAME QUIRKS KEY: hsmagentd -P -n 1 through the quirks module
# against a TLS 1.3 s_server; sets rc, output in $T/NAME.{out,err}.
start_with() {
	local name=$1 q=$2 key=$3 uri cert port
	case $key in
	ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT ;;
	rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT ;;
	esac
	port=$(free_port)
	start_sserver "$port" "$T/server-$name.log" -tls1_3
	write_config "$T/$name.conf" "$uri" "$cert" "$port"
	sed -i "s|^module = .*|module = $QUIRKS|" "$T/$name.conf"
	rc=0
	HSM_QUIRKS=$q "$HSMAGENTD" -P -n 1 -c "$T/$name.conf" >"$T/$name.out" \
		2>"$T/$name.err" || rc=$?
}

# refused NAME PATTERN: exit 78 (configuration: not retried), one error line.
refused() {
	[ "$rc" -eq 78 ] || { cat "$T/$1.err" >&2; fail "$1: exit $rc, expected 78"; }
	expect_in "$T/$1.err" "$2" "$1"
	[ "$(grep -c ': error: ' "$T/$1.err")" -eq 1 ] ||
		{ cat "$T/$1.err" >&2; fail "$1: not exactly one error line"; }
	note "$1: $(grep ': error: ' "$T/$1.err" | sed 's/.*: error: //' | cut -c1-150)"
}

start_with unlisted unlisted-pss rsa
[ "$rc" -eq 0 ] || { cat "$T/unlisted.err" >&2; fail "unlisted PSS: the probe failed"; }
expect_in "$T/unlisted.out" '^1 probes succeeded' "unlisted PSS: probe"
expect_in "$T/unlisted.err" "token 'hsmagent-test' does not list CKM_RSA_PKCS_PSS in its mechanism list, but signs with it \(salt = digest length\)" \
	"unlisted PSS: logged"
note "CKM_RSA_PKCS_PSS not listed, but it signs: used (TLS 1.3 probe ok), logged once"

start_with nopss no-pss rsa
refused nopss "token 'hsmagent-test' cannot sign with CKM_RSA_PKCS_PSS \(salt = digest length\) for key '[^']*gw-rsa', which TLS 1.3 with an RSA key needs: it is not in the mechanism list, and a test signature failed \(C_Sign\(rsa_pss_sha256\): CKR_MECHANISM_INVALID"
# The same token with an EC key: nothing it lacks.
start_with nopss-ec no-pss ec
[ "$rc" -eq 0 ] || { cat "$T/nopss-ec.err" >&2; fail "no PSS, EC key: refused"; }

start_with salt0 pss-salt0 rsa
refused salt0 "cannot sign with CKM_RSA_PKCS_PSS \(salt = digest length\).*it is in the mechanism list, and a test signature failed \(its signature does not verify"

start_with noecdsa allowed-no-ecdsa ec
refused noecdsa "key '[^']*gw-ec': its CKA_ALLOWED_MECHANISMS does not include CKM_ECDSA, which every TLS signature with an EC key needs"

# No CKM_RSA_PKCS: an RSA TLS key still serves TLS 1.3 (a warning names
# what fails); an RSA ACME account key (RS256) is refused at start.
start_with nopkcs1 no-pkcs1 rsa
[ "$rc" -eq 0 ] || { cat "$T/nopkcs1.err" >&2; fail "no PKCS#1, RSA TLS key: refused"; }
expect_in "$T/nopkcs1.err" "warning: hsm: token 'hsmagent-test' cannot sign with CKM_RSA_PKCS for key '[^']*gw-rsa', which a TLS 1.2 server that asks for PKCS#1 v1.5 \(TLS 1.3 and other servers are not affected\) needs" \
	"no PKCS#1: the warning"
note "no CKM_RSA_PKCS, RSA TLS key: TLS 1.3 probe ok, warned: $(grep -o 'cannot sign with CKM_RSA_PKCS for[^(]*' "$T/nopkcs1.err" | head -1)"
write_config "$T/acme.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$(free_port)"
sed -i "s|^module = .*|module = $QUIRKS|" "$T/acme.conf"
printf '%s\n' "[api]" "socket = $T/acme.sock" "policy = $T/acme-policy.conf" \
	"[state]" "dir = $T/state-acme" "[connector acme]" "type = acme" \
	"url = https://localhost:1/dir" "account_key_uri = $RSA_KEY_URI" >>"$T/acme.conf"
printf '%s\n' "[rule a]" "callers = user:root" "connectors = acme" \
	"profiles = default" "san_dns = *.example.test" "max_validity_days = 90" \
	"key_types = ec:p256" >"$T/acme-policy.conf"
rc=0
HSM_QUIRKS=no-pkcs1 "$HSMAGENTD" -P -n 1 -c "$T/acme.conf" >"$T/acme.out" 2>"$T/acme.err" || rc=$?
refused acme "cannot sign with CKM_RSA_PKCS for key '[^']*gw-rsa', which RS256 signatures \(ACME account, audit checkpoint\) needs"

# p11-kit-proxy.so in front of SoftHSM (Debian registers it with p11-kit):
# the proxy gives each C_GetFunctionList caller an instance of its own,
# so the agent's signing session is on an instance libp11 did not
# initialise (C_OpenSession: CKR_CRYPTOKI_NOT_INITIALIZED, before the
# agent initialised it itself).
PROXY=$(ls /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so /usr/lib/*/p11-kit-proxy.so 2>/dev/null | head -1)
[ -n "$PROXY" ] || fail "p11-kit-proxy.so not found (p11-kit-modules; make deps)"
port=$(free_port)
start_sserver "$port" "$T/server-proxy.log" -tls1_3
write_config "$T/proxy.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
sed -i "s|^module = .*|module = $PROXY|" "$T/proxy.conf"
"$HSMAGENTD" -P -n 2 -c "$T/proxy.conf" >"$T/proxy.out" 2>"$T/proxy.err" ||
	{ cat "$T/proxy.out" "$T/proxy.err" >&2; fail "SoftHSM through p11-kit-proxy.so: probe failed"; }
expect_in "$T/proxy.out" '^2 probes succeeded' "through the proxy"
note "SoftHSM through $PROXY: 2 probes"

# ---- credential new on a token that will not make a sign-only key ----
own_token
CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1
printf '%s\n' '[admins]' 'users = root' '[rule c]' 'callers = user:root' \
	'connectors = entrust' 'profiles = issue' 'san_dns = *.c.example.com' \
	'max_validity_days = 30' 'key_types = ec:p256' >"$T/policy.conf"
entrust_config "$CLIENT_EC_CRT"
sed -i "s|^module = .*|module = $QUIRKS|" "$T/a.conf"
export HSM_QUIRKS_MODULE=$HSM_MODULE
privkeys() {
	FX_PIN=$(cat "$PIN_FILE") pkcs11-tool --module "$HSM_MODULE" \
		--token-label "$TOKEN_LABEL" --login --pin env:FX_PIN \
		--list-objects --type privkey 2>/dev/null
}
HSM_QUIRKS=tpm-keygen start_agent "$T/a.conf" "$T/agent-k.err"
"$CLI" --socket "$SOCK" credential new --csr-out "$T/new.csr" >"$T/new.out" 2>&1 ||
	{ cat "$T/new.out" "$T/agent-k.err" >&2; fail "credential new on a token that refuses 'no decrypt'"; }
label=$(sed -n 's/^key \(hsmagent-[0-9TZ]*\) .*/\1/p' "$T/new.out")
expect_in "$T/agent-k.err" "token 'hsmagent-test' refused a key template with CKA_DECRYPT, CKA_UNWRAP and CKA_DERIVE false \(CKR_GENERAL_ERROR\)" \
	"the refused template is logged"
privkeys | grep -A3 "label: *$label\$" | grep -q '^  Usage: *sign$' ||
	{ privkeys >&2; fail "the new key may do more than sign"; }
note "token refuses a 'no decrypt' template: asked again, decrypt turned off, key $label signs only"
kill -TERM "$agent"; wait "$agent" || true
rm -f "$SOCK"

nkeys=$(privkeys | grep -c 'Private Key Object')
HSM_QUIRKS=tpm-keygen,fixed-uses start_agent "$T/a.conf" "$T/agent-f.err"
rc=0
"$CLI" --socket "$SOCK" credential new --csr-out "$T/new2.csr" >"$T/new2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a key that may decrypt was accepted as a credential"
expect_in "$T/new2.out" "may do more than sign \(CKA_DECRYPT true, and the token did not let the agent turn it off\)" "the refusal names why"
[ "$(privkeys | grep -c 'Private Key Object')" -eq "$nkeys" ] ||
	fail "the refused key was left on the token"
note "token keeps decrypt on: credential new refused ($(grep -o 'may do more than sign ([A-Z_]* true' "$T/new2.out")), nothing left on the token"
kill -TERM "$agent"; wait "$agent" || true
rm -f "$SOCK"

# Handles of other keys for the new one (tpm2-pkcs11 1.9 after a destroy):
# never used, not even to destroy; the key named, the others untouched.
pubs() {
	FX_PIN=$(cat "$PIN_FILE") pkcs11-tool --module "$HSM_MODULE" \
		--token-label "$TOKEN_LABEL" --login --pin env:FX_PIN \
		--list-objects --type pubkey 2>/dev/null | grep -c 'Public Key Object'
}
before=$(pubs)
HSM_QUIRKS=reused-handles start_agent "$T/a.conf" "$T/agent-h.err"
rc=0
"$CLI" --socket "$SOCK" credential new --csr-out "$T/new3.csr" >"$T/new3.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "handles of another key were taken for the new key"
expect_in "$T/new3.out" "answered C_GenerateKeyPair with object handles that are not the new key's: key hsmagent-[0-9TZ]* was made but is not used; restart the agent and retire it" \
	"the refusal names the key left"
[ "$(pubs)" -eq $((before + 1)) ] || fail "a key was destroyed through a handle that is not the new key's"
note "handles of another key: refused, nothing destroyed ($before public keys, now $((before + 1)): the new one, left for retire)"
echo "test_hsm_quirks: ok"
