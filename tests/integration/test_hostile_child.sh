# test_hostile_child.sh - the promise of SECURITY.md against a hijacked
# connector child: tests/hostile_child.c speaks the real IPC to the real
# parent, with the account key and the TLS key in SoftHSM, and asks for
# what an attacker wants next to what its job needs.
#   1. ACME: key change, deactivation, account update, orders for other
#      names, finalize with another CSR, revocation of another
#      certificate, EABs and JWS for another key, anything during the
#      start-up validation job, the TLS path as a JWS oracle: refused
#      and audited with what was asked; the controls granted, recorded
#      with operation, url and hash, and verified under the account key.
#      http-01: the child holds no listener; a token it names is answered
#      by the parent only during an enrollment job and only with the
#      account's own thumbprint. A log flood is cut to the rate and
#      shows in metrics and health. Once a URL is used, the same request
#      aimed elsewhere under the server's prefix is refused (the pins:
#      directory endpoints, the account, the order's finalize, one
#      challenge per name, a cap on a job's URLs).
#   2. The signing window: legitimate requests without end are granted
#      only inside the job's window; then the parent ends the child.
#   3. A full disk: no signature leaves without its audit record.
#   4. Checkpoints due while the worker records grants: each is still of
#      exactly the records before its own.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw 'ca~1'
umask 077
openssl rand 48 | basenc --base64url -w0 | tr -d '=' >"$T/eab.hmac"
secret_file "$T/eab.hmac"
umask 022

# hostile_config FILE MODE: the hostile child as connector_path (a
# wrapper: the parent passes no arguments), an ACME and an Entrust
# connector, the TLS key gw-ec and the account key acme-ec.
hostile_config() {
	local f=$1 mode=$2 h01
	h01=$(free_port)
	printf '#!/bin/sh\nexec %s %s %s %s\n' "$BUILD/tests/hostile-child" "$mode" \
		"$FX" "$h01" >"$T/hostile-$mode.sh"
	chmod 0755 "$T/hostile-$mode.sh"
	CONNECTOR_OVERRIDE=$T/hostile-$mode.sh write_config "$f" "$EC_KEY_URI" \
		"$CLIENT_EC_CRT" "$port"
	printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" \
		"[state]" "dir = $T/state-$mode" \
		"[connector acme]" "type = acme" "url = https://localhost:14000/dir" \
		"account_key_uri = $ACME_EC_KEY_URI" "eab_kid = kid-1" \
		"eab_hmac_file = $T/eab.hmac" "contact = mailto:pki@example.org" \
		"http01_listen = 127.0.0.1:$h01" \
		"[connector other]" "type = entrust" \
		"url = https://localhost:$port/cagw" "ca_id = ca~1" >>"$f"
}
printf '%s\n' "[rule r]" "callers = user:root" "connectors = acme, other" \
	"profiles = default" "san_dns = *.example.test" "max_validity_days = 30" \
	"key_types = ec:p256" >"$T/policy.conf"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/h.key" -out "$T/h.csr" -subj "/CN=a.example.test" \
	-addext "subjectAltName=DNS:a.example.test,DNS:b.example.test" 2>/dev/null

wait_for() {	# FILE PATTERN SECONDS
	for _ in $(seq 1 $(($3 * 10))); do
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.1
	done
	tail -n 30 "$1" >&2
	fail "no /$2/ in $1 after $3 s"
}
verdict() { sed -n "s/.*hostile: $1=\([a-z-]*\).*/\1/p" "$T/agent.err" | head -n1; }

# ---- 1. ACME: what is asked, what is given --------------------------------
hostile_config "$T/a.conf" acme
start_agent "$T/a.conf"
wait_for "$T/agent.err" 'hostile: validate-eab=' 15
A=$T/state-acme/audit.log
rc=0
timeout 60 "$CLI" --socket "$SOCK" --json enroll --connector acme --profile default \
	--csr "$T/h.csr" --wait --out "$T/h.crt" >"$T/enroll.out" 2>"$T/enroll.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/enroll.err" "$T/agent.err" >&2; fail "enroll through the hostile child: exit $rc"; }
