#!/usr/bin/env bash
# demo.sh - what `make demo` shows, end to end, on this machine only:
# a fresh SoftHSM token with keys generated inside it, a local TLS server
# (openssl s_server) that demands a client certificate from the test CA,
# and hsmagentd fetching a page from it over mTLS through its sandboxed
# child, which asks the parent for the one signature each handshake needs;
# then certificates issued through a local fake Entrust CA Gateway and
# through Debian's Pebble (ACME, with the account key in the token).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
D=$(mktemp -d /tmp/hsmagent-demo.XXXXXX)
SERVER=
GATEWAY=
AGENT=
PIDS=()
cleanup() {
	for p in $AGENT $GATEWAY $SERVER "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$D"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "demo: nothing listens on port $1" >&2
	return 1
}

# What tests/integration/pebble.sh expects of its host script.
T=$D
fail() { echo "demo: $*" >&2; exit 1; }
secret_file() { :; }
not_scanned() { :; }
# shellcheck source=integration/pebble.sh
. "$ROOT/tests/integration/pebble.sh"

step "1. A SoftHSM token with an EC P-256 and an RSA-2048 key made inside it"
bash "$ROOT/softhsm-fixtures/make-fixtures.sh" "$D/fx"
set -a
# shellcheck source=/dev/null
. "$D/fx/env.sh"
set +a
# The PIN goes to p11tool through its environment, never argv.
GNUTLS_PIN=$(cat "$PIN_FILE") p11tool --provider "$HSM_MODULE" --login \
	--list-all-privkeys "pkcs11:token=$TOKEN_LABEL" 2>/dev/null |
	grep -E 'Type:|Label:|Flags:' | sed 's/^[[:space:]]*/   /'

step "2. A local TLS server on 127.0.0.1 that requires a client certificate"
port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert "$SERVER_CRT" -key "$SERVER_KEY" \
	-CAfile "$CA_CRT" -Verify 1 -verify_return_error -www -quiet >"$D/server.log" 2>&1 &
SERVER=$!
wait_port "$port"
echo "   openssl s_server -Verify 1 on https://localhost:$port/"

for key in ec rsa; do
	case $key in
	ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT ;;
	rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT ;;
	esac
	cat >"$D/$key.conf" <<CONF
connector_path = $BUILD/hsmagent-connector
child_user = nobody
chroot_dir = $D/empty
[hsm]
module = $HSM_MODULE
key_uri = $uri
pin_file = $PIN_FILE
certificate = $cert
[tls]
ca_file = $CA_CRT
[probe]
url = https://localhost:$port/
CONF
	step "3$key. hsmagentd -t, then a probe with the $key key (hsmagentd -P)"
	"$BUILD/hsmagentd" -t -c "$D/$key.conf"
	"$BUILD/hsmagentd" -P -c "$D/$key.conf" 2>"$D/agent.log" >"$D/probe.out"
	grep -E '^probe|Protocol *:|Subject: CN|Issuer: CN|succeeded' "$D/probe.out" | sed 's/^/   /'
	grep -E 'sandboxed:|ready:|signatures granted' "$D/agent.log" | sed 's/^.*: info: /   agent: /'
done

step "4. The sandbox at work: forbidden calls kill the child, a new one serves"
"$BUILD/hsmagentd" -P -S -c "$D/ec.conf" 2>"$D/agent.log" | grep -E 'self-test|succeeded' | sed 's/^/   /'
step "5. A (local, fake) Entrust CA Gateway that demands the HSM-held client certificate"
gwport=$(free_port)
python3 "$ROOT/tests/fakeca/fake_cagw.py" --port "$gwport" --cert "$SERVER_CRT" \
	--key "$SERVER_KEY" --client-ca "$CA_CRT" --ca-cert "$CA_CRT" \
	--ca-key "$HSMAGENT_FIXTURES/ca.key" --stats "$D/gw.json" --ca-id demo-ca 2>"$D/gw.log" &
