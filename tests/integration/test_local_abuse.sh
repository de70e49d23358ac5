# test_local_abuse.sh - the local API under abuse from another uid: 1,000
# connections held open, slowloris writers, oversized requests and rapid
# connect/close, all at once, while a well-behaved client (root) asks for
# health. Its requests all complete; their latency, measured without and
# with the abuse in the same run, is reported (not asserted: machines
# are noisy).
. "$(dirname "$0")/lib.sh"

SOCK=$T/agent.sock
chmod 0755 "$T"
port=$(free_port)
start_sserver "$port" "$T/server.log"
cat >"$T/policy.conf" <<EOF2
[rule r]
callers = user:root
connectors = none
profiles = p
san_dns = *.example.com
max_validity_days = 1
key_types = ec:p256
EOF2
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
cat >>"$T/a.conf" <<EOF2
[api]
socket = $SOCK
mode = 0666
max_connections = 1024
idle_timeout = 30
policy = $T/policy.conf
[state]
dir = $T/state
EOF2
start_agent

# The abuser: another uid, for DURATION seconds.
cat >"$T/abuse.py" <<'PY'
import os, resource, socket, sys, threading, time
path, duration = sys.argv[1], float(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
end = time.time() + duration
counts = {"held": 0, "slow": 0, "big": 0, "flap": 0}
def conn():
    s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(path); return s
def hold():
    held = []
    for _ in range(1000):
        try:
            held.append(conn()); counts["held"] += 1
        except OSError:
            time.sleep(0.01)
    while time.time() < end:
        time.sleep(0.1)
def slowloris():
    socks = []
    for _ in range(20):
        try: socks.append(conn())
        except OSError: pass
    while time.time() < end:
        for s in socks:
            try: s.send(b"{"); counts["slow"] += 1
            except OSError: pass
        time.sleep(0.1)
def big():
    line = b'{"op":"health","x":"' + b"a" * (200 << 10) + b'"}\n'
    while time.time() < end:
        try:
            s = conn(); s.sendall(line); s.recv(4096); s.close(); counts["big"] += 1
        except OSError:
            pass
def flap():
    while time.time() < end:
        try: conn().close(); counts["flap"] += 1
        except OSError: pass
ts = [threading.Thread(target=f) for f in (hold, slowloris, big, flap, flap)]
for t in ts: t.start()
for t in ts: t.join()
print("held %(held)d connections, %(slow)d slowloris bytes, %(big)d oversized requests, %(flap)d connect/close" % counts)
PY

# The well-behaved client: N health requests, latency in ms.
cat >"$T/good.py" <<'PY'
import json, socket, statistics, sys, time
path, n = sys.argv[1], int(sys.argv[2])
lat = []
for _ in range(n):
    t0 = time.monotonic()
    # Blocking connect, as the hsmagent client does: it waits in the
    # backlog rather than failing with EAGAIN.
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(10)
    s.sendall(b'{"op":"health"}\n')
    r = s.makefile().readline(); s.close()
    assert json.loads(r)["ok"] is True, r
    lat.append((time.monotonic() - t0) * 1000)
    time.sleep(0.02)
print("%.2f %.2f %d" % (statistics.median(lat), max(lat), n))
PY

read -r base_med base_max _ < <(python3 "$T/good.py" "$SOCK" 100)
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$T/abuse.py" "$SOCK" 8 \
	>"$T/abuse.out" 2>&1 &
abuser=$!
PIDS+=("$abuser")
sleep 2
read -r med max n < <(python3 "$T/good.py" "$SOCK" 100) || fail "the good client failed under abuse"
wait "$abuser" || { cat "$T/abuse.out" >&2; fail "the abuse script failed"; }
kill -0 "$agent" || fail "the agent died"
health_json >/dev/null || fail "health after the abuse"
note "abuse from uid nobody: $(cat "$T/abuse.out")"
note "well-behaved client, $n health requests each: median ${base_med} ms (max ${base_max}) alone, ${med} ms (max ${max}) under abuse"

# An audit flood from another uid: bad lines as fast as it can, for 5 s,
# reconnecting whenever the agent closes a connection (after 3 bad
# lines), with enrollment requests the policy refuses in between. Each
# would be an fsync'ed record; the uid's budget (10 a second, 60 at once)
# lets a bounded number through and the rest become one summary record.
cat >"$T/flood.py" <<'PY'
import socket, sys, time
path, duration = sys.argv[1], float(sys.argv[2])
end, sent, busy = time.time() + duration, 0, 0
while time.time() < end:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path)
        s.sendall(b'not json\n{"op":"enroll","connector":"x","profile":"p","csr":"y"}\nnot json\nnot json\n')
        r = s.makefile().read(); s.close()
        sent += 4; busy += r.count('"busy"')
    except OSError:
        pass
print("%d lines sent, %d answered busy" % (sent, busy))
PY
by_nobody() { python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if (json.loads(l).get("actor") or {}).get("uid") == 65534))' "$T/state/audit.log"; }
before=$(by_nobody)
t0=$(date +%s)
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$T/flood.py" "$SOCK" 5 \
	>"$T/flood.out" 2>&1 &
flooder=$!
PIDS+=("$flooder")
sleep 1
read -r med max n < <(python3 "$T/good.py" "$SOCK" 50) || fail "the good client failed under the flood"
wait "$flooder" || { cat "$T/flood.out" >&2; fail "the flood script failed"; }
sleep 11	# the summary record comes within API_BUDGET_REPORT_MS
after=$(by_nobody)
records=$((after - before))
secs=$(( $(date +%s) - t0 ))
# 60 at once plus 10 a second, plus the summary records.
[ "$records" -le $((60 + 10 * secs + 5)) ] ||
	fail "uid nobody wrote $records audit records in $secs s ($(cat "$T/flood.out"))"
grep '"event":"api.throttled"' "$T/state/audit.log" | grep -q '"uid":65534[,}]' ||
	fail "no summary record for the throttled uid"
"$BUILD/hsmagent" audit verify "$T/state/audit.log" >/dev/null || fail "audit log broken"
note "audit flood from uid nobody: $(cat "$T/flood.out"); $records records in $secs s (at most $((60 + 10 * secs + 5))), one api.throttled summary; good client: median ${med} ms (max ${max})"
