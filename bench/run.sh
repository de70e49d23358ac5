#!/usr/bin/env bash
# bench/run.sh - `make bench`. Side by side, in one run, interleaved
# rounds, median of 3:
#   probe_ratio_curl_engine_{ec,rsa}: full mTLS requests per second through
#   hsmagentd (sandboxed child -> parent -> HSM), 32 per run, start-up and
#   HSM login included, divided by the same 32 requests made by a shell
#   loop of `curl --engine pkcs11` with the same key, same token, same
#   local TLS server. Higher is better; the loop pays process start-up,
#   engine load and token login on every request.
# Prints one line per figure:
#   bench: NAME = VALUE UNIT (target OP VALUE) ok|MISSED
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
N=32
ROUNDS=3
D=$(mktemp -d /tmp/hsmagent-bench.XXXXXX)
SERVER=
cleanup() {
	if [ -n "$SERVER" ]; then
		kill "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
	fi
	rm -rf "$D"
}
trap cleanup EXIT

bash "$ROOT/softhsm-fixtures/make-fixtures.sh" "$D/fx" >/dev/null
set -a
# shellcheck source=/dev/null
. "$D/fx/env.sh"
set +a
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -cert "$SERVER_CRT" -key "$SERVER_KEY" \
	-CAfile "$CA_CRT" -Verify 1 -verify_return_error -www -quiet >/dev/null 2>&1 &
SERVER=$!
sleep 0.5

# The engine reads its PIN from the fixtures' engine.cnf, scoped to curl.

now() { date +%s%N; }

agent_run() {	# key: prints requests per second
	local t0 t1
	t0=$(now)
	"$BUILD/hsmagentd" -P -n "$N" -c "$D/$1.conf" >/dev/null 2>&1
	t1=$(now)
	python3 -c "print(round($N * 1e9 / ($t1 - $t0), 1))"
}

curl_run() {	# key
	local t0 t1 i uri cert
	case $1 in ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT ;; rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT ;; esac
	t0=$(now)
	for i in $(seq 1 "$N"); do
		OPENSSL_CONF=$ENGINE_CONF curl -s -o /dev/null --fail --cacert "$CA_CRT" \
			--engine pkcs11 --key-type ENG --key "$uri" --cert "$cert" \
			"https://localhost:$port/"
	done
	t1=$(now)
	python3 -c "print(round($N * 1e9 / ($t1 - $t0), 1))"
}

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

for key in ec rsa; do
	case $key in ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT ;; rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT ;; esac
	cat >"$D/$key.conf" <<CONF
log_level = error
connector_path = $BUILD/hsmagent-connector
child_user = nobody
chroot_dir = $D/empty
[hsm]
module = $HSM_MODULE
key_uri = $uri
pin_file = $PIN_FILE
certificate = $cert
[signing]
rate = 100000
burst = 100000
[tls]
ca_file = $CA_CRT
[probe]
url = https://localhost:$port/
CONF
	ratios=()
	for r in $(seq 1 "$ROUNDS"); do
		a=$(agent_run "$key")
		c=$(curl_run "$key")
		ratios+=("$(python3 -c "print($a / $c)")")
		echo "round $r $key: agent $a req/s, curl+engine $c req/s"
	done
	m=$(median "${ratios[@]}")
	verdict=$(python3 -c "print('ok' if $m >= 1.0 else 'MISSED')")
	printf 'bench: probe_ratio_curl_engine_%s = %.2f x (target >= 1.00) %s\n' "$key" "$m" "$verdict"
done
