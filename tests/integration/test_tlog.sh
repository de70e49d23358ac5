# test_tlog.sh - the audit log as a transparency log (work in progress):
# the agent signs checkpoints of its tree with a key of their own in the
# HSM, at start, every checkpoint_records records and at stop; each is a
# record of the log, the latest is in FILE.checkpoint, and each line of
# the system log carries one. An independent verifier
# (tests/tools/tlog_verify.py, no code shared with the agent) checks
# every note under the exported public key and every root against the
# log's own lines.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
start_cagw ca1
printf "%s\n" "[rule r]" "callers = user:root" "connectors = entrust" \
	"profiles = server" "max_validity_days = 30" "key_types = ec:p256" \
	"san_dns = *.example.test" >"$T/policy.conf"
write_config "$T/a.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" \
	"[state]" "dir = $T/state" "checkpoint_key_uri = $CKPT_KEY_URI" \
	"checkpoint_records = 5" "checkpoint_origin = hsmagent.test/tlog" \
	"[connector entrust]" "type = entrust" "url = https://localhost:$port/cagw" \
	"ca_id = ca1" >>"$T/a.conf"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/k.key" -out "$T/k.csr" -subj "/CN=a.example.test" \
	-addext "subjectAltName=DNS:a.example.test" 2>/dev/null
start_agent "$T/a.conf"
# Two certificates issued; requests refused on the way (two records each).
for i in 1 2; do
	timeout 60 "$CLI" --socket "$SOCK" --json enroll --connector entrust \
		--profile server --csr "$T/k.csr" --wait --out "$T/c$i.crt" \
		>"$T/e$i.out" 2>"$T/e$i.err" || { cat "$T/e$i.err" >&2; fail "enroll $i"; }
	for j in 1 2 3; do
		"$CLI" --socket "$SOCK" enroll --connector none --profile x \
			--csr "$T/k.csr" >/dev/null 2>&1 || true
	done
done
order1=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l).get("order")
    if o: i = o["id"]
print(i)' "$T/e1.out")
# The receipt through the local API (the caller need not read the log).
for _ in $(seq 1 30); do
	"$CLI" --socket "$SOCK" receipt "$order1" --out "$T/api.tlog-proof" \
		>/dev/null 2>"$T/rc.err" && break
	grep -q 'busy' "$T/rc.err" || { cat "$T/rc.err" >&2; fail "receipt through the API"; }
	sleep 0.2
done
[ -s "$T/api.tlog-proof" ] || fail "no receipt through the API"
sleep 1.5
kill -TERM "$agent"; wait "$agent" || true
A=$T/state/audit.log
n=$(grep -c '"event":"audit.checkpoint"' "$A" || true)
[ "$n" -ge 3 ] || fail "only $n checkpoints in the log"
V=$ROOT/tests/tools/tlog_verify.py
i=0
python3 - "$A" "$T" <<'PY' || fail "checkpoint records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
k = 0
for idx, r in enumerate(recs):
    if r["event"] != "audit.checkpoint":
        continue
    d = r["details"]
    assert d["size"] == idx, (d["size"], idx)
    open("%s/ck%d.note" % (sys.argv[2], k), "w").write(d["note"])
    k += 1
print(k)
PY
for f in "$T"/ck*.note; do
	out=$(python3 "$V" note "$f" "$CKPT_PUB_PEM" hsmagent.test/tlog) ||
		fail "$f does not verify under the checkpoint key"
	size=$(echo "$out" | cut -d' ' -f2)
	root=$(echo "$out" | cut -d' ' -f3)
	[ "$(python3 "$V" root "$A" "$size")" = "$root" ] ||
		fail "$f: the root at $size is not the log's"
	i=$((i + 1))
done
cmp -s "$A.checkpoint" "$(ls "$T"/ck*.note | sort -V | tail -n1)" ||
	fail "FILE.checkpoint is not the last checkpoint"
grep -Eq 'event=audit.checkpoint reason=stop size=[0-9]+ note64=[A-Za-z0-9+/=]+$' "$T/agent.err" ||
	fail "no checkpoint line in the agent's log"
