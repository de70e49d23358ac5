# test_long_wait.sh - hsmagent enroll --wait through a
# CA that answers after every timeout in the configuration has passed:
# [api] idle_timeout = 1 s, [tls] timeout = 2 s, reply_timeout_ms at its
# floor, while the fake gateway keeps the order pending for about 8 s
# (Retry-After: 1 between polls). The certificate must reach --out every
# time: a connection that is owed an answer is never idle, and the final
# answer queued after a long wait must be delivered, not dropped as idle.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1

cat >"$T/policy.conf" <<EOF
[rule w]
callers = user:root
connectors = entrust
profiles = pending-8, pending-3, issue
san_dns = *.w.example.com
max_validity_days = 30
key_types = ec:p256
EOF
entrust_config "$CLIENT_EC_CRT" "idle_timeout = 1"
sed -i 's/^timeout = 10$/timeout = 2/' "$T/a.conf"
start_agent
wait_validated

same_key() {	# NAME: the certificate at $T/NAME.crt carries NAME's key
	[ -s "$T/$1.crt" ] || return 1
	[ "$(openssl x509 -in "$T/$1.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
	  "$(openssl pkey -in "$T/$1.key" -pubout -outform DER | sha256sum)" ]
}

# Two clients wait at once on orders pending ~8 s, a third on one pending
# ~3 s: the final answers come at different times, each after idle_timeout.
start=$SECONDS
for n in a b c; do
	prof=pending-8
	[ "$n" = c ] && prof=pending-3
	ec_csr "$n" w.example.com
	timeout 120 "$CLI" --socket "$SOCK" enroll --connector entrust \
		--profile "$prof" --csr "$T/$n.csr" --wait --out "$T/$n.crt" \
		>"$T/$n.out" 2>"$T/$n.err" &
	eval "pid_$n=$!"
done
for n in a b c; do
	rc=0
	eval "wait \$pid_$n" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/$n.err" >&2; fail "enroll --wait $n: exit $rc"; }
	same_key "$n" || fail "enroll --wait $n: no certificate with its key in --out"
done
took=$((SECONDS - start))
[ "$took" -ge 3 ] || fail "the orders were not pending past idle_timeout (took $took s)"
note "enroll --wait: 3 certificates delivered after ${took} s, idle_timeout 1 s, tls timeout 2 s"

# An idle connection is still closed: idle_timeout itself holds.
python3 - "$SOCK" <<'PY' || fail "an idle connection was not closed after idle_timeout"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
t = time.monotonic()
assert s.recv(1) == b""
assert time.monotonic() - t < 4
PY
note "an idle connection with nothing owed is still closed after 1 s"
