# test_ops_reload.sh - operating the agent: hsmagentd -t on the policy
# too; SIGHUP reloads policy and connector settings all or nothing (a
# broken file, a broken policy, a change that needs a restart: refused,
# audited, the old settings serve on; a new connector: reaches the
# restarted child and serves); health with reasons and monitoring exit
# codes (ok, degraded when the CA cannot be reached, down when the
# orders database is gone); metrics as valid Prometheus text with every
# family the operator guide names. Test child + tests/fakeca/fake_ca.py.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
TEST_CHILD=$BUILD/tests/hsmagent-connector-test
[ -x "$TEST_CHILD" ] || fail "no $TEST_CHILD (make test builds it)"
cli() { "$CLI" --socket "$SOCK" "$@"; }

port=$(free_port)

policy() {	# CONNECTORS
	printf '%s\n' "[admins]" "users = root" "[rule lab]" "callers = user:root" \
		"connectors = $1" "profiles = server" "san_dns = *.lab.example.com" \
		"max_validity_days = 30" "key_types = ec:p256" >"$T/policy.conf"
}
policy lab
CONNECTOR_OVERRIDE=$TEST_CHILD write_config "$T/a.conf" "$EC_KEY_URI" \
	"$CLIENT_EC_CRT" "$port"
printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" "[state]" \
	"dir = $T/state" "[connector lab]" "type = testca" \
	"url = https://localhost:$port/" "deadline = 120" >>"$T/a.conf"
cp "$T/a.conf" "$T/a.conf.orig"

# -t checks the policy as well as the configuration.
"$HSMAGENTD" -t -c "$T/a.conf" >"$T/t.out" 2>&1 || { cat "$T/t.out" >&2; fail "-t on a good configuration"; }
cp "$T/policy.conf" "$T/policy.good"
echo "colour = blue" >>"$T/policy.conf"
rc=0; "$HSMAGENTD" -t -c "$T/a.conf" >"$T/t.out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] || fail "-t with a bad policy: exit $rc, expected 78"
expect_in "$T/t.out" "policy.conf:[0-9]+: .*colour" "-t names the policy's line"
cp "$T/policy.good" "$T/policy.conf"
note "-t: configuration and policy checked, a bad policy line named"

start_fakeca
start_agent
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1.lab.example.com" \
		-addext "subjectAltName=DNS:$1.lab.example.com" 2>/dev/null
}
enroll() {	# NAME CONNECTOR: waits, prints the exit code
	local rc=0
	cli enroll --connector "$2" --profile server --csr "$T/$1.csr" --wait \
		>"$T/$1.out" 2>&1 || rc=$?
	echo "$rc"
}
csr one
[ "$(enroll one lab)" -eq 0 ] || { cat "$T/one.out" >&2; fail "enroll before any reload"; }

hup_expect() {	# PATTERN: SIGHUP, then PATTERN in the log
	local n
	n=$(grep -c 'event=config.reload' "$T/agent.err" || true)
	kill -HUP "$agent"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'event=config.reload' "$T/agent.err" || true)" -gt "$n" ] && break
		sleep 0.05
	done
	sleep 0.1
	grep 'event=config.reload' "$T/agent.err" | tail -n 2 | grep -Eq -- "$1" ||
		{ tail -n 20 "$T/agent.err" >&2; fail "after SIGHUP: no /$1/"; }
}

# 1. A file that does not parse: refused, the old settings serve on.
echo "colour = blue" >>"$T/a.conf"
hup_expect 'event=config.reload outcome=failed: .*a.conf:[0-9]+: .*colour'
cp "$T/a.conf.orig" "$T/a.conf"
# 2. A setting bound at start: refused with its name.
sed -i "s|^certificate = .*|certificate = $CLIENT_RSA_CRT|" "$T/a.conf"
hup_expect 'event=config.reload outcome=failed: \[hsm\] changed: that needs a restart'
cp "$T/a.conf.orig" "$T/a.conf"
# 3. A broken policy: refused, the old policy decides.
echo "[rule broken" >>"$T/policy.conf"
hup_expect 'event=config.reload outcome=failed: .*policy.conf:[0-9]+'
expect_in "$T/agent.err" 'policy reload failed, keeping the old policy' "policy refusal logged"
cp "$T/policy.good" "$T/policy.conf"
csr two
[ "$(enroll two lab)" -eq 0 ] || { cat "$T/two.out" >&2; fail "the old settings no longer serve after refused reloads"; }
fails=$(grep '"event":"config.reload"' "$T/state/audit.log" | grep -c '"outcome":"failed"')
[ "$fails" -eq 3 ] || fail "$fails refused reloads audited, expected 3"
note "SIGHUP refused (bad file, [hsm] changed, bad policy): audited 3 times, old settings serve"

