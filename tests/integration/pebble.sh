# pebble.sh - Debian's Pebble (Let's Encrypt's ACME test server) for the
# ACME tests; sourced after lib.sh, never run. ../shared/notes/ext-tools.md
# part 2 records how it behaves here.
#
# Pebble ships no TLS certificate for its listener, so each test makes
# its own: a throwaway CA ($PEBBLE_TLS_CA, what a client must trust) and
# a leaf for localhost and 127.0.0.1. External Account Binding is always
# required: the kid is $PEBBLE_EAB_KID and the base64url HMAC key is in
# $PEBBLE_EAB_HMAC_FILE (a secret for the test's secret scan). Pebble
# makes a fresh root and intermediate on every start; its state is lost
# when it stops.

PEBBLE=${PEBBLE:-/usr/bin/pebble}
PEBBLE_CHALLTESTSRV=${PEBBLE_CHALLTESTSRV:-/usr/bin/pebble-challtestsrv}
PEBBLE_EAB_KID=kid-hsmagent-test
# A name Pebble refuses (rejectedIdentifier), for tests of CA refusals.
PEBBLE_BLOCKED_NAME=blocked.example.test

# pebble_tls_cert DIR: the listener's CA and leaf (EC P-256, 2 days).
pebble_tls_cert() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/tls-ca.key" -out "$d/tls-ca.pem" -days 2 \
		-subj "/CN=pebble TLS test CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/localhost.key" -subj /CN=localhost \
		-out "$d/localhost.csr" 2>/dev/null
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' \
		>"$d/localhost.ext"
	openssl x509 -req -in "$d/localhost.csr" -CA "$d/tls-ca.pem" \
		-CAkey "$d/tls-ca.key" -CAcreateserial -days 2 \
		-extfile "$d/localhost.ext" -out "$d/localhost.pem" 2>/dev/null
}

# pebble_eab_key FILE: a fresh 48-byte HMAC key, base64url without
# padding (the form Pebble's externalAccountMACKeys and lego --hmac take).
pebble_eab_key() {
	(umask 077; openssl rand 48 | basenc --base64url -w0 | tr -d '=' >"$1")
	secret_file "$1"
}

# start_pebble [always-valid|http-01 [NONCEREJECT]]: Pebble on free
# loopback ports, EAB required. always-valid (the default) sets
# PEBBLE_VA_ALWAYS_VALID=1: every authorization is valid at once, as
# with a CA's pre-validated account. http-01 validates for real: Pebble
# resolves names through pebble-challtestsrv (every name is 127.0.0.1)
# and fetches http://NAME:$PEBBLE_HTTP_PORT/.well-known/acme-challenge/.
# NONCEREJECT is the percentage of nonces Pebble rejects as badNonce
# (default 0, for determinism; its own default is 5). PEBBLE_AUTHZREUSE
# (Pebble's own, default 50) is the percentage of orders that get an
# authorization already valid for the same name and account.
# PEBBLE_ALTERNATE_ROOTS (default 0) adds that many other roots, each
# with its own chain, offered as Link: rel="alternate".
# Sets PEBBLE_DIR_URL, PEBBLE_PORT, PEBBLE_MGMT_PORT, PEBBLE_HTTP_PORT,
# PEBBLE_TLS_CA, PEBBLE_EAB_HMAC_FILE; PEBBLE_PID is Pebble's pid.
start_pebble() {
	local mode=${1:-always-valid} reject=${2:-0} d=$T/pebble
	local dns_port dns_mgmt valid=1 dnsarg=()
	pebble_tls_cert "$d"
	PEBBLE_TLS_CA=$d/tls-ca.pem
	PEBBLE_EAB_HMAC_FILE=$d/eab.hmac
	pebble_eab_key "$PEBBLE_EAB_HMAC_FILE"
	PEBBLE_PORT=$(free_port)
	PEBBLE_MGMT_PORT=$(free_port)
	PEBBLE_HTTP_PORT=$(free_port)
	PEBBLE_DIR_URL=https://localhost:$PEBBLE_PORT/dir
	case $mode in
	always-valid) ;;
	http-01)
		valid=0
		dns_port=$(free_port)
		dns_mgmt=$(free_port)
		# Only its DNS server: every A query answers 127.0.0.1,
		# no AAAA (nothing listens on ::1).
		"$PEBBLE_CHALLTESTSRV" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
			-dns01 "127.0.0.1:$dns_port" -http01 "" -https01 "" \
			-tlsalpn01 "" -management "127.0.0.1:$dns_mgmt" \
			>"$d/challtestsrv.log" 2>&1 &
		PIDS+=($!)
		wait_port "$dns_mgmt"
		dnsarg=(-dnsserver "127.0.0.1:$dns_port")
		;;
	*) fail "start_pebble: unknown mode $mode" ;;
	esac
	# The config holds the HMAC key: Pebble's file, not scanned (the
	# key itself is, in every other file).
	(umask 077; cat >"$d/pebble-config.json" <<EOF_PEBBLE
{ "pebble": {
  "listenAddress": "127.0.0.1:$PEBBLE_PORT",
  "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
  "certificate": "$d/localhost.pem", "privateKey": "$d/localhost.key",
  "httpPort": $PEBBLE_HTTP_PORT, "tlsPort": $(free_port),
  "ocspResponderURL": "", "domainBlocklist": ["$PEBBLE_BLOCKED_NAME"],
  "externalAccountBindingRequired": true,
  "externalAccountMACKeys": { "$PEBBLE_EAB_KID": "$(cat "$PEBBLE_EAB_HMAC_FILE")" }
} }
EOF_PEBBLE
	)
	not_scanned "$d/pebble-config.json"
	PEBBLE_VA_ALWAYS_VALID=$valid PEBBLE_VA_NOSLEEP=1 \
	PEBBLE_WFE_NONCEREJECT=$reject \
	PEBBLE_AUTHZREUSE=${PEBBLE_AUTHZREUSE:-50} \
	PEBBLE_ALTERNATE_ROOTS=${PEBBLE_ALTERNATE_ROOTS:-0} \
		"$PEBBLE" -config "$d/pebble-config.json" "${dnsarg[@]}" \
		>"$d/pebble.log" 2>&1 &
	PEBBLE_PID=$!
	PIDS+=("$PEBBLE_PID")
	wait_port "$PEBBLE_PORT"
	wait_port "$PEBBLE_MGMT_PORT"
}