id=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o=json.loads(l).get("order")
    if o: i=o["id"]
print(i)' "$T/enroll.out")
rc=0
"$CLI" --socket "$SOCK" revoke --order "$id" --reason keyCompromise >"$T/revoke.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/revoke.out" >&2; fail "revoke: exit $rc"; }
wait_for "$T/agent.err" 'hostile: revoke done' 15
wait_for "$T/agent.err" 'killing connector child [0-9]+: malformed or premature jws-sign-request' 20

refused=(validate-fetch validate-account validate-keychange validate-eab
	keychange-fetch keychange-account keychange-challenge deactivate
	deactivate-account account-update account-by-attacker-key eab-attacker-key
	order-more-names order-fewer-names order-extra-member order-other-names
	finalize-other-csr revoke-in-enroll challenge-not-empty fetch-with-payload
	account-eab-other-url revoke-other-certificate revoke-other-reason
	order-in-revoke pin-order-elsewhere pin-other-kid pin-finalize-elsewhere
	pin-challenge-finalize pin-fetch-endpoint pin-challenge-account
	pin-third-challenge pin-revoke-elsewhere)
granted=(control-account-lookup control-new-order control-new-order-reordered
	control-fetch control-challenge control-finalize control-second-challenge
	control-eab control-new-account control-revoke)
for n in "${refused[@]}"; do
	v=$(verdict "$n")
	[ "$v" = refused ] || fail "attack $n: '$v', expected refused"
done
for n in "${granted[@]}"; do
	v=$(verdict "$n")
	[ "$v" = granted ] || fail "control $n: '$v', expected granted (and verified)"
done
# The job's URLs: authz/1, chall/1, chall/2, finalize/1, then 8 more of
# the 2 x 2 names + 8 a job may name; the next is refused.
expect_in "$T/agent.err" 'hostile: pin-url-flood=refused after 8' \
	"new URLs past the job's cap"
expect_in "$T/agent.err" 'acme: connector acme: newOrder pinned to https://localhost:14000/new-order' \
	"the pin is logged"
expect_in "$T/agent.err" 'hostile: tls12-digest-of-jws=refused' \
	"a bare digest for a TLS 1.3-only connector"
expect_in "$T/agent.err" 'hostile: tls13-over-jws=granted as-jws-by-account=no as-jws-by-tls-key=no as-certificate-verify=yes' \
	"the TLS 1.3 path signs a CertificateVerify content, never the JWS it was fed"
cvsha=$(sed -n 's/.*hostile: tls13-content-sha256=\([0-9a-f]\{64\}\).*/\1/p' "$T/agent.err" | head -n 1)
[ -n "$cvsha" ] || fail "the hostile child did not report the content it had signed"
grep '"event":"sign.granted"' "$A" | grep '"tls":"1.3"' | grep -q "\"content_sha256\":\"$cvsha\"" ||
	fail "no TLS 1.3 grant records the SHA-256 of the content that was signed ($cvsha)"
expect_in "$T/agent.err" 'hostile: revoke done, controls failing 0' "every control verified"
expect_in "$T/agent.err" 'hostile: fd 4 closed' "the child holds no listener"
[ "$(verdict validate-http01)" = unanswered ] || fail "http-01 token of a validation job: $(verdict validate-http01)"
[ "$(verdict http01-foreign-token)" = our-thumbprint ] ||
	fail "a token named by the child: '$(verdict http01-foreign-token)', expected our account's thumbprint only"
[ "$(verdict http01-after-job)" = unanswered ] || fail "the token outlived its job"
grep '"event":"http_token.refused"' "$A" | grep -q '"outcome":"op"' ||
	fail "the validation job's token registration is not audited as refused"
note "http-01: the parent answers; a child's token only with our thumbprint, only during its enrollment job"
note "${#refused[@]} attacks refused, ${#granted[@]} controls granted and verified under the account key"

