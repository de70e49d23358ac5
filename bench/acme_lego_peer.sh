#!/usr/bin/env bash
# bench/acme_lego_peer.sh - the peer of the coming acme_enroll_ratio_lego
# figure, measured alone until the ACME connector exists: enrollments/s
# of Debian's lego with an external CSR (lego --csr ... run, one process
# per certificate, as a script would call it) against Debian's Pebble on
# loopback, EAB required, authorizations pre-validated
# (PEBBLE_VA_ALWAYS_VALID=1), the account registered once beforehand.
# The agent's side (hsmagent enroll through the ACME connector, account
# key in SoftHSM) is to be measured against the same Pebble, interleaved
# with this, by bench/run.sh.
#
# BENCH_LEGO_N (default 20) enrollments; prints
#   lego: N enrollments in S s = R enrollments/s
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_LEGO_N:-20}
FXD=$(mktemp -d /tmp/hsmagent-bench-fx.XXXXXX)
bash "$ROOT/softhsm-fixtures/make-fixtures.sh" "$FXD" >/dev/null
export HSMAGENT_FIXTURES=$FXD
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=../tests/integration/pebble.sh
. "$ROOT/tests/integration/pebble.sh"
CLEANUP_HOOK='rm -rf "$FXD"'

start_pebble always-valid
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/app.key" -subj /CN=app.example.test \
	-addext subjectAltName=DNS:app.example.test -outform DER \
	-out "$T/app.der" 2>/dev/null
hport=$(free_port)

lego_run() {
	LEGO_CA_CERTIFICATES=$PEBBLE_TLS_CA lego --server "$PEBBLE_DIR_URL" \
		--accept-tos --email admin@example.test --eab \
		--kid "$PEBBLE_EAB_KID" --hmac "$(cat "$PEBBLE_EAB_HMAC_FILE")" \
		--csr "$T/app.der" --path "$T/lego" --http \
		--http.port "127.0.0.1:$hport" run >>"$T/lego.log" 2>&1
}

lego_run || { tail -20 "$T/lego.log" >&2; fail "lego could not register"; }
start=$(date +%s%N)
for _ in $(seq 1 "$N"); do
	lego_run || { tail -20 "$T/lego.log" >&2; fail "lego failed"; }
done
ns=$(($(date +%s%N) - start))
python3 -c 'import sys; n,ns=int(sys.argv[1]),int(sys.argv[2]); print("lego: %d enrollments in %.2f s = %.2f enrollments/s" % (n, ns/1e9, n/(ns/1e9)))' "$N" "$ns"
