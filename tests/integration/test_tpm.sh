# test_tpm.sh - the product on a second, real PKCS#11 module: the TPM
# (tpm2-pkcs11 on a private swtpm through tpm2-abrmd, made and stopped by
# tpm-fixtures/tpm-token.sh), with keys generated in the TPM:
#   - hsmagentd -t with the EC and the RSA key (the public key read
#     without a login);
#   - -P probes with both keys through the sandboxed child, EC and RSA
#     over TLS 1.3 (RSA-PSS, salt = digest length, which tpm2-pkcs11 does
#     but does not list), RSA PKCS#1 v1.5 and ECDSA with SHA-384 (raw
#     CKM_ECDSA over a digest longer than the key) over TLS 1.2;
#   - a wrong PIN: one C_Login, counted by the TPM itself (its
#     dictionary-attack counter goes up by exactly one), one clear line;
#   - the TPM in dictionary-attack lockout, which the token's flags never
#     show: the right PIN refused with CKR_PIN_LOCKED, the lockout named;
#   - -t and the same probes through p11-kit-proxy.so (Debian registers the
#     TPM module with p11-kit; the proxy hands each caller an instance of
#     its own, which the agent initialises for its signing session);
#   - the rest in test_tpm_ca.sh (Entrust, ACME, credential rotation).
# Skipped, saying why, only when swtpm cannot start here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tpm_lib.sh"

tpm_setup

# ---- hsmagentd -t, both keys ---------------------------------------------
port=$(free_port)
for k in ec rsa; do
	case $k in
	ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT ;;
	rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT ;;
	esac
	write_config "$T/t-$k.conf" "$uri" "$cert" "$port"
	"$HSMAGENTD" -t -c "$T/t-$k.conf" >"$T/t.out" 2>&1 ||
		{ cat "$T/t.out" >&2; fail "-t with the TPM $k key"; }
done
note "hsmagentd -t: EC and RSA keys in the TPM"

# ---- probes: mTLS through the sandboxed child ----------------------------
# probe NAME KEY TLS [s_server options]: two probes, each one signature in
# the TPM; s_server names the client certificate it verified.
probe() {
	local name=$1 key=$2 tls=$3 uri cert subj proto
	shift 3
	case $key in
	ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT subj=hsmagent-client-tpm-ec ;;
	rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT subj=hsmagent-client-tpm-rsa ;;
	esac
	case $tls in 1_3) proto=TLSv1.3 ;; 1_2) proto=TLSv1.2 ;; esac
	port=$(free_port)
	start_sserver "$port" "$T/server-$name.log" "-tls$tls" "$@"
	write_config "$T/$name.conf" "$uri" "$cert" "$port"
	[ "$tls" = 1_3 ] || echo "allow_tls12 = yes" >>"$T/$name.conf"
	"$HSMAGENTD" -P -n 2 -c "$T/$name.conf" >"$T/$name.out" 2>"$T/$name.err" ||
		{ cat "$T/$name.out" "$T/$name.err" >&2; fail "$name: probe failed"; }
	expect_in "$T/$name.out" '^2 probes succeeded, 0 steps failed' "$name"
	expect_in "$T/$name.out" "HTTP 200, $proto" "$name: version"
	expect_in "$T/$name.out" "Subject: CN ?= ?$subj$" "$name: the TPM key's certificate"
	expect_in "$T/$name.err" "signatures granted 2, refused 0" "$name: signed in the TPM"
	note "$name: $key over $proto ${*:-}: 2 probes"
}
probe ec13 ec 1_3
expect_in "$T/ec13.err" "event=hsm.key_check outcome=ok target=token=$TOKEN_LABEL;object=tpm-ec" "the key attribute checks on the TPM key"
probe rsa13 rsa 1_3
probe rsa12-pkcs1 rsa 1_2 -client_sigalgs RSA+SHA256
# CKM_ECDSA over a digest longer than the P-256 key: the TPM truncates
# it as ECDSA says (a SHA-384 signature with a P-256 key, TLS 1.2).
probe ec12-sha384 ec 1_2 -client_sigalgs ECDSA+SHA384
# What the agent found out about the token at start.
expect_in "$T/rsa13.err" "token 'hsmagent-tpm' does not list CKM_RSA_PKCS_PSS in its mechanism list, but signs with it \\(salt = digest length\\)" \
	"the unlisted PSS is named"

