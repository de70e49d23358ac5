#!/usr/bin/env bash
# demo.sh - what `make demo` shows, end to end, on this machine only:
# a fresh SoftHSM token with keys generated inside it, a local TLS server
# (openssl s_server) that demands a client certificate from the test CA,
# and hsmagentd fetching a page from it over mTLS through its sandboxed
# child, which asks the parent for the one signature each handshake needs.
# Until the Entrust connector exists this is the mTLS probe.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
D=$(mktemp -d /tmp/hsmagent-demo.XXXXXX)
SERVER=
cleanup() {
	if [ -n "$SERVER" ]; then
		kill "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
	fi
	rm -rf "$D"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

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
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -cert "$SERVER_CRT" -key "$SERVER_KEY" \
	-CAfile "$CA_CRT" -Verify 1 -verify_return_error -www -quiet >"$D/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2).close()" 2>/dev/null && break
	sleep 0.05
done
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
echo
echo "demo: done; the private keys never left the token"
