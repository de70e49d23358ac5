# test_hsm_slow.sh - a slow and then a hung token (tests/pkcs11_slow.c
# between the agent and SoftHSM, C_Sign delayed or held on demand). A
# slow token still signs; a hung one (in C_Sign, in C_SignInit when the
# agent readies a signature, or in a checkpoint's signature of the audit
# log) never stalls the loop: the local API
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

# hung_loop_answers WHAT REASON: the loop is not the token's. While the
# token hangs, health answers within 5 s each time and turns down once
# reply_timeout_ms has passed, saying the token "has not answered
# REASON" (left in $why); list answers; the fault is audited.
hung_loop_answers() {
	local what=$1 reason=$2 down=0
	for _ in $(seq 1 40); do
		timeout 5 "$CLI" --socket "$SOCK" --json health >"$T/h.json" 2>/dev/null || true
		[ -s "$T/h.json" ] || fail "$what: health did not answer within 5 s while the token hangs"
		if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["hsm"] != "ok" else 1)' "$T/h.json"; then
			down=1
			break
		fi
		sleep 0.25
	done
	[ "$down" -eq 1 ] || fail "$what: health does not show the hung HSM"
	why=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hsm"])' "$T/h.json")
	case $why in *"has not answered $reason"*) ;; *) fail "$what: health's reason does not say the token hangs in $reason: $why" ;; esac
	grep -q '"status":"down"' "$T/h.json" || fail "$what: health is not down"
	timeout 5 "$CLI" --socket "$SOCK" list >"$T/list.out" 2>&1 || fail "$what: list did not answer while the token hangs"
	grep '"event":"hsm.fault"' "$T/state/audit.log" | tail -n1 | grep -q "has not answered $reason" ||
		fail "$what: the hang is not audited"
}

# health_recovers WHAT: health says the HSM is ok again within 5 s.
health_recovers() {
	local ok=0
	for _ in $(seq 1 50); do
		[ "$(hsm)" = ok ] && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" -eq 1 ] || fail "$1: health did not recover: $(hsm)"
}

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
	hung_loop_answers "$control" "$reason"
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
	health_recovers "$control"
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

# The audit log's checkpoints are signed by the token too (a key of their
# own): a token that hangs in a checkpoint's signature, with no TLS
# signature under way to show it, must not stall the loop either. An
# agent that signs a checkpoint every 3 records; the token hangs; records
# come; the API and health answer, health turns down naming the
# checkpoint's signature; when the token answers, a checkpoint is
# made, verifies under the checkpoint key and covers the
# records. Then a stop while the token hangs: the agent exits anyway.
ckpt_log_count() { grep -c '"event":"audit.checkpoint"' "$T/state/audit.log" || true; }
kill "$agent"; wait "$agent" 2>/dev/null || true
: >"$HSM_SLOW_CONTROL"
sed -i "s|^dir = $T/state\$|&\ncheckpoint_key_uri = $CKPT_KEY_URI\ncheckpoint_records = 3\ncheckpoint_origin = hsmagent.test/slow|" "$T/a.conf"
grep -q '^checkpoint_records = 3$' "$T/a.conf" || fail "no checkpoint configuration"
start_agent
wait_validated
for _ in $(seq 1 50); do [ "$(ckpt_log_count)" -ge 1 ] && break; sleep 0.1; done
[ "$(ckpt_log_count)" -ge 1 ] || fail "no checkpoint at start"
before=$(ckpt_log_count)
prev_size=$(sed -n 2p "$T/state/audit.log.checkpoint")
echo hang >"$HSM_SLOW_CONTROL"
# Refused requests: two records each, none signed by the TLS key.
for _ in 1 2 3; do
	timeout 5 "$CLI" --socket "$SOCK" enroll --connector none --profile x \
		--csr "$T/slow.csr" >/dev/null 2>&1 || true
done
hung_loop_answers checkpoint "a checkpoint signature"
[ "$(ckpt_log_count)" = "$before" ] || fail "checkpoint: a checkpoint was recorded while the token hangs"
note "token hung in a checkpoint's signature: API and health answer, health down (\"$why\")"

