# tpm-token.sh - a private software TPM with a tpm2-pkcs11 token on it,
# for the TPM tests (and bench/); sourced, never run. One role: start it,
# fill it, stop it.
#
#   tpm_token_start DIR   starts, in DIR (new or empty; everything is in
#                         it, nothing else on the host is touched):
#       swtpm             the TPM 2.0 simulator in socket mode, state in
#                         DIR/swtpm, on two free loopback ports (command
#                         port N, control port N+1: the swtpm TCTI wants
#                         them adjacent). No host TPM (/dev/tpm*) is used.
#       dbus-daemon       a private session bus (DIR/bus), own config:
#                         tpm2-abrmd talks D-Bus and nothing else.
#       tpm2-abrmd        the access broker, on that bus. Without it the
#                         swtpm TCTI leaves transient objects loaded, and
#                         the third key creation fails with "out of
#                         memory for object contexts": the broker flushes
#                         them between commands.
#     then a tpm2-pkcs11 store (DIR/store) and the token "hsmagent-tpm":
#       pin, so-pin, wrong-pin  random, 0600, no newline (as
#                         make-fixtures.sh); the PINs reach the tools
#                         through the environment of one command
#                         (GNUTLS_PIN, as make-fixtures.sh), never argv
#       tpm-ec  (id 11)   EC P-256, sensitive, never extractable, sign
#       tpm-rsa (id 12)   RSA-2048, the same
#       tpm-acme (id 13)  EC P-256, the ACME account key (one key, one role)
#       client-tpm-ec.crt, client-tpm-rsa.crt
#                         client certificates from the test CA of
#                         $HSMAGENT_FIXTURES (make fixtures), for CSRs
#                         signed inside the TPM (proof of possession)
#       tpm-env.sh        the variables below, for "set -a; . tpm-env.sh"
#   tpm_start_tpm DIR     the same without the store, token, keys and
#                         certificates (TPM2_PKCS11_STORE=DIR/store is
#                         empty): the README's example makes its own
#   tpm_token_stop        kills abrmd, dbus-daemon and swtpm (in that
#                         order); safe to call twice; the caller's EXIT
#                         trap must call it, pass or fail.
#
# tpm-env.sh sets: TPM_MODULE (libtpm2_pkcs11.so), TPM2_PKCS11_TCTI,
# TPM2_PKCS11_STORE, DBUS_SESSION_BUS_ADDRESS (what the module and every
# process using it need; exported by the caller for the test only),
# TPM_TOKEN_LABEL, TPM_EC_KEY_URI, TPM_RSA_KEY_URI, TPM_ACME_KEY_URI,
# TPM_CLIENT_EC_CRT, TPM_CLIENT_RSA_CRT, TPM_PIN_FILE, TPM_WRONG_PIN_FILE,
# TPM_DIR.
#
# tpm_token_start returns 0 when the token is ready, 2 when swtpm cannot
# start on this machine (not installed, or it does not come up): then
# TPM_SKIP_REASON says why and the caller skips, saying so. Any other
# failure returns 1 with the reason on stderr: a failure, not a skip.

TPM_TOKEN_LABEL=hsmagent-tpm
TPM_PIDS=()
# The simulator; another path (a test of the skip) may be given.
SWTPM=${SWTPM:-swtpm}

_tpm_die() { echo "tpm-token: $*" >&2; return 1; }

# Two adjacent free loopback ports (N, N+1), N printed.
_tpm_port_pair() {
	python3 - <<'PY'
import socket
for _ in range(200):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        a.close(); b.close(); continue
    a.close(); b.close(); print(p); break
PY
}

