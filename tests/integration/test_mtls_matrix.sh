# test_mtls_matrix.sh - the sandboxed child completes mTLS requests with
# the HSM-held key, EC P-256 and RSA-2048, over TLS 1.3 and TLS 1.2,
# against openssl s_server demanding a client certificate from the test
# CA; s_server's own report must name the right client subject.
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