# pebble_roots FILE [N]: Pebble's current root and intermediate (PEM) of
# chain N (default 0), the anchors its certificates chain to (they
# change on every start).
pebble_roots() {
	curl -sSf --cacert "$PEBBLE_TLS_CA" \
		"https://localhost:$PEBBLE_MGMT_PORT/roots/${2:-0}" >"$1"
	curl -sSf --cacert "$PEBBLE_TLS_CA" \
		"https://localhost:$PEBBLE_MGMT_PORT/intermediates/${2:-0}" >>"$1"
}

# ---- an agent with the ACME connector "pebble" (the ACME tests) ------

# pebble_agent_config FILE ACCOUNT_KEY_URI EAB_FILE [LINE...]: an agent
# (the EC key for TLS, trusting Pebble's listener too) with its API at
# $SOCK, state in $T/state, and the connector "pebble" with that account
# key and EAB key file, plus the lines given; $port is the probe's. The
# policy $T/policy.conf lets root ask for *.example.test from it.
pebble_agent_config() {
	local f=$1 uri=$2 eab=$3 l
	shift 3
	cat "$CA_CRT" "$PEBBLE_TLS_CA" >"$T/trust.pem"
	CA_CRT=$T/trust.pem write_config "$f" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
	{
		printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" \
			"[state]" "dir = $T/state" "[connector pebble]" \
			"type = acme" "url = $PEBBLE_DIR_URL" \
			"account_key_uri = $uri" "eab_kid = $PEBBLE_EAB_KID" \
			"eab_hmac_file = $eab"
		for l in "$@"; do echo "$l"; done
	} >>"$f"
	printf '%s\n' "[rule acme]" "callers = user:root" "connectors = pebble" \
		"profiles = default" "san_dns = *.example.test" \
		"max_validity_days = 90" "key_types = ec:p256" >"$T/policy.conf"
}

# acme_csr NAME [DNS...]: $T/NAME.key and $T/NAME.csr for NAME.example.test
# and the other names given.
acme_csr() {
	local n=$1 san d
	shift
	san=DNS:$n.example.test
	for d in "$@"; do san=$san,DNS:$d; done
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$n.key" -out "$T/$n.csr" -subj "/CN=$n.example.test" \
		-addext "subjectAltName=$san" 2>/dev/null
}

# acme_enroll NAME: hsmagent enroll --wait through "pebble"; sets rc,
# writes $T/NAME.{out,err,crt,chain}.
acme_enroll() {
	set +e
	timeout 90 "$BUILD/hsmagent" --socket "$SOCK" enroll --connector pebble \
		--profile default --csr "$T/$1.csr" --wait --out "$T/$1.crt" \
		--chain-out "$T/$1.chain" >"$T/$1.out" 2>"$T/$1.err"
	rc=$?
	set -e
}

# acme_same_key NAME: the issued certificate carries the CSR's key.
acme_same_key() {
	[ "$(openssl x509 -in "$T/$1.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
	  "$(openssl pkey -in "$T/$1.key" -pubout -outform DER | sha256sum)" ]
}
