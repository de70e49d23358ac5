# test_hsm_slow.sh - a slow and then a hung token (tests/pkcs11_slow.c
# between the agent and SoftHSM, C_Sign delayed or held on demand). A
# slow token still signs; a hung one (in C_Sign, or in C_SignInit when
# the agent readies a signature) never stalls the loop: the local API
# and health answer while it hangs, health turns down naming the
# HSM after reply_timeout_ms, the order waits and reaches the CA only
# once, and when the token answers again the agent recovers by itself.
. "$(dirname "$0")/lib.sh"

SLOW=$BUILD/tests/pkcs11-slow.so
[ -f "$SLOW" ] || fail "$SLOW not built (make test builds it)"
export HSM_SLOW_MODULE=$HSM_MODULE HSM_SLOW_CONTROL=$T/slow.ctl
: >"$HSM_SLOW_CONTROL"
HSM_MODULE=$SLOW

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1 --pending-retry-after 0
cat >"$T/policy.conf" <<EOF
[rule s]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.s.example.com
max_validity_days = 30
key_types = ec:p256
EOF
entrust_config "$CLIENT_EC_CRT"
sed -i 's/^burst = 1000$/burst = 1000\nreply_timeout_ms = 3000/' "$T/a.conf"
echo "poll_schedule = 1" >>"$T/a.conf"
start_agent
wait_validated

hsm() { health_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hsm"])'; }
posts() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["posts"])' "$T/gw.json"; }
new_child() {	# no open connection: the next request needs a handshake
	kill "$(pgrep -P "$agent" | head -n1)"
	for _ in $(seq 1 100); do
		health_json 2>/dev/null | grep -q '"connector_child_ready":true' && return 0
		sleep 0.1
	done
	fail "no new child"
}

# A slow token (500 ms a signature) is a slow token, not a fault.
echo "delay 500" >"$HSM_SLOW_CONTROL"
new_child
ec_csr slow s.example.com
timeout 60 "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue \
	--csr "$T/slow.csr" --wait --out "$T/slow.crt" >"$T/slow.out" 2>&1 ||
	{ cat "$T/slow.out" >&2; fail "enrollment with a slow token"; }
[ "$(hsm)" = ok ] || fail "a slow token made the HSM unhealthy: $(hsm)"
note "token 500 ms a signature: issued, health ok"

# A hung token: CONTROL (what hangs), REASON (health's words for it),
# NAME (of the order).
hung_token() {
	local control=$1 reason=$2 name=$3 waiter before down why rc ok
	echo "$control" >"$HSM_SLOW_CONTROL"
	new_child
	before=$(posts)
	ec_csr "$name" s.example.com
	timeout 120 "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue \
		--csr "$T/$name.csr" --wait --out "$T/$name.crt" >"$T/$name.out" 2>&1 &
	waiter=$!
	PIDS+=("$waiter")
	# The loop is not the token's: the API answers while the token hangs,
	# and health turns down, naming the HSM, once reply_timeout_ms has passed.
	down=0
	for _ in $(seq 1 40); do
		timeout 5 "$CLI" --socket "$SOCK" --json health >"$T/h.json" 2>/dev/null || true
		[ -s "$T/h.json" ] || fail "$control: health did not answer within 5 s while the token hangs"
		if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["hsm"] != "ok" else 1)' "$T/h.json"; then
			down=1
			break
		fi
		sleep 0.25
	done
	[ "$down" -eq 1 ] || fail "$control: health does not show the hung HSM"
	why=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hsm"])' "$T/h.json")
	case $why in *"has not answered $reason"*) ;; *) fail "$control: health's reason does not say the token hangs in $reason: $why" ;; esac
	grep -q '"status":"down"' "$T/h.json" || fail "$control: health is not down"
	timeout 5 "$CLI" --socket "$SOCK" list >"$T/list.out" 2>&1 || fail "$control: list did not answer while the token hangs"
	grep '"event":"hsm.fault"' "$T/state/audit.log" | tail -n1 | grep -q "has not answered $reason" ||
		fail "$control: the hang is not audited"
	[ "$(posts)" = "$before" ] || fail "$control: the CA was asked while no signature could be made"
	kill -0 "$agent" || fail "$control: the agent died"
	note "token hung ($control): API and health answer, health down (\"$why\"), audited, nothing sent"

	# The token answers again: the held call completes, health recovers,
	# the waiting order is submitted once and issued.
	: >"$HSM_SLOW_CONTROL"
	rc=0
	wait "$waiter" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/$name.out" >&2; fail "$control: the waiting enrollment: exit $rc"; }
	[ -s "$T/$name.crt" ] || fail "$control: no certificate after the token came back"
	[ "$(posts)" = $((before + 1)) ] || fail "$control: the order reached the CA $(( $(posts) - before )) times"
	ok=0
	for _ in $(seq 1 50); do
		[ "$(hsm)" = ok ] && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" -eq 1 ] || fail "$control: health did not recover: $(hsm)"
	[ "$(grep '"event":"hsm.fault"' "$T/state/audit.log" | tail -n1 | grep -c '"outcome":"recovered"')" = 1 ] ||
		fail "$control: the recovery is not audited"
	note "token back ($control): issued with one submission, health ok, recovery audited"
}

# In C_Sign. The handshake's signature was readied at the connect
# (hsm_prepare): it is C_Sign that waits.
hung_token hang "a signature" hung
# In C_SignInit: the readying itself hangs, on the HSM worker, with the
# handshake's signature queued behind it.
hung_token hang-init C_SignInit hung-init
