# test_mtls_matrix.sh - the sandboxed child completes mTLS requests with
# the HSM-held key, EC P-256 and RSA-2048, over TLS 1.3 and (where the
# configuration allows it) TLS 1.2, against openssl s_server demanding a
# client certificate from the test CA; s_server's own report must name
# the right client subject. Over TLS 1.3 the parent signs the
# CertificateVerify content it builds itself (the audit record has its
# hash); a TLS 1.2-only server without allow_tls12 fails with a message
# naming the key, and nothing is signed.
. "$(dirname "$0")/lib.sh"

run_case() {
	local key=$1 tls=$2 uri cert subj port
	shift 2
	case $key in
	ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT subj=hsmagent-client-ec ;;
	rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT subj=hsmagent-client-rsa ;;
	esac
	port=$(free_port)
	start_sserver "$port" "$T/server-$key-$tls.log" "-tls$tls" "$@"
	write_config "$T/$key-$tls.conf" "$uri" "$cert" "$port"
	[ "$tls" = 1_3 ] || echo "allow_tls12 = yes" >>"$T/$key-$tls.conf"
	if ! "$HSMAGENTD" -P -n 2 -c "$T/$key-$tls.conf" >"$T/out" 2>"$T/err"; then
		cat "$T/err" >&2
		fail "$key over TLS $tls: probe failed"
	fi
	expect_in "$T/out" '^2 probes succeeded, 0 steps failed' "$key $tls"
	# -www reports the protocol and the verified client certificate.
	local proto
	case $tls in 1_3) proto=TLSv1.3 ;; 1_2) proto=TLSv1.2 ;; esac
	expect_in "$T/out" "HTTP 200, $proto" "$key $tls: negotiated version"
	expect_in "$T/out" "Protocol *: $proto" "$key $tls: server-side version"
	expect_in "$T/out" "^Client certificate" "$key $tls: server saw a client certificate"
	expect_in "$T/out" "Subject: CN ?= ?$subj$" "$key $tls: client subject"
	expect_in "$T/err" "signatures granted 2, refused 0" "$key $tls: one signature per handshake"
	note "$key over TLS $tls ${*:-}: ok"
}

run_case ec 1_3
run_case ec 1_2
run_case rsa 1_3
run_case rsa 1_2
# PKCS#1 v1.5 (CKM_RSA_PKCS) is reachable only in TLS 1.2, when the server
# asks for it; RSA-PSS (CKM_RSA_PKCS_PSS) is used in every other RSA case.
run_case rsa 1_2 -client_sigalgs RSA+SHA256
run_case ec 1_2 -client_sigalgs ECDSA+SHA384

# TLS 1.3 only by default: a server that speaks 1.2 only is refused at
# the handshake, the message names allow_tls12, nothing is signed.
port=$(free_port)
start_sserver "$port" "$T/server-12only.log" -tls1_2
write_config "$T/only13.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
rc=0
"$HSMAGENTD" -P -n 1 -c "$T/only13.conf" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a TLS 1.2-only server was accepted without allow_tls12"
expect_in "$T/out" 'does not speak TLS 1.3, which this connector requires \(allow_tls12 = yes' \
	"the failure names the setting"
expect_in "$T/err" "signatures granted 0, refused 0" "nothing signed"
note "TLS 1.2-only server, TLS 1.3 required: $(grep -o 'does not speak TLS 1.3[^(]*' "$T/out" | head -1)"

