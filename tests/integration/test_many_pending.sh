# test_many_pending.sh - many orders pending at once, polled every
# second: the child holds a connection for every job the parent runs at
# once (IPC_MAX_JOBS) and the idle ones curl keeps, and never runs out of
# descriptors. It did: at its RLIMIT_NOFILE of 64 the kernel dropped the
# connection the parent passed, the child took the truncated message for
# a protocol violation and restarted, again and again. And the child
# keeps as many idle connections as jobs run at once: at 32 it closed
# half of each busy tick's connections, so past 32 pending orders nearly
# every poll cost a new TLS handshake, so an HSM signature. Here 120 orders
# wait at the fake gateway (a poll schedule of 1 s); until each has been
# submitted and polled at least once (however slow the machine: ASan,
# valgrind), nothing may end the child, no order may be left behind while
# older ones are polled again and again (they were: due orders went oldest
# first), and none may fail; then, with each order polled three times,
# the handshakes (sign.granted) stay within the 64 jobs run at once.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
N=120
start_cagw ca1 --pending-retry-after 0

cat >"$T/policy.conf" <<EOF2
[rule p]
callers = user:root
connectors = entrust
profiles = pending-1000000
san_dns = *.p.example.com
max_validity_days = 30
key_types = ec:p256
EOF2
# One uid submits all of them: lift its request budget.
entrust_config "$CLIENT_EC_CRT" "uid_rate = 10000" "uid_burst = 100000"
echo "poll_schedule = 1" >>"$T/a.conf"
# The gateway (Python, a thread per connection) answers late when the
# machine is loaded (ASan, tests side by side): a POST unanswered in 10 s
# rightly fails its order ("outcome unknown"), which is not what this
# test is about. 60 s to answer, as a slow CA may take.
sed -i 's/^timeout = 10$/timeout = 60/' "$T/a.conf"
grep -qx 'timeout = 60' "$T/a.conf" || fail "could not set the request timeout"
start_agent
wait_validated
ec_csr m p.example.com

# Each exits 10: pending.
submit() { "$CLI" --socket "$SOCK" enroll --connector entrust \
	--profile pending-1000000 --csr "$T/m.csr"; [ $? -eq 10 ]; }
export -f submit
export CLI SOCK T
# Where it stands, for a failure: the counts, the child, the logs' ends.
stand() {
	echo "at $SECONDS s: $*" >&2
	ps -o pid,stat,etimes,time,args --ppid "$agent" >&2 2>/dev/null || true
	tail -5 "$T/agent.err" >&2
	tail -3 "$T/gw.err" >&2
}
seq 1 "$N" | xargs -P 8 -I{} bash -c submit >"$T/enroll.out" 2>&1 ||
	{ grep -v '^order' "$T/enroll.out" | tail -5 >&2; fail "submitting $N orders"; }
note "$N orders submitted at $SECONDS s"
child=$(pgrep -P "$agent" -x hsmagent-connec | head -1)
[ -n "$child" ] || fail "no connector child"
# Submitted and polled: each order's POST, and a GET of each order.
seen() {
	python3 -c '
import json, re, sys
try:
    r = json.load(open(sys.argv[1]))["requests"]
except (OSError, ValueError, KeyError):
    r = []      # being written: the next look sees it
posts = sum(1 for x in r if x["method"] == "POST")
polled = {m.group(1) for x in r if x["method"] == "GET"
          for m in [re.search(r"/enrollments/([^/?]+)$", x["path"])] if m}
print(posts, len(polled), sum(1 for x in r if x["method"] == "GET"))' "$T/gw.json"
}
# Until 240 s into the test, inside the runner's 300: a test that runs
# out of time says where it stood rather than being killed silently.
most=0 posts=0 polled=0 polls=0 looked=0
while [ "$SECONDS" -lt 240 ]; do
	n=$(ls "/proc/$child/fd" 2>/dev/null | wc -l)
	[ "$n" -gt "$most" ] && most=$n
	read -r posts polled polls < <(seen)
	[ "$posts" -ge "$N" ] && [ "$polled" -ge "$N" ] &&
		[ "$polls" -ge $(( 3 * N )) ] && break
	# An order that left "pending" is never polled again: say so now,
	# not at the deadline (every 2 s: the list is 120 lines).
	looked=$((looked + 1))
	if [ $((looked % 4)) -eq 0 ] && [ "$posts" -ge "$N" ]; then
		rc=0; "$CLI" --socket "$SOCK" list >"$T/now.out" 2>&1 || rc=$?
		[ "$rc" -eq 0 ] || { cat "$T/now.out" >&2; fail "list: exit $rc"; }
		if grep -E '^order [0-9a-f]+: (failed|rejected)' "$T/now.out" >&2; then
			stand "$posts of $N orders submitted, $polled polled"
			fail "an order ended under $N pending orders"
		fi
	fi
	sleep 0.5
done
[ "$posts" -ge "$N" ] && [ "$polled" -ge "$N" ] ||
	{ stand "$posts of $N orders submitted, $polled polled"; fail "not all submitted and polled"; }
[ "$polls" -ge $(( 3 * N )) ] || { stand "only $polls polls"; fail "too few polls"; }
# One handshake per connection, and never more connections than jobs run
# at once (64): the idle ones are kept, not closed and opened again.
grants=$(grep -c '"event":"sign.granted"' "$T/state/audit.log" || true)
[ "$grants" -le 68 ] ||
	fail "$grants TLS handshakes for $((posts + polls)) requests: connections are not reused"
! grep -q 'protocol violation\|malformed datagram\|supervisor: connector child .* exited' "$T/agent.err" ||
	{ grep 'child' "$T/agent.err" | tail -5 >&2; fail "the child ended under $N pending orders"; }
[ "$(pgrep -P "$agent" -x hsmagent-connec | head -1)" = "$child" ] || fail "the child was restarted"
"$CLI" --socket "$SOCK" --json list >"$T/list.json" || true
python3 - "$T/list.json" "$N" <<'PY' || fail "orders not all pending"
import json, sys
orders = json.load(open(sys.argv[1]))["orders"]
states = [o["state"] for o in orders]
assert len(states) == int(sys.argv[2]), "%d orders listed" % len(states)
assert all(s == "pending" for s in states), sorted(set(states))
PY
note "$N orders pending, polled every second: all submitted and polled ($polls polls) over $grants TLS handshakes, one child throughout, at most $most descriptors open in it"
echo "test_many_pending: ok"