# Back: a checkpoint is made, verifies, and covers the records.
: >"$HSM_SLOW_CONTROL"
for _ in $(seq 1 100); do [ "$(ckpt_log_count)" -gt "$before" ] && break; sleep 0.1; done
[ "$(ckpt_log_count)" -gt "$before" ] || fail "checkpoint: none made after the token came back"
python3 "$ROOT/tests/tools/tlog_verify.py" note "$T/state/audit.log.checkpoint" \
	"$CKPT_PUB_PEM" hsmagent.test/slow >/dev/null ||
	fail "checkpoint: the one made after the hang does not verify"
size=$(sed -n 2p "$T/state/audit.log.checkpoint")
# Past the last checkpoint's record: the 3 records that made it due.
[ "$size" -ge $(( prev_size + 4 )) ] ||
	fail "checkpoint: size $size does not cover the records after $prev_size"
[ "$(python3 "$ROOT/tests/tools/tlog_verify.py" root "$T/state/audit.log" "$size")" = \
	"$(sed -n 3p "$T/state/audit.log.checkpoint")" ] ||
	fail "checkpoint: its root is not that of the log's first $size records"
health_recovers checkpoint
note "token back: a checkpoint made (size $size) covering the records, verified, health ok"

# A slow token (1.5 s a signature, longer than the loop waits for one):
# the signature that comes back late still makes its checkpoint when no
# record came meanwhile, and health stays ok.
echo "delay 1500" >"$HSM_SLOW_CONTROL"
before=$(ckpt_log_count)
for _ in 1 2; do
	timeout 5 "$CLI" --socket "$SOCK" enroll --connector none --profile x \
		--csr "$T/slow.csr" >/dev/null 2>&1 || true
done
for _ in $(seq 1 200); do [ "$(ckpt_log_count)" -gt "$before" ] && break; sleep 0.1; done
[ "$(ckpt_log_count)" -gt "$before" ] || fail "slow token: no checkpoint within 20 s"
grep -Eq "checkpoint at [0-9]+ signed in (1[0-9]{3}|[2-9][0-9]{3}) ms" "$T/agent.err" ||
	{ tail -5 "$T/agent.err" >&2; fail "slow token: the checkpoint was not made from the late signature"; }
[ "$(hsm)" = ok ] || fail "slow token: a 1.5 s signature made the HSM unhealthy: $(hsm)"
: >"$HSM_SLOW_CONTROL"
note "token 1.5 s a signature: the late signature made its checkpoint, health ok"

# A stop while the token hangs: the stop checkpoint is given up, the agent exits.
echo hang >"$HSM_SLOW_CONTROL"
"$CLI" --socket "$SOCK" enroll --connector none --profile x --csr "$T/slow.csr" >/dev/null 2>&1 || true
kill -TERM "$agent"
gone=0
for _ in $(seq 1 150); do kill -0 "$agent" 2>/dev/null || { gone=1; break; }; sleep 0.1; done
[ "$gone" -eq 1 ] || fail "checkpoint: the agent did not stop within 15 s while the token hangs"
wait "$agent" 2>/dev/null || true
grep -q "checkpoint at [0-9]* (stop) not signed" "$T/agent.err" ||
	{ tail -5 "$T/agent.err" >&2; fail "checkpoint: the unsigned stop checkpoint is not logged"; }
: >"$HSM_SLOW_CONTROL"
# Every checkpoint in the log, the hang's included, is of the records
# before its own record, by both verifiers.
"$CLI" audit verify "$T/state/audit.log" --key "$CKPT_PUB_PEM" >"$T/v.out" 2>&1 ||
	{ cat "$T/v.out" >&2; fail "checkpoint: audit verify --key"; }
python3 "$ROOT/tests/tools/tlog_verify.py" log "$T/state/audit.log" "$CKPT_PUB_PEM" >/dev/null ||
	fail "checkpoint: the independent verifier refuses the log's checkpoints"
note "stop while the token hangs: exited, the stop checkpoint logged as not signed; the log's checkpoints verify"