# ---- a wrong PIN: exactly one attempt, seen by the TPM -------------------
before=$(tpm_da_counter)
PIN_OVERRIDE=$TPM_WRONG_PIN_FILE write_config "$T/wrongpin.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
rc=0
"$HSMAGENTD" -P -c "$T/wrongpin.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 77 ] || { cat "$T/err" >&2; fail "wrong PIN: exit $rc, expected 77"; }
expect_in "$T/err" "login to token '$TOKEN_LABEL' failed .*none will be retried" "wrong PIN"
n=$(grep -c ': error: ' "$T/err" || true)
[ "$n" -eq 1 ] || { cat "$T/err" >&2; fail "wrong PIN: $n error lines, expected 1"; }
after=$(tpm_da_counter)
[ "$after" -eq $((before + 1)) ] ||
	fail "wrong PIN: the TPM's lockout counter went $before -> $after, expected one attempt"
note "wrong PIN: exit 77, one attempt (TPM lockout counter $before -> $after): $(grep ': error: ' "$T/err" | sed 's/.*: error: //' | cut -c1-90)"
# The right PIN still works (the counter is below the TPM's limit).
probe ec13-after ec 1_3

# ---- the TPM in dictionary-attack lockout --------------------------------
# Two more wrong PINs (pkcs11-tool, the PIN from its environment) reach
# the TPM's limit; the token's flags never say so (no CKF_USER_PIN_COUNT_LOW,
# _FINAL_TRY or _LOCKED), so the agent's check before the login cannot see
# it, and the right PIN is refused: one attempt, the lockout named.
max=$(tpm2_getcap properties-variable | sed -n 's/^TPM2_PT_MAX_AUTH_FAIL: *//p')
while [ "$(tpm_da_counter)" -lt $((max)) ]; do
	TPM_TEST_PIN=$(cat "$TPM_WRONG_PIN_FILE") pkcs11-tool --module "$TPM_MODULE" \
		--token-label "$TOKEN_LABEL" --login --pin env:TPM_TEST_PIN \
		--list-objects >/dev/null 2>&1 && fail "the wrong PIN logged in"
done
pkcs11-tool --module "$TPM_MODULE" --list-token-slots 2>/dev/null |
	grep -A6 "token label *: $TOKEN_LABEL" >"$T/flags"
expect_not_in "$T/flags" 'PIN (count low|final try|locked)' "the token reports no PIN state"
rc=0
"$HSMAGENTD" -P -c "$T/ec13.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 77 ] || { cat "$T/err" >&2; fail "TPM lockout: exit $rc, expected 77"; }
expect_in "$T/err" "failed \(CKR_PIN_LOCKED\).*dictionary-attack lockout.*One attempt was made" \
	"the lockout is named"
[ "$(grep -c ': error: ' "$T/err")" -eq 1 ] || fail "TPM lockout: more than one error line"
tpm2_dictionarylockout --clear-lockout >/dev/null 2>&1 || fail "cannot clear the TPM's lockout"
note "TPM in lockout ($((max)) failures): the right PIN refused once, exit 77, the lockout named"

# ---- the same through p11-kit-proxy.so -----------------------------------
tpm_p11kit
HSM_MODULE=$P11KIT_PROXY
write_config "$T/proxy-t.conf" "$RSA_KEY_URI" "$CLIENT_RSA_CRT" "$port"
"$HSMAGENTD" -t -c "$T/proxy-t.conf" >"$T/t.out" 2>&1 ||
	{ cat "$T/t.out" >&2; fail "-t through the proxy"; }
probe proxy-ec13 ec 1_3
probe proxy-rsa13 rsa 1_3
note "through $P11KIT_PROXY (the TPM module registered in $P11KIT_TPM_CONF)"
echo "test_tpm: ok"
