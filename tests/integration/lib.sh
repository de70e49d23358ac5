# lib.sh - shared by the integration tests; sourced, never run.
#
# Each test runs in its own temp dir ($T). Every process a test starts
# is recorded and stopped by the EXIT trap, pass or fail. Services bind
# to 127.0.0.1 on free ports only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
FX=${HSMAGENT_FIXTURES:?run through 'make test' (HSMAGENT_FIXTURES unset)}
# shellcheck source=/dev/null
. "$FX/env.sh"
export SOFTHSM2_CONF

HSMAGENTD=$BUILD/hsmagentd
# make valgrind: the agent runs under memcheck (the child, sandboxed,
# runs natively); each process writes its report into VALGRIND_LOGDIR.
# --keep-debuginfo: a leak inside a PKCS#11 module keeps its module's
# name after libp11 unloads it (valgrind.supp names such leaks).
if [ -n "${VALGRIND_LOGDIR:-}" ]; then
	HSMAGENTD=$(mktemp /tmp/hsmagentd-vg.XXXXXX)
	cat >"$HSMAGENTD" <<EOF_VG
#!/bin/sh
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --keep-debuginfo=yes \\
	--suppressions=$ROOT/tests/valgrind.supp --log-file=$VALGRIND_LOGDIR/%p.log \\
	$BUILD/hsmagentd "\$@"
EOF_VG
	chmod 0755 "$HSMAGENTD"
fi
CONNECTOR=$BUILD/hsmagent-connector
T=$(mktemp -d /tmp/hsmagent-test.XXXXXX)
PIDS=()
# shellcheck source=../python_direct.sh
. "$ROOT/tests/python_direct.sh"
python_direct "$T/.bin"

# secret_file FILE...: FILE holds a secret (a password, a copy of a
# PIN). It is not kept for the secret scan; its value is searched for.
secret_file() {
	printf '%s\n' "$@" >>"$T/.secret-files"
}

# not_scanned FILE...: FILE is another tool's trace that records the
# PIN as that tool was given it (OpenSC's pkcs11-spy): not ours to scan.
not_scanned() {
	printf '%s\n' "$@" >>"$T/.not-scanned"
}