_tpm_wait_port() {	# PORT PID: up to 5 s, while PID lives
	local i
	for i in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

tpm_token_module() {
	local m
	for m in /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so \
	    /usr/lib/*/pkcs11/libtpm2_pkcs11.so /usr/lib/*/libtpm2_pkcs11.so.1 \
	    /usr/lib/pkcs11/libtpm2_pkcs11.so; do
		[ -r "$m" ] && { echo "$m"; return 0; }
	done
	return 1
}

tpm_token_stop() {
	local p
	# The broker first (it holds the TPM connection), then the bus, then
	# the TPM.
	for p in "${TPM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${TPM_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	TPM_PIDS=()
}

# tpm_start_tpm DIR: swtpm, the bus and the broker only (an empty store
# directory DIR/store, no token): for the README's TPM example. Returns
# as tpm_token_start.
tpm_start_tpm() {
	local d=$1 port i m
	TPM_SKIP_REASON=
	for m in "$SWTPM" dbus-daemon dbus-send tpm2-abrmd tpm2_ptool p11tool certtool openssl; do
		if ! command -v "$m" >/dev/null; then
			[ "$m" = "$SWTPM" ] && {
				TPM_SKIP_REASON="$SWTPM is not installed (Debian package swtpm; make deps)"
				return 2
			}
			_tpm_die "$m not found (make deps)"; return 1
		fi
	done
	TPM_MODULE=$(tpm_token_module) ||
		{ _tpm_die "libtpm2_pkcs11.so not found (libtpm2-pkcs11-1; make deps)"; return 1; }
	[ -n "${HSMAGENT_FIXTURES:-}" ] && [ -r "$HSMAGENT_FIXTURES/ca.key" ] ||
		{ _tpm_die "no test CA: HSMAGENT_FIXTURES unset or without ca.key (make fixtures)"; return 1; }
	mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
	[ -z "$(ls -A "$d")" ] || { _tpm_die "$d is not empty"; return 1; }
	TPM_DIR=$d
	mkdir -m 0700 "$d/swtpm" "$d/store"

	# ---- swtpm ---------------------------------------------------------
	# The ports are free when chosen, not when swtpm binds them: another
	# process may take one in between. A swtpm that could not bind is
	# tried on other ports (three times); one that fails otherwise means
	# it cannot run here.
	local try why
	for try in 1 2 3; do
		port=$(_tpm_port_pair)
		[ -n "$port" ] || { _tpm_die "no two adjacent free loopback ports"; return 1; }
		"$SWTPM" socket --tpm2 --tpmstate "dir=$d/swtpm" \
			--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
			--flags not-need-init,startup-clear \
			--log "file=$d/swtpm.log,level=1" >"$d/swtpm.out" 2>&1 &
		TPM_PIDS=($!)
		_tpm_wait_port "$port" "${TPM_PIDS[0]}" && break
		why=$(cat "$d/swtpm.out" "$d/swtpm.log" 2>/dev/null | grep . | tail -n 1)
		kill -0 "${TPM_PIDS[0]}" 2>/dev/null && why="no listener on 127.0.0.1:$port after 5 s${why:+: $why}" ||
			why="it exited${why:+: $why}"
		tpm_token_stop
		if [ "$try" -eq 3 ] || ! grep -qi 'address already in use' "$d/swtpm.out" "$d/swtpm.log" 2>/dev/null; then
			TPM_SKIP_REASON="$SWTPM does not start on this machine ($why)"
			return 2
		fi
		rm -f "$d/swtpm.out" "$d/swtpm.log"
	done

	# ---- a private D-Bus and the broker on it --------------------------
	cat >"$d/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$d/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
	dbus-daemon --config-file="$d/bus.conf" --nofork --nopidfile \
		>"$d/dbus.log" 2>&1 &
	TPM_PIDS+=($!)
	for i in $(seq 1 100); do [ -S "$d/bus" ] && break; sleep 0.05; done
	[ -S "$d/bus" ] || { cat "$d/dbus.log" >&2; tpm_token_stop; _tpm_die "dbus-daemon did not start"; return 1; }
	DBUS_SESSION_BUS_ADDRESS=unix:path=$d/bus
	export DBUS_SESSION_BUS_ADDRESS
	# --allow-root: the tests run as root; --flush-all: a clean TPM.
	tpm2-abrmd --session --allow-root --flush-all \
		--tcti="swtpm:host=127.0.0.1,port=$port" >"$d/abrmd.log" 2>&1 &
	TPM_PIDS+=($!)
	TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	TPM2_PKCS11_STORE=$d/store
	TPM2TOOLS_TCTI=$TPM2_PKCS11_TCTI
	export TPM2_PKCS11_TCTI TPM2_PKCS11_STORE TPM2TOOLS_TCTI
	# The broker owns its name on the bus once it has the TPM.
	for i in $(seq 1 100); do
		dbus-send --session --dest=com.intel.tss2.Tabrmd --print-reply \
			/com/intel/tss2/Tabrmd/Tcti org.freedesktop.DBus.Peer.Ping \
			>/dev/null 2>&1 && break
		sleep 0.05
	done
	kill -0 "${TPM_PIDS[2]}" 2>/dev/null ||
		{ cat "$d/abrmd.log" >&2; tpm_token_stop; _tpm_die "tpm2-abrmd did not start"; return 1; }
	return 0
}

tpm_token_start() {
	local rc=0
	tpm_start_tpm "$1" || return $?
	_tpm_fill "$TPM_DIR" || { tpm_token_stop; return 1; }
	return 0
}

# The store, the token, the keys and the certificates.
_tpm_fill() {
	local d=$1 pin so m=$TPM_MODULE label=$TPM_TOKEN_LABEL fx=$HSMAGENT_FIXTURES
	(
	set -e
	umask 077
	cd "$d"
	# The store's primary key in the TPM (no secret involved).
	tpm2_ptool init --path "$d/store" >ptool.log 2>&1 ||
		{ cat ptool.log >&2; exit 1; }
	randpin() { openssl rand -hex 8 | tr -d '\n'; }
	randpin >pin; randpin >so-pin; randpin >wrong-pin
	chmod 0600 pin so-pin wrong-pin
	pin=$(cat pin); so=$(cat so-pin)
	# tpm2_ptool addtoken takes the PINs in argv; C_InitToken through
	# p11tool takes them from this one command's environment.
	GNUTLS_SO_PIN=$so p11tool --provider "$m" --initialize \
		--label "$label" "pkcs11:token=" >init.log 2>&1 ||
		{ cat init.log >&2; echo "cannot initialise the TPM token" >&2; exit 1; }
	GNUTLS_SO_PIN=$so GNUTLS_PIN=$pin p11tool --provider "$m" \
		--initialize-pin "pkcs11:token=$label" >>init.log 2>&1 ||
		{ cat init.log >&2; echo "cannot set the TPM token's user PIN" >&2; exit 1; }
	# RSA: tpm2-pkcs11 makes every RSA key sign AND decrypt (its TPM
	# template); asked for a sign-only key (p11tool --mark-sign sets
	# CKA_DECRYPT false) it fails with "User specified and TPM specified
	# attr mismatch". So the RSA key is asked for without usage marks.
	genkey() {	# LABEL ID ALGO-OPTIONS...
		local l=$1 id=$2; shift 2
		GNUTLS_PIN=$pin p11tool --provider "$m" --login \
			--generate-privkey="$@" --label "$l" --id "$id" \
			--outfile "$l.pub.pem" "pkcs11:token=$label" >"gen-$l.log" 2>&1 ||
			{ cat "gen-$l.log" >&2; echo "cannot generate $l in the TPM" >&2; exit 1; }
	}
	genkey tpm-ec 11 ECDSA --curve=secp256r1 --mark-sign
	genkey tpm-rsa 12 RSA --bits=2048
	genkey tpm-acme 13 ECDSA --curve=secp256r1 --mark-sign
	# CSRs signed in the TPM, with GnuTLS's certtool (the PIN from its
	# environment). Not OpenSSL's pkcs11 engine as make-fixtures.sh:
	# with the engine loaded, the TSS inside the module cannot make the
	# RSA key it salts its TPM sessions with (EVP_PKEY_fromdata: "operation
	# not supported for this keytype"), and the login fails.
	for k in ec rsa; do
		printf 'cn = "hsmagent-client-tpm-%s"\n' "$k" >"csr-$k.tmpl"
		GNUTLS_PIN=$pin certtool --provider "$m" --generate-request \
			--load-privkey "pkcs11:token=$label;object=tpm-$k;type=private" \
			--template "csr-$k.tmpl" --outfile "client-tpm-$k.csr" \
			>"csr-$k.log" 2>&1 ||
			{ cat "csr-$k.log" >&2; echo "cannot make the CSR for tpm-$k in the TPM" >&2; exit 1; }
		openssl req -in "client-tpm-$k.csr" -noout -verify >/dev/null 2>&1 ||
			{ echo "the CSR for tpm-$k does not verify" >&2; exit 1; }
		openssl x509 -req -in "client-tpm-$k.csr" -CA "$fx/ca.crt" \
			-CAkey "$fx/ca.key" -CAserial "$d/ca.srl" -CAcreateserial \
			-days 30 -out "client-tpm-$k.crt" -extfile "$fx/client.ext" \
			2>/dev/null || { echo "cannot sign client-tpm-$k.crt" >&2; exit 1; }
		a=$(openssl x509 -in "client-tpm-$k.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
		b=$(openssl pkey -pubin -in "tpm-$k.pub.pem" -outform DER | sha256sum)
		[ "$a" = "$b" ] || { echo "client-tpm-$k.crt is not for tpm-$k" >&2; exit 1; }
	done
	# Sensitive and never extractable, as the agent demands.
	GNUTLS_PIN=$pin p11tool --provider "$m" --login --list-all-privkeys \
		"pkcs11:token=$label" >privkeys.txt 2>/dev/null
	for k in tpm-ec tpm-rsa tpm-acme; do
		grep -A2 "Label: $k\$" privkeys.txt | grep -q 'CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE' ||
			{ cat privkeys.txt >&2; echo "$k is not sensitive and never extractable" >&2; exit 1; }
	done
	) || { _tpm_die "filling the TPM token failed (logs in $d)"; return 1; }
	cat >"$d/tpm-env.sh" <<EOF
# Written by tpm-fixtures/tpm-token.sh; source with "set -a". No secret.
TPM_DIR=$d
TPM_MODULE=$m
TPM2_PKCS11_TCTI=$TPM2_PKCS11_TCTI
TPM2_PKCS11_STORE=$TPM2_PKCS11_STORE
DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS
TPM_TOKEN_LABEL=$label
TPM_EC_KEY_URI='pkcs11:token=$label;object=tpm-ec;type=private'
TPM_RSA_KEY_URI='pkcs11:token=$label;object=tpm-rsa;type=private'
TPM_ACME_KEY_URI='pkcs11:token=$label;object=tpm-acme;type=private'
TPM_CLIENT_EC_CRT=$d/client-tpm-ec.crt
TPM_CLIENT_RSA_CRT=$d/client-tpm-rsa.crt
TPM_PIN_FILE=$d/pin
TPM_WRONG_PIN_FILE=$d/wrong-pin
EOF
}