# 4. A new connector and a policy for it: both in at once.
csr three
rc=$(enroll three lab2)
[ "$rc" -ne 0 ] || fail "lab2 works before it exists"
printf '%s\n' "[connector lab2]" "type = testca" "url = https://127.0.0.1:$port/" \
	"deadline = 60" >>"$T/a.conf"
policy "lab, lab2"
hup_expect 'event=config.reload outcome=ok'
grep '"event":"config.reload"' "$T/state/audit.log" | tail -n1 | grep -q '"connectors_changed":true' ||
	fail "the reload's audit record does not say the connectors changed"
for _ in $(seq 1 100); do
	cli metrics 2>/dev/null | grep -q '^hsmagent_child_exits_total{cause="reload"} 1$' && break
	sleep 0.1
done
cli metrics | grep -q '^hsmagent_child_exits_total{cause="reload"} 1$' || fail "the child was not restarted for the reload"
[ "$(enroll three lab2)" -eq 0 ] || { cat "$T/three.out" >&2; tail -20 "$T/agent.err" >&2; fail "enroll through the reloaded connector"; }
note "SIGHUP with a new connector and policy: audited, child restarted (cause reload), the new connector serves"

# Health: ok, checks named; metrics: valid text, every family.
health_until 0 "$T/health.txt"
[ "$rc" -eq 0 ] || { cat "$T/health.txt" >&2; fail "health exit $rc, expected 0"; }
head -n1 "$T/health.txt" | grep -Eqx 'HSMAGENT OK - all [0-9]+ checks ok \| checks_ok=[0-9]+ checks_failing=0' ||
	{ cat "$T/health.txt" >&2; fail "health's first line is not the Nagios OK line"; }
sed -n 2p "$T/health.txt" | grep -qx ok || fail "health's second line is not ok"
for c in hsm child "ca lab" "ca lab2" client_certificate audit database tracked; do
	grep -q "^  $c: ok$" "$T/health.txt" || { cat "$T/health.txt" >&2; fail "health has no check '$c'"; }
done
cli metrics >"$T/metrics.txt"
python3 "$ROOT/tests/tools/prom_check.py" "$T/metrics.txt" hsmagent_orders \
	hsmagent_ca_request_duration_seconds hsmagent_signatures_total \
	hsmagent_child_exits_total hsmagent_child_restarts_total \
	hsmagent_sandbox_kills_total hsmagent_client_certificate_not_after_seconds \
	hsmagent_health hsmagent_config_reloads_total hsmagent_ca_last_success_timestamp_seconds \
	hsmagent_build_info \
	hsmagent_api_requests_total || fail "metrics: not valid or incomplete"
grep -q '^hsmagent_orders{state="issued"} 3$' "$T/metrics.txt" || fail "metrics: 3 issued orders"
grep -q '^hsmagent_config_reloads_total{outcome="failed"} 3$' "$T/metrics.txt" || fail "metrics: 3 failed reloads"
calls=$(awk '/^hsmagent_ca_request_duration_seconds_count\{connector="lab2?"\} / { n += $2 } END { print n + 0 }' "$T/metrics.txt")
[ "$calls" -ge 3 ] || { grep duration_seconds_count "$T/metrics.txt" >&2; fail "metrics: CA latency not counted under its connectors ($calls)"; }
grep -q '^hsmagent_build_info{version="[0-9.]*"} 1$' "$T/metrics.txt" || fail "metrics: no build_info"
# A time of a last event is absent until it happens (no failure yet).
! grep -q '^hsmagent_ca_last_failure_timestamp_seconds{' "$T/metrics.txt" || fail "metrics: a failure time before any failure"
grep -Eq '^hsmagent_signatures_total\{verdict="granted"\} [1-9]' "$T/metrics.txt" || fail "metrics: no granted signature"
note "health ok (exit 0) with every check; metrics valid Prometheus text, $(grep -vc '^#' "$T/metrics.txt") samples"

