# test_rotation.sh - the client certificate is replaced while the agent
# runs: once with a new certificate for the same HSM key, once with a
# certificate for the second HSM key. The next enrollment presents the
# new certificate (the fake gateway records it), with no restart. A
# broken file stops CA requests (never stale service) until it is fixed.
# Then the same gateway through an HTTP CONNECT proxy.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1

cp "$CLIENT_EC_CRT" "$T/client.pem"
cat >"$T/policy.conf" <<EOF2
[rule r]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.r.example.com
max_validity_days = 30
key_types = ec:p256
EOF2
entrust_config "$T/client.pem"
start_agent

enroll() {	# NAME: exit code in rc
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -out "$T/$1.csr" -subj "/CN=$1.r.example.com" \
		-addext "subjectAltName=DNS:$1.r.example.com" 2>/dev/null
	set +e
	timeout 30 "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue \
		--csr "$T/$1.csr" --wait >"$T/$1.out" 2>&1
	rc=$?
	set -e
}
rotations() { grep -c '"event":"cert.rotation","hash":"[0-9a-f]*","outcome":"ok"' "$T/state/audit.log" || true; }
wait_rotation() {	# N: until N successful rotations are audited, and the child is back
	for _ in $(seq 1 100); do
		[ "$(rotations)" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$(rotations)" -ge "$1" ] || { tail -5 "$T/agent.err" >&2; fail "rotation $1 not seen"; }
	for _ in $(seq 1 100); do
		health_json 2>/dev/null | grep '"connector_child_ready":true' >/dev/null && return 0
		sleep 0.1
	done
	fail "no connector child after rotation $1"
}

enroll first
[ "$rc" -eq 0 ] || { cat "$T/first.out" >&2; fail "first enrollment: exit $rc"; }
[ "$(last_client)" = "$(serial_of "$CLIENT_EC_CRT") hsmagent-client-ec" ] ||
	fail "first request used $(last_client)"

# 1. A new certificate for the same HSM key.
openssl x509 -req -in "$FX/client-ec.csr" -CA "$CA_CRT" -CAkey "$FX/ca.key" \
	-CAcreateserial -CAserial "$T/ca.srl" -days 365 -extfile "$FX/client.ext" \
	-out "$T/new-ec.pem" 2>/dev/null
touch -d '+2 seconds' "$T/new-ec.pem"
mv -f "$T/new-ec.pem" "$T/client.pem"
wait_rotation 1
enroll second
[ "$rc" -eq 0 ] || { cat "$T/second.out" >&2; fail "after rotation 1: exit $rc"; }
[ "$(last_client)" = "$(serial_of "$T/client.pem") hsmagent-client-ec" ] ||
	fail "after rotation 1 the request used $(last_client)"
note "same key, new certificate: next request presents it, no restart"

# 2. A certificate for the second HSM key (RSA).
cp "$CLIENT_RSA_CRT" "$T/rsa.pem"
touch -d '+4 seconds' "$T/rsa.pem"
mv -f "$T/rsa.pem" "$T/client.pem"
wait_rotation 2
enroll third
[ "$rc" -eq 0 ] || { cat "$T/third.out" >&2; fail "after rotation 2: exit $rc"; }
[ "$(last_client)" = "$(serial_of "$CLIENT_RSA_CRT") hsmagent-client-rsa" ] ||
	fail "after rotation 2 the request used $(last_client)"
grep '"key_switched":true' "$T/state/audit.log" >/dev/null || fail "key switch not audited"
note "certificate for the other HSM key: found by public key, used, audited"

# 3. A broken file: no CA request with the old certificate.
posts=$(python3 -c 'import json,sys; print(sum(1 for x in json.load(open(sys.argv[1]))["requests"] if x["method"]=="POST"))' "$T/gw.json")
echo "not a certificate" >"$T/broken.pem"
touch -d '+6 seconds' "$T/broken.pem"
mv -f "$T/broken.pem" "$T/client.pem"
for _ in $(seq 1 50); do
	"$CLI" --socket "$SOCK" --json health >"$T/h.json" 2>/dev/null || true
	grep '"status":"degraded"' "$T/h.json" >/dev/null && break
	sleep 0.1
done
expect_in "$T/h.json" '"client_certificate":"no EC or RSA certificate' "health names the problem"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-out "$T/fourth.csr" -subj /CN=fourth.r.example.com \
	-addext subjectAltName=DNS:fourth.r.example.com 2>/dev/null
set +e
"$CLI" --socket "$SOCK" enroll --connector entrust --profile issue --csr "$T/fourth.csr" >"$T/fourth.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 10 ] || fail "enroll with a broken certificate file: exit $rc, expected 10 (waits)"
sleep 2
[ "$(python3 -c 'import json,sys; print(sum(1 for x in json.load(open(sys.argv[1]))["requests"] if x["method"]=="POST"))' "$T/gw.json")" -eq "$posts" ] ||
	fail "a CA request went out with a broken certificate file"
cp "$CLIENT_EC_CRT" "$T/ok.pem"
touch -d '+8 seconds' "$T/ok.pem"
mv -f "$T/ok.pem" "$T/client.pem"
order=$(sed -n 's/^order \([0-9a-f]*\):.*/\1/p' "$T/fourth.out" | head -1)
for _ in $(seq 1 100); do
	"$CLI" --socket "$SOCK" status "$order" >"$T/st.out" 2>&1 || true
	grep ': issued ' "$T/st.out" >/dev/null && break
	sleep 0.2
done
expect_in "$T/st.out" ': issued ' "order waits for a good certificate, then completes"
grep '"event":"cert.rotation","hash":"[0-9a-f]*","outcome":"failed"' "$T/state/audit.log" >/dev/null ||
	fail "failed rotation not audited"
note "broken certificate: health degraded, no CA request, order completes once fixed"
kill -0 "$agent" || fail "agent died"
kill "$agent"; wait "$agent" 2>/dev/null || true

# 4. Through an HTTP CONNECT proxy: TLS stays end to end with the CA.
pport=$(free_port)
python3 "$ROOT/tests/fakeca/connect_proxy.py" "$pport" "$T/proxy.log" 2>/dev/null &
PIDS+=($!)
wait_port "$pport"
sed -i "s|^ca_id = ca1$|ca_id = ca1\nproxy = http://localhost:$pport|" "$T/a.conf"
"$HSMAGENTD" -t -c "$T/a.conf" >/dev/null || fail "config with a proxy rejected"
"$HSMAGENTD" -c "$T/a.conf" 2>>"$T/agent.err" &
agent=$!
PIDS+=("$agent")
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
before=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["requests"]))' "$T/gw.json")
enroll fifth
[ "$rc" -eq 0 ] || { cat "$T/fifth.out" >&2; fail "through the proxy: exit $rc"; }
expect_in "$T/proxy.log" "^CONNECT localhost:$port\$" "the child tunnelled through the proxy"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["requests"]))' "$T/gw.json")" -gt "$before" ] ||
	fail "the gateway saw nothing through the proxy"
note "HTTP CONNECT proxy: the request reached the gateway through the tunnel"
