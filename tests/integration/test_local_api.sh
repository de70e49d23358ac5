# test_local_api.sh - the local API end to end with the real agent:
# identity from SO_PEERCRED (a second real user via setpriv), policy
# decisions and approval by a second person, the audit log (intact, then
# tampered), and abuse (a 1 MiB line, invalid UTF-8, deep nesting, 500
# idle connections) while a well-behaved client keeps being served.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
chmod 0755 "$T"		# the second user reads the CSRs made here
SOCK=$T/agent.sock
nobody_uid=$(id -u nobody)
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# The connector the policy names, at the fake gateway (orders approved
# here are issued there).
start_cagw ca1
gwport=$port
port=$(free_port)
start_sserver "$port" "$T/server.log"
cat >"$T/policy.conf" <<EOF
[admins]
users = root

[rule web]
callers = user:root
connectors = entrust
profiles = server
san_dns = *.web.example.com, api.example.com
san_ip = 10.0.0.0/8
max_validity_days = 90
key_types = ec:p256, rsa:2048
approval = user:nobody
EOF
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
cat >>"$T/a.conf" <<EOF
[api]
socket = $SOCK
mode = 0666
max_connections = 64
idle_timeout = 5
policy = $T/policy.conf
[state]
dir = $T/state
[connector entrust]
type = entrust
url = https://localhost:$gwport/cagw
ca_id = ca1
EOF
"$HSMAGENTD" -t -c "$T/a.conf" >"$T/t.out" 2>&1 || { cat "$T/t.out" >&2; fail "config with [api] rejected"; }
start_agent
cli() { "$CLI" --socket "$SOCK" "$@"; }

cli version | grep '"version"' >/dev/null || fail "version"
health_json >"$T/health" || fail "health: no answer"
expect_in "$T/health" '"status"' "health"
cli metrics >"$T/metrics"
expect_in "$T/metrics" '^hsmagent_signatures_total\{verdict="granted"\} ' "metrics"
note "version, health, metrics"

# CSRs made here, outside the agent.
csr() {	# NAME SUBJECT SAN [keyopts]
	openssl req -new -newkey "${4:-ec}" ${5:+-pkeyopt "$5"} -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "$2" \
		${3:+-addext "subjectAltName=$3"} 2>/dev/null
	chmod 0644 "$T/$1.csr"
}
csr good /CN=a.web.example.com DNS:a.web.example.com ec ec_paramgen_curve:P-256

# A uid the policy does not name: denied, audited with that uid.
set +e
as_nobody "$CLI" --socket "$SOCK" enroll --connector entrust --profile server \
	--csr "$T/good.csr" 2>"$T/nobody.err"
rc=$?
set -e
[ "$rc" -eq 11 ] || { cat "$T/nobody.err" >&2; fail "nobody's enroll: exit $rc, expected 11 (denied)"; }
expect_in "$T/nobody.err" 'policy_denied' "nobody denied"
grep '"event":"policy.decision"' "$T/state/audit.log" | grep '"outcome":"denied"' |
	grep -q "\"uid\":$nobody_uid" || fail "denial not audited with uid $nobody_uid"
note "uid $nobody_uid (not in the policy): denied, exit 11, audited"

# Bypass attempts through the real socket.
set +e
csr trail /CN=a.web.example.com DNS:a.web.example.com. ec ec_paramgen_curve:P-256
cli enroll --connector entrust --profile server --csr "$T/trail.csr" 2>/dev/null; r1=$?
csr deep /CN=a.b.web.example.com DNS:a.b.web.example.com ec ec_paramgen_curve:P-256
cli enroll --connector entrust --profile server --csr "$T/deep.csr" 2>/dev/null; r2=$?
cli enroll --connector entrust --profile server --csr "$T/good.csr" \
	--san dns:b.web.example.com 2>/dev/null; r3=$?
cli enroll --connector entrust --profile server --csr "$T/good.csr" \
	--validity 365 2>/dev/null; r4=$?
set -e
[ "$r1" -ne 0 ] && [ "$r1" -ne 10 ] || fail "trailing-dot SAN accepted ($r1)"
[ "$r2" -eq 11 ] || fail "wildcard two labels deep: exit $r2, expected 11"
[ "$r3" -ne 0 ] && [ "$r3" -ne 10 ] || fail "request SANs differing from the CSR accepted ($r3)"
[ "$r4" -eq 11 ] || fail "validity over the maximum: exit $r4, expected 11"
note "trailing dot, deep wildcard, SAN mismatch, long validity: refused"

# Second-person approval: root asks, root may not approve, nobody may.
set +e
cli --json enroll --connector entrust --profile server --csr "$T/good.csr" >"$T/enroll.json"
rc=$?
set -e
[ "$rc" -eq 10 ] || { cat "$T/enroll.json" >&2; fail "enroll under approval: exit $rc, expected 10 (pending)"; }
order=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["order"]["id"])' "$T/enroll.json")
expect_in "$T/enroll.json" '"state":"awaiting_approval"' "awaiting approval"
set +e
# The approver finds what waits for them; the requester is not one.
as_nobody "$CLI" --socket "$SOCK" list --awaiting >"$T/awaiting.out" 2>&1 ||
	{ cat "$T/awaiting.out" >&2; fail "list --awaiting as the approver"; }