# Another key does not verify them.
python3 "$V" note "$A.checkpoint" "$FX/gw-ec.pub.pem" hsmagent.test/tlog >/dev/null 2>&1 &&
	fail "a checkpoint verified under another key"
note "$i checkpoints, each verified under the checkpoint key by an independent verifier, each root the log's"

# ---- receipts: the first certificate, proved offline ------------------------
"$CLI" audit receipt "$A" "$order1" >"$T/c1.tlog-proof" || fail "no receipt for $order1"
head -n1 "$T/c1.tlog-proof" | grep -qx 'c2sp.org/tlog-proof@v1' || fail "not a tlog-proof"
"$CLI" audit verify-receipt "$T/c1.tlog-proof" "$T/c1.crt" --key "$CKPT_PUB_PEM" >/dev/null ||
	fail "the receipt does not verify for its certificate"
rc=0
"$CLI" audit verify-receipt "$T/c1.tlog-proof" "$T/c2.crt" --key "$CKPT_PUB_PEM" \
	>"$T/vr.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "another certificate" "$T/vr.out" ||
	fail "the receipt verified for another certificate"
"$CLI" audit verify-receipt "$T/c1.tlog-proof" "$T/c1.crt" --key "$FX/gw-ec.pub.pem" \
	>/dev/null 2>&1 && fail "the receipt verified under another key"
# One changed byte of the logged record: not in the tree any more.
python3 - "$T/c1.tlog-proof" <<'PY'
import base64, sys
l = open(sys.argv[1]).read().split("\n")
rec = base64.b64decode(l[1][6:]).replace(b'"outcome":"issued"', b'"outcome":"issueD"')
l[1] = "extra " + base64.b64encode(rec).decode()
open(sys.argv[1] + ".bad", "w").write("\n".join(l))
PY
"$CLI" audit verify-receipt "$T/c1.tlog-proof.bad" "$T/c1.crt" --key "$CKPT_PUB_PEM" \
	>/dev/null 2>&1 && fail "a changed record still verified"
python3 "$V" proof "$T/c1.tlog-proof" "$CKPT_PUB_PEM" >/dev/null ||
	fail "the receipt does not verify under the independent verifier"
# Every record's proof, by audit prove, checked by the independent verifier.
proved=0
for i in $(seq 0 $(($(wc -l <"$A") - 4))); do
	"$CLI" audit prove "$A" "$i" >"$T/p.tlog-proof" 2>/dev/null || continue
	out=$(python3 "$V" proof "$T/p.tlog-proof" "$CKPT_PUB_PEM") ||
		fail "audit prove $i does not verify independently"
	[ "$(echo "$out" | cut -d' ' -f3)" = "$(sed -n "$((i + 1))p" "$A" | tr -d '\n' | sha256sum | cut -d' ' -f1)" ] ||
		fail "audit prove $i proves another record"
	proved=$((proved + 1))
done
[ "$proved" -ge 20 ] || fail "only $proved records proved"
note "audit prove: $proved records, each proof checked by the independent verifier"
cmp -s "$T/api.tlog-proof" "$T/c1.tlog-proof" ||
	fail "the API's receipt is not the one the log gives"
note "receipt: verifies for its certificate only, under the checkpoint key only; a changed record fails; the API gives the same"

# ---- hsmagent audit verify --key: the same, by the C verifier -----------
out=$("$CLI" audit verify "$A" --key "$CKPT_PUB_PEM") || fail "audit verify --key: $out"
echo "$out" | grep -q "checkpoints verified" || fail "audit verify --key said: $out"
cp "$A.checkpoint" "$T/kept.note"
grep 'event=audit.checkpoint reason=stop' "$T/agent.err" | tail -n1 >"$T/kept.line"
"$CLI" audit verify "$A" --key "$CKPT_PUB_PEM" --checkpoint "$T/kept.note" >/dev/null ||
	fail "the log does not extend its own latest checkpoint"
