# test_ca_faults.sh - a CA gateway that misbehaves at the HTTP and TLS
# level: connection reset, truncated body, a trickle slower than the
# timeout, a redirect, HTTP/1.0 without length, broken chunking, a
# server certificate from the wrong CA. Each ends in a clear, classified
# error within the agent's timeout; none is issued, none hangs.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1 --slow-seconds 4
# A second gateway whose server certificate comes from another CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/other-ca.key" -out "$T/other-ca.crt" -subj "/CN=other CA" -days 2 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/other.key" -out "$T/other.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/other.ext"
openssl x509 -req -in "$T/other.csr" -CA "$T/other-ca.crt" -CAkey "$T/other-ca.key" \
	-CAcreateserial -days 2 -extfile "$T/other.ext" -out "$T/other.crt" 2>/dev/null
port2=$(free_port)
python3 "$ROOT/tests/fakeca/fake_cagw.py" --port "$port2" --cert "$T/other.crt" \
	--key "$T/other.key" --client-ca "$CA_CRT" --ca-cert "$CA_CRT" \
	--ca-key "$FX/ca.key" --stats "$T/gw2.json" --ca-id ca1 2>"$T/gw2.err" &
PIDS+=($!)
wait_port "$port2"

modes="reset truncated trickle redirect http10 badchunk"
cat >"$T/policy.conf" <<EOF2
[rule f]
callers = user:root
connectors = entrust, otherca
profiles = ${modes// /, }, issue
san_dns = *.f.example.com
max_validity_days = 30
key_types = ec:p256
EOF2
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
sed -i 's/^timeout = 10$/timeout = 3/' "$T/a.conf"
cat >>"$T/a.conf" <<EOF2
[api]
socket = $SOCK
policy = $T/policy.conf
[state]
dir = $T/state
[connector entrust]
type = entrust
url = https://localhost:$port/cagw
ca_id = ca1
[connector otherca]
type = entrust
url = https://localhost:$port2/cagw
ca_id = ca1
EOF2
start_agent
wait_validated
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["connectors"]; sys.exit(0 if "certificate" in c["otherca"] else 1)' \
	"$T/health.json" || { cat "$T/health.json" >&2; fail "the wrong CA's certificate not reported at validation"; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -out "$T/f.csr" -subj "/CN=a.f.example.com" \
	-addext "subjectAltName=DNS:a.f.example.com" 2>/dev/null

for m in $modes; do
	t0=$(date +%s%N)
	set +e
	timeout 40 "$CLI" --socket "$SOCK" --json enroll --connector entrust --profile "$m" \
		--csr "$T/f.csr" --wait >"$T/$m.out" 2>&1
	rc=$?
	set -e
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$rc" -ne 124 ] || fail "$m: still waiting after 40 s"
	[ "$rc" -ne 0 ] || fail "$m: issued"
	why=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["order"].get("last_error", ""))' \
		"$T/$m.out" 2>/dev/null || true)
	[ -n "$why" ] || { cat "$T/$m.out" >&2; fail "$m: no reason given"; }
	note "$m: exit $rc after $ms ms: $why"
done
kill -0 "$agent" || fail "the agent died"

# The wrong CA: the TLS handshake fails before any request; never issued.
set +e
"$CLI" --socket "$SOCK" --json enroll --connector otherca --profile issue --csr "$T/f.csr" >"$T/o.out" 2>&1
set -e
oid=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["order"]["id"])' "$T/o.out")
seen=0
for _ in $(seq 1 100); do
	if "$CLI" --socket "$SOCK" list | grep "$oid" | grep -q 'certificate'; then seen=1; break; fi
	sleep 0.1
done
[ "$seen" -eq 1 ] || { "$CLI" --socket "$SOCK" list >&2; fail "wrong CA: no certificate error on the order"; }
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["requests"] == [] else 1)' "$T/gw2.json" ||
	fail "the wrong-CA server received an HTTP request"
note "server certificate from another CA: $("$CLI" --socket "$SOCK" list | grep "$oid" | sed 's/.*(\(.*\))$/\1/' | cut -c1-120)"
