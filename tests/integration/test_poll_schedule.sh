# test_poll_schedule.sh - a connector's poll_schedule is followed: the
# fake gateway keeps an order pending for six polls and sends no
# Retry-After, the connector says "1, 2, 8"; the gateway's own clock
# shows each wait near its step (+-20 %, whole seconds, the agent's 1 s
# tick), the last step repeated, and nothing like the default 5/15 s.
# The wait (about 35 s) runs on a terminal: enroll --wait says how long
# it has waited and when the CA is asked next, at least every 30 s.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1 --pending-retry-after 0

cat >"$T/policy.conf" <<EOF
[rule p]
callers = user:root
connectors = entrust
profiles = pending-6
san_dns = *.p.example.com
max_validity_days = 30
key_types = ec:p256
EOF
entrust_config "$CLIENT_EC_CRT"
echo "poll_schedule = 1, 2, 8" >>"$T/a.conf"
"$HSMAGENTD" -t -c "$T/a.conf" >"$T/t.out" 2>&1 || { cat "$T/t.out" >&2; fail "-t refused poll_schedule = 1, 2, 8"; }
start_agent
wait_validated

ec_csr s p.example.com
rc=0
script -qefc "timeout 120 $CLI --socket $SOCK enroll --connector entrust --profile pending-6 --csr $T/s.csr --wait --out $T/s.crt" \
	/dev/null >"$T/s.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/s.out" >&2; fail "enroll --wait: exit $rc"; }
[ -s "$T/s.crt" ] || fail "no certificate"
# The next poll's time, or, when the tick falls while the agent is
# asking (a slow run: valgrind), the time it was due.
expect_in "$T/s.out" 'order [0-9a-f]{16}: pending, waiting 0m3[0-9]s; (next CA poll at [0-9:]{8}|the CA is being asked \(due [0-9:]{8}\))' \
	"the terminal was told the wait and the next poll after 30 s"
note "on a terminal: '$(grep -Eo 'pending, waiting 0m3[0-9]s; [^)]*' "$T/s.out" | head -n1)'"

# Waits between the POST and each poll, as the gateway saw them. Lower
# bound: the step's low jitter, rounded, less the tick's second; upper:
# the high jitter plus the tick and a slow machine's slack.
python3 - "$T/gw.json" <<'PY' || fail "the polls did not follow poll_schedule = 1, 2, 8"
import json, sys
e = list(json.load(open(sys.argv[1]))["enrollments"].values())[-1]
t = e["times"]
gaps = [round(b - a, 2) for a, b in zip(t, t[1:])]
steps = [1, 2, 8, 8, 8, 8]
print("  waits between polls: %s s for steps %s" % (gaps, steps))
assert len(gaps) == 6, "expected 6 polls, saw %d" % len(gaps)
for g, s in zip(gaps, steps):
    lo = max(1, round(s * 0.8)) - 1.1
    hi = s * 1.2 + 3.5
    assert lo <= g <= hi, "wait %.2f s for a step of %d s (%.1f..%.1f)" % (g, s, lo, hi)
PY
note "poll_schedule = 1, 2, 8: each wait near its step, the last repeated, no Retry-After"
