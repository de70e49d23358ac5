# test_dns.sh - names are the parent's: the agent runs in a private
# mount namespace with its own /etc/hosts (and a resolv.conf that points
# at nothing, so no query leaves the machine), the connector names
# ca.dns.test, and the test changes what that name means.
#   - not resolvable: a clear error naming the host and the connector in
#     the order and in health, counted; no sandbox kill;
#   - resolvable: the order placed meanwhile is issued, nothing lost;
#   - the CA moves to another address: once the old one is gone, new
#     connections follow the name within the resolver's TTL (10 s).
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
port=$(free_port)

# The gateway's certificate for the name, from the test CA.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/gw.key" -out "$T/gw.csr" -subj "/CN=ca.dns.test" 2>/dev/null
printf 'subjectAltName=DNS:ca.dns.test\nextendedKeyUsage=serverAuth\n' >"$T/gw.ext"
openssl x509 -req -in "$T/gw.csr" -CA "$CA_CRT" -CAkey "$FX/ca.key" \
	-CAcreateserial -CAserial "$T/ca.srl" -days 2 -extfile "$T/gw.ext" \
	-out "$T/gw.crt" 2>/dev/null
gateway() {	# ADDR NAME
	python3 "$ROOT/tests/fakeca/fake_cagw.py" --port "$port" --bind "$1" \
		--cert "$T/gw.crt" --key "$T/gw.key" --client-ca "$CA_CRT" \
		--ca-cert "$CA_CRT" --ca-key "$FX/ca.key" --stats "$T/$2.json" \
		--ca-id ca1 2>"$T/$2.err" &
	PIDS+=($!)
	eval "${2}_pid=$!"
}
gateway 127.0.0.1 gw1
gateway 127.0.0.2 gw2
wait_port "$port"

printf '127.0.0.1 localhost\n' >"$T/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
cat >"$T/policy.conf" <<EOF
[rule d]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.d.example.com
max_validity_days = 30
key_types = ec:p256
EOF
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
sed -i 's/^timeout = 10$/timeout = 3/' "$T/a.conf"
printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" "[state]" \
	"dir = $T/state" "[connector entrust]" "type = entrust" \
	"url = https://ca.dns.test:$port/cagw" "ca_id = ca1" >>"$T/a.conf"

# The agent in its own mount namespace: /etc/hosts and resolv.conf are
# the test's files there, and only there.
unshare -m --propagation private sh -c 'mount --bind "$1" /etc/hosts &&
	mount --bind "$2" /etc/resolv.conf && exec "$3" -c "$4"' sh \
	"$T/hosts" "$T/resolv.conf" "$HSMAGENTD" "$T/a.conf" 2>"$T/agent.err" &
agent=$!
PIDS+=("$agent")
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$T/agent.err" >&2; fail "agent did not start"; }

metric() { "$CLI" --socket "$SOCK" metrics | sed -n "s/^$1 \([0-9]*\)$/\1/p"; }
for _ in $(seq 1 100); do
	health_json >"$T/h.json" || true
	grep -q 'cannot resolve ca.dns.test for connector entrust' "$T/h.json" && break
	sleep 0.1
done
expect_in "$T/h.json" 'cannot resolve ca.dns.test for connector entrust' "health names the name"
[ "$(metric hsmagent_dns_failures_total)" -ge 1 ] || fail "DNS failures not counted"
[ "$(metric hsmagent_sandbox_kills_total)" -eq 0 ] || fail "a DNS failure killed the child"
note "unresolvable: health says '$(grep -o 'cannot resolve ca.dns.test[^"]*' "$T/h.json" | head -1)'; no sandbox kill"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -out "$T/o.csr" -subj "/CN=a.d.example.com" \
	-addext "subjectAltName=DNS:a.d.example.com" 2>/dev/null
# exit 10: pending (or 13, retry later): the order stands either way.
"$CLI" --socket "$SOCK" --json enroll --connector entrust --profile issue \
	--csr "$T/o.csr" >"$T/o.json" 2>"$T/o.err" || true
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["order"]["id"])' "$T/o.json") ||
	{ cat "$T/o.json" "$T/o.err" >&2; fail "no order id"; }
for _ in $(seq 1 50); do
	"$CLI" --socket "$SOCK" list >"$T/list.out" 2>&1 || true
	grep -q "cannot resolve ca.dns.test" "$T/list.out" && break
	sleep 0.1
done
expect_in "$T/list.out" "$id: (received|submitting|pending).*cannot resolve ca.dns.test for connector entrust" \
	"the order says why it waits"
expect_not_in "$T/list.out" "$id: (failed|rejected)" "the order was given up"
[ "$(metric hsmagent_sandbox_kills_total)" -eq 0 ] || fail "the order's DNS failure killed the child"

# The name resolves: the same order goes through on its next attempt.
printf '127.0.0.1 localhost\n127.0.0.1 ca.dns.test\n' >"$T/hosts"
issued=0
for _ in $(seq 1 120); do
	if "$CLI" --socket "$SOCK" status "$id" >"$T/status.out" 2>&1; then
		issued=1
		break
	fi
	sleep 0.5
done
[ "$issued" -eq 1 ] || { cat "$T/status.out" "$T/agent.err" >&2; fail "not issued once the name resolved"; }
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["enrollments"]))' "$T/gw1.json")" -eq 1 ] ||
	fail "the gateway did not get exactly one enrollment"
note "the name resolves: the waiting order issued, one enrollment"

# The CA moves: the name now means 127.0.0.2, and the old address is gone.
printf '127.0.0.1 localhost\n127.0.0.2 ca.dns.test\n' >"$T/hosts"
kill "$gw1_pid"
sleep 11	# past the resolver's 10 s TTL
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -out "$T/m.csr" -subj "/CN=b.d.example.com" \
	-addext "subjectAltName=DNS:b.d.example.com" 2>/dev/null
rc=0
timeout 60 "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue \
	--csr "$T/m.csr" --wait --out "$T/m.crt" >"$T/m.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/m.out" >&2; fail "after the move: exit $rc"; }
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["enrollments"]))' "$T/gw2.json")" -ge 1 ] ||
	fail "the new address got no enrollment"
[ "$(metric hsmagent_sandbox_kills_total)" -eq 0 ] || fail "a sandbox kill"
note "the CA moved to 127.0.0.2: followed without a restart"