# The suite's secret scan (tests/check-secrets.sh): every file the test
# left, but the secrets themselves, goes to TEST_LOG_DIR/NAME, and the
# secrets' values to TEST_LOG_DIR/.secret-values (0600).
keep_for_scan() {
	local d f
	[ -n "${TEST_LOG_DIR:-}" ] && [ -d "$T" ] || return 0
	d=$TEST_LOG_DIR/$(basename "$0" .sh)
	mkdir -p "$d"
	if [ -f "$T/.secret-files" ]; then
		(umask 077; while read -r f; do
			[ -f "$f" ] && { cat "$f"; echo; }
		done <"$T/.secret-files" >>"$TEST_LOG_DIR/.secret-values")
	fi
	find "$T" -type f -size -4M ! -name .secret-files ! -name .not-scanned \
		-print0 2>/dev/null |
	while IFS= read -r -d '' f; do
		grep -qxF "$f" "$T/.secret-files" 2>/dev/null && continue
		grep -qxF "$f" "$T/.not-scanned" 2>/dev/null && continue
		mkdir -p "$d/$(dirname "${f#"$T"/}")"
		cp "$f" "$d/${f#"$T"/}" 2>/dev/null || true
	done
}

# running PID: 0 while it runs (a zombie has ended).
running() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${s#Z}" = "$s" ]
}

cleanup() {
	local p n alive
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	# One that does not stop (an agent stuck in a token that hangs) is
	# killed after 30 s: a failed test still ends, and ends its processes.
	for ((n = 0; n < 300; n++)); do
		alive=0
		for p in "${PIDS[@]}"; do
			running "$p" && { alive=1; break; }
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do
		running "$p" && { echo "cleanup: $p did not stop in 30 s: killed" >&2
			kill -9 "$p" 2>/dev/null || true; }
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	# A test's own teardown (an unmount), after its processes are gone.
	[ -n "${CLEANUP_HOOK:-}" ] && eval "$CLEANUP_HOOK"
	keep_for_scan
	# KEEP_T=DIR keeps a copy of the test's files for debugging.
	[ -n "${KEEP_T:-}" ] && cp -r "$T" "$KEEP_T" 2>/dev/null
	[ -n "${VALGRIND_LOGDIR:-}" ] && rm -f "$HSMAGENTD"
	rm -rf "$T"
}
trap cleanup EXIT
# The fixture token, copied for this test alone. SoftHSM rewrites a
# token's files as it is used (token.object when a login changes its
# PIN flags, as a wrong PIN does; the generation count), and a process
# that opens the token while another test's process rewrites them can
# be told the token is not there: with three tests at once, an agent
# under valgrind failed to start so ("hsm.open outcome=failed").
mkdir -m 0700 "$T/softhsm"
cp -a "$(sed -n 's/^directories\.tokendir *= *//p' "$SOFTHSM2_CONF")" \
	"$T/softhsm/tokens"
sed "s|^directories\.tokendir *=.*|directories.tokendir = $T/softhsm/tokens|" \
	"$SOFTHSM2_CONF" >"$T/softhsm/softhsm2.conf"
SOFTHSM2_CONF=$T/softhsm/softhsm2.conf
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() {
	echo "  $*"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
	local i
	for i in $(seq 1 100); do
		# bash's own connect: no process per try.
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

# start_sserver PORT LOG [openssl s_server options...]: a TLS server that
# demands a client certificate from the test CA and answers with -www.
start_sserver() {
	local port=$1 log=$2
	shift 2
	openssl s_server -accept "127.0.0.1:$port" -cert "$SERVER_CRT" \
		-key "$SERVER_KEY" -CAfile "$CA_CRT" -Verify 1 \
		-verify_return_error -www "$@" >"$log" 2>&1 &
	PIDS+=($!)
	wait_port "$port"
}

# write_config FILE KEY_URI CERT PORT [extra lines for the global part]
write_config() {
	local file=$1 uri=$2 cert=$3 port=$4
	shift 4
	{
		echo "log_level = info"
		echo "connector_path = ${CONNECTOR_OVERRIDE:-$CONNECTOR}"
		echo "child_user = nobody"
		echo "chroot_dir = $T/empty"
		for l in "$@"; do echo "$l"; done
		echo "[hsm]"
		echo "module = $HSM_MODULE"
		echo "key_uri = $uri"
		echo "pin_file = ${PIN_OVERRIDE:-$PIN_FILE}"
		echo "certificate = $cert"
		[ -n "${ALLOW_EXTRACTABLE:-}" ] && echo "insecure_allow_extractable_key = yes"
		echo "[signing]"
		echo "rate = 1000"
		echo "burst = 1000"
		echo "[tls]"
		echo "ca_file = $CA_CRT"
		echo "timeout = 10"
		echo "[probe]"
		echo "url = https://localhost:$port/"
	} >"$file"
}

# entrust_config CERT [API_LINE...]: $T/a.conf for an agent with the local
# API ($SOCK, policy $T/policy.conf, more [api] lines as given), state in
# $T/state and the connector "entrust" at the fake gateway (caId ca1).
entrust_config() {
	local cert=$1 l
	shift
	write_config "$T/a.conf" "$EC_KEY_URI" "$cert" "$port"
	{
		echo "[api]"
		echo "socket = $SOCK"
		for l in "$@"; do echo "$l"; done
		echo "policy = $T/policy.conf"
		echo "[state]"
		echo "dir = $T/state"
		echo "[connector entrust]"
		echo "type = entrust"
		echo "url = https://localhost:$port/cagw"
		echo "ca_id = ca1"
	} >>"$T/a.conf"
}

# ec_csr NAME DOMAIN: $T/NAME.key and $T/NAME.csr (EC P-256) for
# NAME.DOMAIN, its one DNS SAN.
ec_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1.$2" \
		-addext "subjectAltName=DNS:$1.$2" 2>/dev/null
}

# own_token: a SoftHSM token of the test's own in $T/fx (FX and the
# fixture variables point at it), for a test that makes, destroys or
# wears out keys: the shared token stays as the other tests expect it.
own_token() {
	FX=$T/fx
	bash "$ROOT/softhsm-fixtures/make-fixtures.sh" "$FX" >"$T/fx.log" 2>&1 ||
		{ cat "$T/fx.log" >&2; fail "fixtures"; }
	set -a
	# shellcheck source=/dev/null
	. "$FX/env.sh"
	set +a
	export SOFTHSM2_CONF
}

# expect_in FILE PATTERN WHAT: grep -E or fail with the file shown.
expect_in() {
	if ! grep -Eq -- "$2" "$1"; then
		echo "---- $1 ----" >&2
		tail -n 40 "$1" >&2
		fail "$3: no match for /$2/"
	fi
}

# expect_soon FILE PATTERN WHAT: expect_in for a line a running process
# is still writing (the agent logs some start lines after its socket
# exists); waits up to 10 s, longer only on failure.
expect_soon() {
	for _ in $(seq 1 200); do
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.05
	done
	expect_in "$@"
}

expect_not_in() {
	if grep -Eq -- "$2" "$1"; then
		echo "---- $1 ----" >&2
		grep -E -- "$2" "$1" | head -5 >&2
		fail "$3: unexpected match for /$2/"
	fi
}

# start_agent [CONF [ERR]]: hsmagentd -c CONF ($T/a.conf; stderr to ERR,
# $T/agent.err), stopped on exit; waits for its socket $SOCK. Sets agent
# to its pid.
start_agent() {
	local conf=${1:-$T/a.conf} err=${2:-$T/agent.err}
	"$HSMAGENTD" -c "$conf" 2>"$err" &
	agent=$!
	PIDS+=("$agent")
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || { cat "$err" >&2; fail "agent did not start"; }
}

# start_fakeca [fake_ca.py options]: tests/fakeca/fake_ca.py on $port,
# with the test CA, stats in $T/ca.json; FAKECA is its pid. stop_fakeca
# ends it.
FAKECA=
start_fakeca() {
	python3 "$ROOT/tests/fakeca/fake_ca.py" --port "$port" \
		--cert "$SERVER_CRT" --key "$SERVER_KEY" --client-ca "$CA_CRT" \
		--ca-cert "$CA_CRT" --ca-key "$FX/ca.key" --stats "$T/ca.json" \
		"$@" >>"$T/ca.out" 2>>"$T/ca.err" &
	FAKECA=$!
	PIDS+=("$FAKECA")
	wait_port "$port"
}
stop_fakeca() {
	kill "$FAKECA" 2>/dev/null || true
	wait "$FAKECA" 2>/dev/null || true
}

# health_until RC [FILE]: asks for health (text, into FILE) until the
# CLI exits RC, 10 s at most; rc is then its last exit code.
health_until() {
	local f=${2:-/dev/null}
	for _ in $(seq 1 100); do
		rc=0
		"$BUILD/hsmagent" --socket "$SOCK" health >"$f" 2>&1 || rc=$?
		[ "$rc" -eq "$1" ] && return 0
		sleep 0.1
	done
	return 0
}

# health_json: the health answer as JSON; succeeds whatever the status
# (exit 0 ok, 1 degraded, 2 down), fails only if there is no answer.
health_json() {
	local rc=0
	"$BUILD/hsmagent" --socket "$SOCK" --json health || rc=$?
	[ "$rc" -le 2 ]
}

# wait_validated: until every connector has been checked at the CA;
# the health answer is left in $T/health.json.
wait_validated() {
	for _ in $(seq 1 50); do
		"$BUILD/hsmagent" --socket "$SOCK" --json health >"$T/health.json" 2>/dev/null || true
		grep -q 'not checked yet' "$T/health.json" || return 0
		sleep 0.1
	done
	fail "connectors not validated after 5 s"
}

# start_cagw CA_ID [fake_cagw.py options]: the fake Entrust gateway on a
# free port (sets port), stats in $T/gw.json, stopped on exit.
start_cagw() {
	local ca=$1
	shift
	port=$(free_port)
	python3 "$ROOT/tests/fakeca/fake_cagw.py" --port "$port" --cert "$SERVER_CRT" \
		--key "$SERVER_KEY" --client-ca "$CA_CRT" --ca-cert "$CA_CRT" \
		--ca-key "$FX/ca.key" --stats "$T/gw.json" --ca-id "$ca" "$@" \
		2>"$T/gw.err" &
	PIDS+=($!)
	wait_port "$port"
}

# install_client_cert DAYS: the CA's answer to $T/new.csr installed in
# place of the client certificate ($T/client.pem, made newer than the
# old one), as an operator would; then, once health shows the child up
# and the old key retirable, prints that key's id ("" if it never did).
install_client_cert() {
	local retirable=""
	openssl x509 -req -in "$T/new.csr" -CA "$CA_CRT" -CAkey "$FX/ca.key" \
		-CAcreateserial -CAserial "$T/ca.srl" -days "$1" \
		-extfile "$FX/client.ext" -out "$T/new.pem" 2>/dev/null
	touch -d '+2 seconds' "$T/new.pem"
	mv -f "$T/new.pem" "$T/client.pem"
	for _ in $(seq 1 100); do
		"$BUILD/hsmagent" --socket "$SOCK" --json health >"$T/health.json" 2>/dev/null || true
		retirable=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); print(h.get("retirable_key") or "")' "$T/health.json" 2>/dev/null || true)
		[ -n "$retirable" ] && grep -q '"connector_child_ready":true' "$T/health.json" && break
		sleep 0.1
	done
	echo "$retirable"
}

# last_client: serial and CN of the client certificate of the fake
# gateway's last POST.
last_client() {
	python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["requests"] if x["method"]=="POST"][-1]; print(r["client_serial"], r["client"])' "$T/gw.json"
}

# serial_of CERT: lowercase hex, as the fakes record it.
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
