#!/usr/bin/env bash
# test_acme_harness.sh - the Pebble harness (pebble.sh) against a client
# nobody on this project wrote: Debian's lego, with an external CSR and
# External Account Binding, registers and gets a certificate that chains
# to Pebble's roots (pre-validated authorizations and real http-01); a
# wrong EAB key and a missing one are refused. The same Pebble and lego
# are the peer of make bench's acme_enroll_ratio_lego.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"

command -v lego >/dev/null || fail "lego is not installed"
mkdir -p "$T/csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/csr/app.key" -subj /CN=app.example.test \
	-addext subjectAltName=DNS:app.example.test,DNS:www.app.example.test \
	-outform DER -out "$T/csr/app.der" 2>/dev/null

# run_lego DIR HMAC_FILE [lego options...]: lego --csr with EAB, the
# HMAC key read from a file (lego only takes it in argv; this is a
# throwaway test key).
run_lego() {
	local dir=$1 hmac=$2
	shift 2
	LEGO_CA_CERTIFICATES=$PEBBLE_TLS_CA lego --server "$PEBBLE_DIR_URL" \
		--accept-tos --email admin@example.test --eab \
		--kid "$PEBBLE_EAB_KID" --hmac "$(cat "$hmac")" \
		--csr "$T/csr/app.der" --path "$dir" "$@" run
}

# check_issued DIR: the leaf for the CSR's names, with the CSR's key,
# chaining to Pebble's current roots.
check_issued() {
	local crt=$1/certificates/app.example.test.crt
	[ -s "$crt" ] || fail "lego wrote no certificate in $1"
	pebble_roots "$T/pebble-roots.pem"
	openssl verify -CAfile "$T/pebble-roots.pem" "$crt" >/dev/null ||
		fail "certificate does not chain to Pebble's roots"
	openssl x509 -in "$crt" -noout -ext subjectAltName |
		grep -q 'DNS:www.app.example.test' || fail "SAN missing"
	[ "$(openssl x509 -in "$crt" -noout -pubkey)" = \
		"$(openssl pkey -in "$T/csr/app.key" -pubout)" ] ||
		fail "certificate key is not the CSR's"
}

start_pebble always-valid
rc=0
run_lego "$T/lego-ok" "$PEBBLE_EAB_HMAC_FILE" --http \
	--http.port "127.0.0.1:$(free_port)" >"$T/lego-ok.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/lego-ok.log" >&2; fail "lego (pre-validated): rc $rc"; }
check_issued "$T/lego-ok"
expect_in "$T/pebble/pebble.log" "Successful newAccount Binding.*$PEBBLE_EAB_KID" \
	"Pebble logs the binding"
note "pre-validated: lego --csr with EAB issued"

# A wrong HMAC key: Pebble refuses the binding (403 unauthorized).
pebble_eab_key "$T/wrong.hmac"
rc=0
run_lego "$T/lego-wrong" "$T/wrong.hmac" --http \
	--http.port "127.0.0.1:$(free_port)" >"$T/lego-wrong.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "lego with a wrong EAB key got a certificate"
expect_in "$T/lego-wrong.log" 'urn:ietf:params:acme:error:unauthorized' \
	"wrong EAB key"
note "wrong EAB key: refused (unauthorized)"

# No EAB at all: the directory says externalAccountRequired.
curl -sSf --cacert "$PEBBLE_TLS_CA" "$PEBBLE_DIR_URL" >"$T/dir.json"
expect_in "$T/dir.json" '"externalAccountRequired": *true' "directory meta"
kill "$PEBBLE_PID"
wait "$PEBBLE_PID" 2>/dev/null || true

# Real http-01: lego's own solver answers on Pebble's httpPort.
start_pebble http-01
rc=0
run_lego "$T/lego-http" "$PEBBLE_EAB_HMAC_FILE" --http \
	--http.port "127.0.0.1:$PEBBLE_HTTP_PORT" >"$T/lego-http.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/lego-http.log" "$T/pebble/pebble.log" >&2; fail "lego (http-01): rc $rc"; }
check_issued "$T/lego-http"
expect_in "$T/pebble/pebble.log" 'set VALID by completed challenge' \
	"Pebble validated http-01"
expect_in "$T/pebble/pebble.log" 'Attempting to validate w/ HTTP' "real validation"
note "http-01: lego --csr validated for real and issued"
echo "test_acme_harness: ok"
