# test_startup_errors.sh - wrong PIN (tried exactly once, counted with
# OpenSC's pkcs11-spy between the agent and SoftHSM), extractable key,
# certificate/key mismatch, missing token, missing module, a PIN file
# others can read: each one clear error and a non-zero exit.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
SPY=$(dpkg -L opensc-pkcs11 2>/dev/null | grep '/pkcs11-spy.so$' | head -n1 || true)
[ -n "$SPY" ] || SPY=/usr/lib/x86_64-linux-gnu/pkcs11-spy.so

# The unit's RestartPreventExitStatus: the codes systemd must not retry.
noretry=" $(sed -n 's/^RestartPreventExitStatus=//p' "$ROOT/systemd/hsmagentd.service.in") "

# expect_startup_error NAME CONF PATTERN [EXIT]: EXIT is the code, and
# whether the unit retries it must match (77 and 78 never, 1 always).
expect_startup_error() {
	local rc=0 want=${4:-}
	"$HSMAGENTD" -P -c "$2" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$1: started although it must not"
	if [ -n "$want" ]; then
		[ "$rc" -eq "$want" ] || { cat "$T/err" >&2; fail "$1: exit $rc, expected $want"; }
		case $want in
		77|78) [[ "$noretry" == *" $rc "* ]] || fail "$1: exit $rc is retried by the unit ($noretry)" ;;
		*) [[ "$noretry" != *" $rc "* ]] || fail "$1: exit $rc is not retried by the unit" ;;
		esac
	fi
	expect_in "$T/err" "$3" "$1"
	local n
	n=$(grep -c ': error: ' "$T/err" || true)
	[ "$n" -eq 1 ] || { cat "$T/err" >&2; fail "$1: $n error lines, expected exactly 1"; }
	# No child may be left behind.
	if pgrep -f "$CONNECTOR" >/dev/null; then fail "$1: child left running"; fi
	note "$1: exit $rc: $(grep ': error: ' "$T/err" | sed 's/.*: error: //' | cut -c1-100)"
}

# Wrong PIN, through pkcs11-spy so that every C_Login is counted.
PIN_OVERRIDE=$WRONG_PIN_FILE write_config "$T/wrongpin.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
sed -i "s|^module = .*|module = $SPY|" "$T/wrongpin.conf"
export PKCS11SPY=$HSM_MODULE PKCS11SPY_OUTPUT=$T/spy.log
not_scanned "$T/spy.log"
expect_startup_error "wrong PIN" "$T/wrongpin.conf" "login to token 'hsmagent-test' failed .*none will be retried" 77
logins=$(grep -c 'C_Login' "$T/spy.log" || true)
[ "$logins" -eq 1 ] || fail "wrong PIN: $logins C_Login calls, expected exactly 1"
expect_in "$T/spy.log" 'CKR_PIN_INCORRECT' "wrong PIN: the token said so"
unset PKCS11SPY PKCS11SPY_OUTPUT
note "wrong PIN: exactly one C_Login (pkcs11-spy)"

write_config "$T/extr.conf" "$EXTRACTABLE_KEY_URI" "$CLIENT_EXTRACTABLE_CRT" "$port"
expect_startup_error "extractable key" "$T/extr.conf" "is (extractable|not sensitive).*cannot leave the HSM" 78

write_config "$T/mismatch.conf" "$EC_KEY_URI" "$CLIENT_MISMATCH_CRT" "$port"
expect_startup_error "certificate/key mismatch" "$T/mismatch.conf" "does not match key" 78

write_config "$T/notoken.conf" "pkcs11:token=no-such-token;object=gw-ec;type=private" "$CLIENT_EC_CRT" "$port"
expect_startup_error "missing token" "$T/notoken.conf" "no token matches the key URI" 1

write_config "$T/nomod.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
sed -i "s|^module = .*|module = /nonexistent/libpkcs11.so|" "$T/nomod.conf"
expect_startup_error "missing module" "$T/nomod.conf" "module /nonexistent/libpkcs11.so: No such file" 78

cp "$PIN_FILE" "$T/pin-open"
secret_file "$T/pin-open"
chmod 0644 "$T/pin-open"
PIN_OVERRIDE=$T/pin-open write_config "$T/pinmode.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
expect_startup_error "readable PIN file" "$T/pinmode.conf" "mode 0644 lets group or others read it" 77

# The test-only override is explicit and loud.
ALLOW_EXTRACTABLE=1 write_config "$T/override.conf" "$EXTRACTABLE_KEY_URI" "$CLIENT_EXTRACTABLE_CRT" "$port"
"$HSMAGENTD" -t -c "$T/override.conf" >/dev/null
start_sserver "$port" "$T/server.log"
"$HSMAGENTD" -P -c "$T/override.conf" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "override run"; }
expect_in "$T/err" 'warning: hsm: INSECURE: key .* is extractable' "override warns"
note "insecure_allow_extractable_key: works and warns"

# The http-01 port is bound by the parent before the child starts: a
# port in use (the s_server above holds $port) stops the start, naming
# the connector and the address.
write_config "$T/http01.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
printf '[connector acme]\ntype = acme\nurl = https://127.0.0.1:%s/dir\naccount_key_uri = %s\nhttp01_listen = 127.0.0.1:%s\n' \
	"$port" "$ACME_EC_KEY_URI" "$port" >>"$T/http01.conf"
expect_startup_error "http-01 port in use" "$T/http01.conf" "\[connector acme\] http01_listen 127.0.0.1:$port: bind: Address already in use"
