# test_hsm_faults.sh - the token goes away under the running agent
# (SoftHSM's token directory moved) and comes back. Signatures fail
# cleanly, health shows the HSM down and the fault is audited, the order
# waits instead of failing, and service resumes by itself when the token
# is back: a new session, or the module loaded again and a login with
# the PIN that worked at start (never with another). On a token
# of its own.
. "$(dirname "$0")/lib.sh"

own_token

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1
cat >"$T/policy.conf" <<EOF2
[rule h]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.h.example.com
max_validity_days = 30
key_types = ec:p256
EOF2
entrust_config "$CLIENT_EC_CRT"
start_agent
wait_validated
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -out "$T/$1.csr" -subj "/CN=$1.h.example.com" \
		-addext "subjectAltName=DNS:$1.h.example.com" 2>/dev/null
}
hsm() { health_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hsm"])'; }
state_of() {	# status exits 10 while pending: not a failure here
	{ "$CLI" --socket "$SOCK" --json status "$1" 2>/dev/null || true; } |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["order"]["state"])'
}

csr one
"$CLI" --socket "$SOCK" enroll --connector entrust --profile issue --csr "$T/one.csr" \
	--wait >"$T/one.out" 2>&1 || { cat "$T/one.out" >&2; fail "first enrollment"; }
[ "$(hsm)" = ok ] || fail "hsm not ok at start"

mv "$FX/tokens" "$FX/tokens.away"
csr two
# A new child: no open connection to reuse, so the next request needs a
# handshake, and the handshake a signature.
kill "$(pgrep -P "$agent" | head -n1)"
for _ in $(seq 1 100); do
	health_json 2>/dev/null | grep -q '"connector_child_ready":true' && break
	sleep 0.1
done
out=$("$CLI" --socket "$SOCK" --json enroll --connector entrust --profile issue --csr "$T/two.csr" || true)
o2=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].splitlines()[-1])["order"]["id"])' "$out")
down=0
for _ in $(seq 1 100); do
	if [ "$(hsm)" != ok ]; then down=1; break; fi
	sleep 0.1
done
[ "$down" -eq 1 ] || fail "health does not show the HSM down"
why=$(hsm)
health_json | grep -q '"status":"down"' || fail "health not down"
grep '"event":"hsm.fault"' "$T/state/audit.log" | grep -q '"outcome":"failed"' || fail "fault not audited"
st=$(state_of "$o2")
[ "$st" != issued ] && [ "$st" != failed ] && [ "$st" != rejected ] ||
	fail "order $o2 is $st while the token is gone; it should wait"
kill -0 "$agent" || fail "the agent died"
note "token gone: health down (\"$why\"), audited, order $o2 waits ($st)"

mv "$FX/tokens.away" "$FX/tokens"
issued=0
for _ in $(seq 1 300); do
	if [ "$(state_of "$o2")" = issued ]; then issued=1; break; fi
	sleep 0.2
done
[ "$issued" -eq 1 ] || { tail -20 "$T/agent.err" >&2; fail "order $o2 not issued after the token came back"; }
[ "$(hsm)" = ok ] || fail "health still shows the HSM down"
grep '"event":"hsm.fault"' "$T/state/audit.log" | grep -q '"outcome":"recovered"' || fail "recovery not audited"
"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit chain broken"
note "token back: module reloaded, logged in again with the PIN that worked; order $o2 issued, health ok, recovery audited (at ${SECONDS} s)"