# The audit log: each refusal with its reason and the hash of what was
# asked; each grant with operation, url and the hash of what was signed.
# The flood adds one refusal and 8 grants.
python3 - "$A" "$((${#refused[@]} + 1))" "$((${#granted[@]} + 8))" <<'PY' || fail "audit records"
import json, sys, collections
recs = [json.loads(l) for l in open(sys.argv[1])]
ref = [r for r in recs if r["event"] == "sign.refused" and str(r["details"].get("scheme", "")).startswith("jws")]
gr = [r for r in recs if r["event"] == "sign.granted" and str(r["details"].get("scheme", "")).startswith("jws")]
assert len(ref) == int(sys.argv[2]), (len(ref), collections.Counter(r["outcome"] for r in ref))
assert len(gr) == int(sys.argv[3]), len(gr)
for r in ref:
    d = r["details"]
    assert len(d["input_sha256"]) == 64 and d["op"] and d["input_len"] > 0, r
    assert r["outcome"] in ("op", "payload", "key", "url"), r
for r in gr:
    d = r["details"]
    assert len(d["input_sha256"]) == 64 and d["op"] and d["connector"] == "acme", r
    if d["scheme"] == "jws-account":
        assert d["url"].startswith("https://localhost:14000/"), r
c = collections.Counter(r["outcome"] for r in ref)
assert c["op"] >= 6 and c["payload"] >= 12 and c["url"] >= 8 and c["key"] >= 1, c
# What the grants pinned, each once: the directory's endpoints and the account.
pins = [p for r in gr for p in r["details"].get("pinned", [])]
assert sorted(pins) == ["account", "newAccount", "newOrder", "revokeCert"], pins
print("refused by reason:", dict(c))
PY
"$CLI" audit verify "$A" >/dev/null || fail "audit log broken"
note "audited: every refusal with its reason and input hash, every grant with op, url and hash"

# The log flood: cut to the rate, said once a second, in metrics and health.
n=$(grep -c 'hostile: flood line' "$T/agent.err" || true)
[ "$n" -le 400 ] || fail "the parent logged $n of 3000 flood lines"
[ "$n" -ge 100 ] || fail "only $n flood lines logged: the burst should pass"
expect_in "$T/agent.err" 'supervisor: child [0-9]+ logs more than 20 lines a second: [0-9]+ lines dropped' \
	"the drop is said"
note "log flood: $n of 3000 lines logged, the rest dropped and counted"
kill -TERM "$agent"; wait "$agent" || true

# ---- 2. The signing window ----------------------------------------------
# [tls] timeout 2 s: an ACME job's window is (4 + 1) x 2 s + 10 s grace.
hostile_config "$T/w.conf" window
sed -i 's/^timeout = 10$/timeout = 2/' "$T/w.conf"
rm -f "$SOCK"
start_agent "$T/w.conf" "$T/w.err"
# The window runs from the job's send, the child's clock from its receipt:
# enroll once the child is up, or a slow start eats into what it sees.
wait_for "$T/w.err" 'supervisor: connector child [0-9]+ sandboxed' 40
"$CLI" --socket "$SOCK" enroll --connector acme --profile default --csr "$T/h.csr" \
	>/dev/null 2>&1 || true
wait_for "$T/w.err" 'killing connector child [0-9]+: (signature asked for after the job.s signing window|a job passed its signing window)' 40
last=$(sed -n 's/.*hostile: window t=\([0-9]*\) ms granted.*/\1/p' "$T/w.err" | sort -n | tail -n1)
[ -n "$last" ] || fail "no grant in the window at all"
[ "$last" -le 20500 ] || fail "a signature was granted $last ms into the job, past its 20 s window"
[ "$last" -ge 15000 ] || fail "the last grant came at $last ms: the window closed early"
kill -TERM "$agent"; wait "$agent" || true
note "signing window: grants until $last ms, then the child was ended (window 20 s)"