GATEWAY=$!
wait_port "$gwport"
echo "   https://localhost:$gwport/cagw/v1/certificate-authorities/demo-ca/..."
step "5b. Let's Encrypt's ACME test server (Debian's Pebble), External Account Binding required"
start_pebble always-valid
cat "$CA_CRT" "$PEBBLE_TLS_CA" >"$D/trust.pem"
echo "   $PEBBLE_DIR_URL (its own TLS certificate, made just now)"
cat >"$D/policy.conf" <<POL
[rule demo]
callers = user:root
connectors = entrust, pebble
profiles = issue, pending-2
san_dns = *.demo.example.com
max_validity_days = 30
key_types = ec:p256, rsa:2048
POL
sed "s|^ca_file = .*|ca_file = $D/trust.pem|" "$D/ec.conf" >"$D/agent.conf"
cat >>"$D/agent.conf" <<CONF
[api]
socket = $D/agent.sock
policy = $D/policy.conf
[state]
dir = $D/state
[connector entrust]
type = entrust
url = https://localhost:$gwport/cagw
ca_id = demo-ca
[connector pebble]
type = acme
url = $PEBBLE_DIR_URL
account_key_uri = $RSA_KEY_URI
eab_kid = $PEBBLE_EAB_KID
eab_hmac_file = $PEBBLE_EAB_HMAC_FILE
contact = mailto:pki@demo.example.com
http01_listen = 127.0.0.1:$PEBBLE_HTTP_PORT
CONF
"$BUILD/hsmagentd" -c "$D/agent.conf" 2>"$D/agent.log" &
AGENT=$!
for _ in $(seq 1 100); do [ -S "$D/agent.sock" ] && break; sleep 0.05; done

step "6. hsmagent enroll: policy, the sandboxed child, the gateway, a certificate"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/web.key" \
	-out "$D/web.csr" -subj /CN=web.demo.example.com \
	-addext subjectAltName=DNS:web.demo.example.com 2>/dev/null
for prof in issue pending-2; do
	echo "   \$ hsmagent enroll --connector entrust --profile $prof --csr web.csr --wait --out web.crt"
	"$BUILD/hsmagent" --socket "$D/agent.sock" enroll --connector entrust \
		--profile "$prof" --csr "$D/web.csr" --wait --out "$D/web.crt" 2>&1 | sed 's/^/   /'
done
openssl x509 -in "$D/web.crt" -noout -subject -issuer -serial | sed 's/^/   /'
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("   the gateway saw client certificate(s):", ", ".join(d["client_cns"]))' "$D/gw.json"
set +e
"$BUILD/hsmagent" --socket "$D/agent.sock" enroll --connector entrust --profile issue \
	--csr "$D/web.csr" --validity 365 2>&1 | sed 's/^/   policy: /'
set -e

step "6b. hsmagent enroll over ACME: the account key (RSA) in the HSM, every JWS signed by the parent"
echo "   \$ hsmagent enroll --connector pebble --profile issue --csr web.csr --wait --out acme.crt"
"$BUILD/hsmagent" --socket "$D/agent.sock" enroll --connector pebble \
	--profile issue --csr "$D/web.csr" --wait --out "$D/acme.crt" 2>&1 | sed 's/^/   /'
openssl x509 -in "$D/acme.crt" -noout -subject -issuer -serial | sed 's/^/   /'
grep -E 'acme: connector pebble: account' "$D/agent.log" | sed 's/^.*: info: /   agent: /'
echo "   \$ hsmagent revoke --serial ... --reason superseded"
"$BUILD/hsmagent" --socket "$D/agent.sock" revoke --serial \
	"$(openssl x509 -in "$D/acme.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')" \
	--reason superseded 2>&1 | sed 's/^/   /'
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
AGENT=

step "7. The audit log, hash-chained"
tail -n 3 "$D/state/audit.log" | cut -c1-150 | sed 's/^/   /'
"$BUILD/hsmagent" audit verify "$D/state/audit.log" | sed 's/^/   /'
echo
echo "demo: done; the private keys never left the token"