expect_in "$T/awaiting.out" "order $order: awaiting_approval" "the approver's list --awaiting"
cli list --awaiting >"$T/awaiting-root.out" 2>&1 || fail "list --awaiting as the requester"
expect_in "$T/awaiting-root.out" '^no orders await your approval' "the requester may approve nothing"
cli approve "$order" 2>"$T/self.err"; rc=$?
set -e
[ "$rc" -eq 11 ] || fail "requester approving own order: exit $rc, expected 11"
expect_in "$T/self.err" 'policy_denied' "self-approval refused"
as_nobody "$CLI" --socket "$SOCK" approve "$order" >"$T/approve.out" 2>&1 || true
expect_in "$T/approve.out" "order $order" "approval by a second person"
grep '"event":"order.approve"' "$T/state/audit.log" | grep "\"uid\":$nobody_uid" >/dev/null ||
	fail "approval not audited with the approver's uid"
note "order $order: self-approval refused, approved by uid $nobody_uid"
cli list | grep "$order" >/dev/null || fail "list lacks the order"
as_nobody "$CLI" --socket "$SOCK" list | grep "$order" >/dev/null && fail "nobody lists root's order"
set +e
as_nobody "$CLI" --socket "$SOCK" status 0123456789abcdef 2>/dev/null; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "status of an unknown order: exit $rc"

# Abuse while a good client keeps being served.
python3 - "$SOCK" <<'PY' || fail "abuse script"
import json, os, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(5); return s
def ask(line):
    s = conn(); s.sendall(line); r = s.makefile().readline(); s.close(); return r
def health_ok():
    return json.loads(ask(b'{"op":"health"}\n'))["ok"] is True
# 1 MiB line: an error, the connection closed, the agent fine.
s = conn()
try:
    s.sendall(b'{"op":"health","x":"' + b"a" * (1 << 20) + b'"}\n')
except (BrokenPipeError, ConnectionResetError):
    pass
r = s.makefile().readline()
assert "bad_request" in r, r
s.close()
assert health_ok()
assert "bad_request" in ask(b'{"op":"he\xc3\x28lth"}\n')
assert "bad_request" in ask(b'{"op":"health","x":' + b"[" * 100000 + b'\n')
assert health_ok()
# 500 idle connections (as root here; eviction makes room) ...
idle = []
for i in range(500):
    try:
        idle.append(conn())
    except OSError:
        break
# ... and the well-behaved client is still served.
for i in range(5):
    assert health_ok()
for s in idle:
    s.close()
print("abuse ok")
PY
as_nobody /usr/bin/python3 - "$SOCK" <<'PY' || fail "idle connections as another uid"
import socket, sys
idle = []
for i in range(500):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); idle.append(s)
print(len(idle))
PY
health_json >/dev/null || fail "health after 500 connections from another uid"
kill -0 "$agent" || fail "agent died during abuse"
note "1 MiB line, bad UTF-8, deep nesting, 500 idle connections: agent serves"

# SIGHUP: a broken policy is refused and the old one stays.
cp "$T/policy.conf" "$T/policy.good"
echo "bogus line" >>"$T/policy.conf"
kill -HUP "$agent"
for _ in $(seq 1 50); do grep -q 'policy reload failed' "$T/agent.err" && break; sleep 0.05; done
expect_in "$T/agent.err" 'policy reload failed, keeping the old policy' "bad reload refused"
set +e
as_nobody "$CLI" --socket "$SOCK" enroll --connector entrust --profile server \
	--csr "$T/good.csr" 2>/dev/null; rc=$?
set -e
[ "$rc" -eq 11 ] || fail "after a failed reload the old policy must apply (exit $rc)"
note "SIGHUP with a broken policy: refused, audited, old policy kept"

kill "$agent"
wait "$agent" 2>/dev/null || true
"$CLI" audit verify "$T/state/audit.log" >"$T/verify.out" || fail "audit log does not verify"
expect_in "$T/verify.out" 'intact' "audit verify"
# The recipe auditors get (audit/audit.h), run independently.
python3 "$ROOT/tests/integration/audit_check.py" "$T/state/audit.log" >/dev/null ||
	fail "the documented re-check disagrees with hsmagent audit verify"
for ev in agent.start hsm.login hsm.key_check child.start policy.decision \
	order.approve ca.result api.bad_request policy.reload agent.stop; do
	grep -q "\"event\":\"$ev\"" "$T/state/audit.log" || fail "no $ev record"
done
# Edit one record: verify fails and names its line.
sed '3s/"outcome":"ok"/"outcome":"OK"/' "$T/state/audit.log" >"$T/tampered.log"
cmp -s "$T/state/audit.log" "$T/tampered.log" && fail "tamper edit did not apply"
set +e
"$CLI" audit verify "$T/tampered.log" 2>"$T/tamper.err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "tampered log: exit $rc"
expect_in "$T/tamper.err" 'line 3' "tampered record named"
note "audit log: $(cat "$T/verify.out"); an edited line 3 is named"