# ---- 3. A full disk: no signature without its record ---------------------
# A probe job a second; a burst of 20 connections and 60 TLS signatures
# on the probe after the trigger file appears (the child takes it).
hostile_config "$T/b.conf" burst
sed -i "s|burst $FX [0-9]*|burst $FX $T/trigger|" "$T/hostile-burst.sh"
sed -i 's|^\[probe\]$|[probe]\ninterval = 1|' "$T/b.conf"
mkdir -m 0700 "$T/state-burst"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$T/state-burst" || fail "cannot mount a tmpfs"
CLEANUP_HOOK='umount -l "$T/state-burst" 2>/dev/null || true'
rm -f "$SOCK"
start_agent "$T/b.conf" "$T/b.err"
burst() {	# one burst; its line is then the last in b.err
	local before
	before=$(grep -c 'hostile: burst granted=' "$T/b.err" || true)
	touch "$T/trigger"
	for _ in $(seq 1 150); do
		[ ! -e "$T/trigger" ] &&
			[ "$(grep -c 'hostile: burst granted=' "$T/b.err")" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(grep -c 'hostile: burst granted=' "$T/b.err")" -gt "$before" ] ||
		{ tail -20 "$T/b.err" >&2; fail "no burst"; }
	grep 'hostile: burst granted=' "$T/b.err" | tail -n1 | sed 's/.*hostile: //'
}
metric() { "$CLI" --socket "$SOCK" metrics | sed -n "s/^$1 \([0-9]*\)\$/\1/p"; }
# readied_burst WHAT R/U: a burst, all 60 granted, in which the token was
# readied R times and U signatures were made with a readied one.
readied_burst() {
	local r0 u0 r u out
	r0=$(metric hsmagent_hsm_signatures_readied_total)
	u0=$(metric hsmagent_hsm_signatures_readied_used_total)
	out=$(burst)
	[ "$out" = "burst granted=60 refused=0 failed=0" ] || fail "$1: $out"
	r=$(metric hsmagent_hsm_signatures_readied_total)
	u=$(metric hsmagent_hsm_signatures_readied_used_total)
	[ "$((r - r0))/$((u - u0))" = "$2" ] ||
		fail "$1: readied $((r - r0)), used $((u - u0)) ($2 expected)"
}
# The job's 60 signatures: the first with what was readied at its
# connections, the second the ordinary way, each later one with what was
# readied after the one before it (ready_next): 60 readied, 59 used, and
# the last ended with the job.
readied_burst "before the disk filled" 60/59
# At once another job: had the first job's last readied signature not
# ended with it, the token would keep it for 5 s, and this job could
# ready none of its own (0 used: seen with hsm_forget_for disabled).
readied_burst "a second burst" 60/59
dd if=/dev/zero of="$T/state-burst/filler" bs=4k 2>/dev/null || true
dd if=/dev/zero of="$T/state-burst/filler2" bs=256 2>/dev/null || true
full=$(burst)
health_json >"$T/h.json" || true
grep -q 'the audit log cannot be written' "$T/h.json" || fail "health does not say the audit log is down"
"$CLI" --socket "$SOCK" metrics >"$T/m.txt"
withheld=$(sed -n 's/^hsmagent_signatures_withheld_total \([0-9]*\)$/\1/p' "$T/m.txt")
rm -f "$T/state-burst/filler" "$T/state-burst/filler2"
again=$(burst)
[ "$again" = "burst granted=60 refused=0 failed=0" ] || fail "after space returned: $again"
# Each burst's 20 connections: the parent made them all, and readied the
# token for the job's signature once (hsm_prepare_for), not 20 times;
# then once after each signature given but the job's first (ready_next).
# So a burst job readies max(1, signatures given): at most one C_SignInit
# more than the signatures the child got, whatever it asks.
conns=$(grep -o 'hostile: burst connections=[0-9]*' "$T/b.err" | sed 's/.*=//' | tr '\n' ' ')
[ "$conns" = "20 20 20 20 " ] || fail "connections made per burst: $conns (20 each expected)"
"$CLI" --socket "$SOCK" metrics >"$T/m2.txt"
readied=$(sed -n 's/^hsmagent_hsm_signatures_readied_total \([0-9]*\)$/\1/p' "$T/m2.txt")
want=$(grep -o 'hostile: burst granted=[0-9]*' "$T/b.err" | awk -F= '{s += ($2 > 1 ? $2 : 1)} END {print s}')
[ "$readied" = "$want" ] ||
	fail "the token was readied $readied times for 4 jobs' 80 connections and their signatures ($want expected)"
# On one CPU nothing can run beside the child: the agent pinned, a job
# readies only at its connection (its first signature uses it), not
# after each signature (60/59 seen with the CPU check disabled).
taskset -a -p -c 0 "$agent" >/dev/null
for c in $(pgrep -P "$agent"); do taskset -a -p -c 0 "$c" >/dev/null; done
sleep 0.3	# the agent looks at its CPUs every 100 ms
readied_burst "pinned to one CPU" 1/1
kill -TERM "$agent"; wait "$agent" || true
granted=$(grep -o 'hostile: burst granted=[0-9]*' "$T/b.err" | awk -F= '{s += $2} END {print s}')
records=$(grep '"event":"sign.granted"' "$T/state-burst/audit.log" | grep -c '"tls":"1.3"' || true)
[ "$granted" -eq "$records" ] ||
	fail "signatures given to the child: $granted, sign.granted records: $records"
[ "${withheld:-0}" -gt 0 ] || fail "no signature was withheld on the full disk ($full)"
"$CLI" audit verify "$T/state-burst/audit.log" >/dev/null || fail "audit log broken after the full disk"
note "full disk: $full; $granted signatures given, $records recorded, $withheld withheld; health down meanwhile; then 60 of 60 again"
note "connections: 20 a burst made, the token readied once a job and once a signature after the first ($readied); 59 of a job's 60 signatures made with one; on one CPU, once a job"

# ---- 4. Checkpoints while the child signs --------------------------------
# SECURITY.md: a checkpoint's signature is the HSM worker's, and the loop
# keeps its lock while it waits for it, so that no record comes between
# the tree it signs and the checkpoint's record. Here a checkpoint falls
# due every 7 records while bursts of 60 grants are recorded by the
# worker's finisher: every checkpoint must still be of exactly the
# records before it, by both verifiers.
hostile_config "$T/c.conf" burst
sed -i "s|burst $FX [0-9]*|burst $FX $T/trigger|" "$T/hostile-burst.sh"
sed -i 's|^\[probe\]$|[probe]\ninterval = 1|' "$T/c.conf"
sed -i "s|^dir = $T/state-burst\$|dir = $T/state-ckpt\ncheckpoint_key_uri = $CKPT_KEY_URI\ncheckpoint_records = 7\ncheckpoint_origin = hsmagent.test/hostile|" "$T/c.conf"
grep -q '^checkpoint_records = 7$' "$T/c.conf" || fail "no checkpoint configuration"
rm -f "$SOCK" "$T/trigger"
start_agent "$T/c.conf" "$T/c.err"
mv "$T/b.err" "$T/b1.err"; ln -s "$T/c.err" "$T/b.err"	# burst() reads b.err
for i in 1 2; do
	out=$(burst)
	[ "$out" = "burst granted=60 refused=0 failed=0" ] || fail "checkpoints, burst $i: $out"
done
kill -TERM "$agent"; wait "$agent" || true
C=$T/state-ckpt/audit.log
n=$(grep -c '"event":"audit.checkpoint"' "$C" || true)
[ "$n" -ge 10 ] || fail "only $n checkpoints over two bursts of 60 grants"
"$CLI" audit verify "$C" --key "$CKPT_PUB_PEM" >"$T/cv.out" 2>&1 ||
	{ cat "$T/cv.out" >&2; fail "a checkpoint during the bursts is not of the records before it"; }
python3 "$ROOT/tests/tools/tlog_verify.py" log "$C" "$CKPT_PUB_PEM" >/dev/null ||
	fail "the independent verifier refuses a checkpoint made during the bursts"
note "checkpoints while the child signs: $n over 120 grants, each of exactly the records before it (both verifiers)"