"$CLI" audit verify "$A" --key "$CKPT_PUB_PEM" --checkpoint "$T/kept.line" >/dev/null ||
	fail "the checkpoint as a system-log line is not taken"
"$CLI" audit verify "$A" --key "$FX/gw-ec.pub.pem" >/dev/null 2>&1 &&
	fail "the log verified under another key"

# A log without its head file: a failure, unless waived.
cp "$A" "$T/nohead.log"
"$CLI" audit verify "$T/nohead.log" >/dev/null 2>"$T/nohead.err" &&
	fail "a log without its head file verified"
grep -q "head is missing" "$T/nohead.err" || fail "the missing head is not named"
"$CLI" audit verify "$T/nohead.log" --no-head >/dev/null || fail "--no-head does not waive it"
note "a missing head file fails verification unless --no-head waives it"

# rechain FILE: as a root attacker who rewrites the log would.
rechain() { python3 "$ROOT/tests/tools/audit_rechain.py" "$1"; }
attack() {	# NAME FILE WANT: the chain holds, the transparency log does not
	"$CLI" audit verify "$2" >/dev/null 2>&1 ||
		fail "$1: the rewritten chain does not even verify: the attack is not a rewrite"
	rc=0
	"$CLI" audit verify "$2" --key "$CKPT_PUB_PEM" --checkpoint "$T/kept.note" \
		>"$T/$1.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "$1: not detected"
	grep -Eq "$3" "$T/$1.out" || { cat "$T/$1.out" >&2; fail "$1: the message does not say it"; }
	note "$1: $(grep -v ': intact, ' "$T/$1.out" | tail -n1 | sed "s|^[^:]*: ||")"
}
total=$(wc -l <"$A")
# A cut tail, the head rewritten to match.
head -n $((total - 3)) "$A" >"$T/cut.log"; rechain "$T/cut.log"
attack tail-cut "$T/cut.log" 'were cut'
# A record in the middle changed (an order's outcome), re-chained.
awk '!done && NR > 5 && /"outcome":"refused"/ { sub(/"outcome":"refused"/, "\"outcome\":\"ok\""); done = 1 } { print }' \
	"$A" >"$T/edit.log"; rechain "$T/edit.log"
cmp -s "$A" "$T/edit.log" && fail "the edit changed nothing"
attack middle-edit "$T/edit.log" 'was changed'
# Two records swapped, re-chained.
awk 'NR==8{l=$0; next} NR==9{print; print l; next} {print}' "$A" >"$T/swap.log"
rechain "$T/swap.log"
attack swap "$T/swap.log" 'was changed'
# A fork: cut back to record 10 and written on differently.
head -n 10 "$A" >"$T/fork.log"
tail -n +11 "$A" | sed 's/"outcome":"refused"/"outcome":"denied"/' >>"$T/fork.log"
rechain "$T/fork.log"
attack fork "$T/fork.log" 'was changed|verify under the key'


# One key, one role: the TLS key or an ACME account key as checkpoint key.
for k in "$EC_KEY_URI" "$ACME_EC_KEY_URI"; do
	sed "s|^checkpoint_key_uri = .*|checkpoint_key_uri = $k|" "$T/a.conf" >"$T/r.conf"
	if [ "$k" = "$ACME_EC_KEY_URI" ]; then
		printf '%s\n' "[connector acme]" "type = acme" \
			"url = https://localhost:14000/dir" "account_key_uri = $k" >>"$T/r.conf"
	fi
	rm -rf "$T/state"
	rc=0
	timeout 30 "$HSMAGENTD" -c "$T/r.conf" >"$T/r.out" 2>&1 || rc=$?
	[ "$rc" -eq 78 ] || { cat "$T/r.out" >&2; fail "a shared checkpoint key: exit $rc, not 78"; }
	grep -q "one key, one role" "$T/r.out" || fail "the refusal does not say why"
done
note "the TLS key or an ACME account key as checkpoint key: refused at start (78)"
echo "test_tlog: ok"
