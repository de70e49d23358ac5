# tpm_lib.sh - the TPM tests' token; sourced after lib.sh, never run.

# shellcheck source=/dev/null
. "$ROOT/tpm-fixtures/tpm-token.sh"

# tpm_setup: a private swtpm + tpm2-pkcs11 token in $T/tpm (stopped by
# the EXIT trap), and the fixture variables the lib.sh helpers use
# (HSM_MODULE, EC_KEY_URI, RSA_KEY_URI, ACME_EC_KEY_URI, CLIENT_EC_CRT,
# CLIENT_RSA_CRT, PIN_FILE, TOKEN_LABEL) pointed at it; the test CA stays
# the fixtures'. When swtpm cannot start here: SKIP with the reason, exit 0.
tpm_setup() {
	local rc=0 t0=$SECONDS
	CLEANUP_HOOK=tpm_token_stop
	tpm_token_start "$T/tpm" >"$T/tpm-start.log" 2>&1 || rc=$?
	case $rc in
	0) ;;
	2)
		echo "SKIP: $TPM_SKIP_REASON"
		exit 0 ;;
	*)
		cat "$T/tpm-start.log" >&2
		fail "the TPM token could not be made (not a skip: swtpm started)" ;;
	esac
	secret_file "$T/tpm/pin" "$T/tpm/so-pin" "$T/tpm/wrong-pin"
	# The TPM's own state and the store: binary, not ours to scan.
	find "$T/tpm/swtpm" "$T/tpm/store" -type f >>"$T/.not-scanned"
	set -a
	# shellcheck source=/dev/null
	. "$T/tpm/tpm-env.sh"
	set +a
	HSM_MODULE=$TPM_MODULE
	tpm_asan
	TOKEN_LABEL=$TPM_TOKEN_LABEL
	EC_KEY_URI=$TPM_EC_KEY_URI
	RSA_KEY_URI=$TPM_RSA_KEY_URI
	ACME_EC_KEY_URI=$TPM_ACME_KEY_URI
	CLIENT_EC_CRT=$TPM_CLIENT_EC_CRT
	CLIENT_RSA_CRT=$TPM_CLIENT_RSA_CRT
	PIN_FILE=$TPM_PIN_FILE
	note "TPM: swtpm + tpm2-abrmd + $(basename "$TPM_MODULE"), token $TPM_TOKEN_LABEL made in $((SECONDS - t0)) s"
}

# tpm_asan: under make asan, the agent with the TPM module preloaded (so
# that LeakSanitizer can name the module's frames after libp11 unloads
# it) and tests/lsan-tpm.supp, which names the module's own leak. Behind
# p11-kit-proxy.so, a preloaded module shows its token three times (the
# proxy reaches it by two ways): there the agent runs without the
# preload and without leak detection (the address checks stay).
tpm_asan() {
	[ -n "${ASAN_OPTIONS:-}" ] || return 0
	LSAN_OPTIONS=suppressions=$ROOT/tests/lsan-tpm.supp
	export LSAN_OPTIONS
	HSMAGENTD=$T/hsmagentd-asan
	cat >"$HSMAGENTD" <<EOF_ASAN
#!/bin/sh
conf=
prev=
for a in "\$@"; do [ "\$prev" = -c ] && conf=\$a; prev=\$a; done
if [ -n "\$conf" ] && grep -q '^module = .*p11-kit-proxy' "\$conf"; then
	ASAN_OPTIONS=\$ASAN_OPTIONS:detect_leaks=0 exec "$BUILD/hsmagentd" "\$@"
fi
LD_PRELOAD=$TPM_MODULE exec "$BUILD/hsmagentd" "\$@"
EOF_ASAN
	chmod 0755 "$HSMAGENTD"
}

# tpm_da_counter: the TPM's dictionary-attack counter (failed
# authorizations, a wrong PIN among them), in decimal.
tpm_da_counter() {
	local v
	v=$(tpm2_getcap properties-variable 2>/dev/null |
		sed -n 's/^TPM2_PT_LOCKOUT_COUNTER: *//p')
	[ -n "$v" ] || fail "cannot read the TPM's lockout counter"
	echo $((v))
}

# tpm_p11kit: P11KIT_PROXY, the p11-kit proxy module, which must reach the
# TPM module. p11-kit 0.24 (Debian 12) reads the module configs of
# /usr/share/p11-kit/modules and /etc/pkcs11/modules; a user's
# ~/.config/pkcs11/modules is ignored for root (checked here: a module
# named only there is not loaded by a root process, and is by another
# user), and the agent runs as root. Debian's libtpm2-pkcs11-1 registers
# the TPM module in /usr/share/p11-kit/modules/tpm2_pkcs11.module, so the
# test uses that registration and changes no configuration.
tpm_p11kit() {
	local m
	P11KIT_PROXY=
	for m in /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so /usr/lib/*/p11-kit-proxy.so; do
		[ -r "$m" ] && { P11KIT_PROXY=$m; break; }
	done
	[ -n "$P11KIT_PROXY" ] || fail "p11-kit-proxy.so not found (p11-kit-modules; make deps)"
	P11KIT_TPM_CONF=$(grep -ls '^module: *\(.*/\)\?libtpm2_pkcs11\.so' \
		/etc/pkcs11/modules/*.module /usr/share/p11-kit/modules/*.module 2>/dev/null | head -1 || true)
	[ -n "$P11KIT_TPM_CONF" ] ||
		fail "p11-kit has no module config for libtpm2_pkcs11.so (libtpm2-pkcs11-1 ships /usr/share/p11-kit/modules/tpm2_pkcs11.module)"
}