# Degraded: the CA cannot be reached (exit 1, the reason named).
stop_fakeca
csr four
cli enroll --connector lab --profile server --csr "$T/four.csr" >/dev/null 2>&1 || true
health_until 1 "$T/health.txt"
[ "$rc" -eq 1 ] || { cat "$T/health.txt" >&2; fail "health exit $rc with the CA gone, expected 1"; }
expect_in "$T/health.txt" '^degraded$' "health degraded"
expect_in "$T/health.txt" '^HSMAGENT WARNING - .*ca lab: last call failed.* \| checks_ok=[0-9]+ checks_failing=[1-9]' "the Nagios WARNING line names the CA"
expect_in "$T/health.txt" '^  ca lab: last call failed' "health names the CA"
note "CA gone: health degraded (exit 1): $(grep 'ca lab:' "$T/health.txt" | sed 's/^ *//')"

# Down: the orders database moved away (exit 2); back: no longer down.
mv "$T/state/orders.db" "$T/orders.db.away"
rc=0; cli health >"$T/health.txt" || rc=$?
mv "$T/orders.db.away" "$T/state/orders.db"
[ "$rc" -eq 2 ] || { cat "$T/health.txt" >&2; fail "health exit $rc with the database gone, expected 2"; }
expect_in "$T/health.txt" '^down$' "health down"
expect_in "$T/health.txt" '^HSMAGENT CRITICAL - .*database: ' "the Nagios CRITICAL line names the database"
expect_in "$T/health.txt" '^  database: the orders database was moved' "health names the database"
rc=0; cli health >/dev/null || rc=$?
[ "$rc" -le 1 ] || fail "health still down with the database back"
rc=0; "$CLI" --socket "$T/nothing.sock" health >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "health without an agent: exit $rc, expected 3"
note "database gone: health down (exit 2); no agent: exit 3"

# The per-uid budget is reloadable: at 1 a second and 3 at once, quick
# list requests get 3 answers, one more for each second that passes, and
# the rest "busy", with no record each. The bound is taken from the time
# the requests really took, so a loaded machine (ASan, tests side by
# side) neither fails it nor makes it vacuous: requests go on until one
# is refused, 20 at most.
sed -i "s|^socket = $SOCK\$|&\\nuid_rate = 1\\nuid_burst = 3|" "$T/a.conf"
grep -qx 'uid_burst = 3' "$T/a.conf" || fail "could not set the budget in the test's configuration"
hup_expect 'event=config.reload outcome=ok'
ok=0 busy=0 sent=0
t0=$(date +%s%N)
while [ "$sent" -lt 20 ] && { [ "$busy" -eq 0 ] || [ "$sent" -lt 10 ]; }; do
	sent=$((sent + 1))
	rc=0; cli list >"$T/status.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then ok=$((ok + 1))
	elif grep -q 'busy' "$T/status.out"; then busy=$((busy + 1)); cp "$T/status.out" "$T/busy.out"
	else cat "$T/status.out" >&2; fail "list under the budget: exit $rc"; fi
done
# Whole seconds begun since the first request: each refills one.
secs=$(( ($(date +%s%N) - t0 + 999999999) / 1000000000 ))
{ [ "$ok" -ge 3 ] && [ "$ok" -le $((3 + secs)) ] && [ "$busy" -ge 1 ] &&
	[ "$busy" -eq $((sent - ok)) ]; } ||
	fail "budget of 3 at once, 1 a second: $ok of $sent answered in $secs s, $busy busy"
grep -q 'uid 0 asks more than 1 times a second' "$T/busy.out" ||
	{ cat "$T/busy.out" >&2; fail "the busy answer does not name the configured rate"; }
note "reloaded budget uid_rate = 1, uid_burst = 3: $ok of $sent quick requests answered in $secs s, $busy busy"

"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit chain"
echo "test_ops_reload: ok"
