# test_tlog_keys.sh - the checkpoint key's life, and receipts on demand.
#  - enroll --receipt and status --receipt: a receipt at once (the agent
#    signs a checkpoint for it), checked offline and independently;
#  - [state] checkpoint_dir: one file per checkpoint, each the logged note;
#  - credential new --role checkpoint: a key made in the token, its public
#    key as PEM and as a C2SP verifier key line the independent verifier
#    reads as the same key; the key in use cannot be retired;
#  - rotation: checkpoint_previous_key_uri makes the agent record the
#    rotation and sign the next checkpoint with both keys; an auditor who
#    holds the first key alone follows it (C and Python verifiers); a
#    rotation is recorded once; a rotation forged by a root attacker (to
#    a key of theirs, or from a key not trusted) and the old key signing
#    after the rotation all fail.
# On a token of its own: the test makes and destroys keys.
. "$(dirname "$0")/lib.sh"

own_token

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
V=$ROOT/tests/tools/tlog_verify.py
A=$T/state/audit.log
OLD_PEM=$CKPT_PUB_PEM
start_cagw ca1
printf "%s\n" "[admins]" "users = root" "[rule r]" "callers = user:root" \
	"connectors = entrust" "profiles = server" "max_validity_days = 30" \
	"key_types = ec:p256" "san_dns = *.example.test" >"$T/policy.conf"
mkdir -p "$T/ckdir"
conf() {	# FILE [STATE LINE...]: checkpoints only at start, stop and on demand
	local f=$1
	shift
	write_config "$f" "$EC_KEY_URI" "$CLIENT_EC_CRT" "$port"
	printf '%s\n' "[api]" "socket = $SOCK" "policy = $T/policy.conf" \
		"[state]" "dir = $T/state" "checkpoint_records = 100000" \
		"checkpoint_interval = 86400" "checkpoint_dir = $T/ckdir" "$@" \
		"[connector entrust]" "type = entrust" \
		"url = https://localhost:$port/cagw" "ca_id = ca1" >>"$f"
}
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -out "$T/$1.csr" -subj "/CN=$1.example.test" \
		-addext "subjectAltName=DNS:$1.example.test" 2>/dev/null
}
stop_agent() { kill -TERM "$agent"; wait "$agent" || true; }
conf "$T/a.conf" "checkpoint_key_uri = $CKPT_KEY_URI"
start_agent "$T/a.conf"

# ---- receipts on demand -----------------------------------------------
csr c1
timeout 60 "$CLI" --socket "$SOCK" --json enroll --connector entrust \
	--profile server --csr "$T/c1.csr" --wait --out "$T/c1.crt" \
	--receipt "$T/c1.proof" >"$T/e1.out" 2>"$T/e1.err" ||
	{ cat "$T/e1.err" >&2; fail "enroll --receipt"; }
[ -s "$T/c1.proof" ] || fail "enroll --receipt wrote no receipt"
"$CLI" audit verify-receipt "$T/c1.proof" "$T/c1.crt" --key "$OLD_PEM" >/dev/null ||
	fail "the enroll receipt does not verify"
python3 "$V" proof "$T/c1.proof" "$OLD_PEM" >/dev/null ||
	fail "the enroll receipt does not verify independently"
order1=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l).get("order")
    if isinstance(o, dict): i = o["id"]
print(i)' "$T/e1.out")
n0=$(grep -c '"event":"audit.checkpoint"' "$A")
"$CLI" --socket "$SOCK" status "$order1" --receipt "$T/s1.proof" >/dev/null ||
	fail "status --receipt"
cmp -s "$T/c1.proof" "$T/s1.proof" || fail "status --receipt gave another receipt"
[ "$(grep -c '"event":"audit.checkpoint"' "$A")" -eq "$n0" ] ||
	fail "a second receipt for a covered order signed another checkpoint"
# Kept beside the log when the checkpoint was signed, the same receipt
# the log gives; removed, it is made from the log once and kept again.
cmp -s "$A.receipts/$order1.tlog-proof" "$T/c1.proof" ||
	fail "the receipt is not kept in $A.receipts"
"$CLI" audit receipt "$A" "$order1" | cmp -s - "$T/c1.proof" ||
	fail "the kept receipt is not the one the log gives"
rm "$A.receipts/$order1.tlog-proof"
"$CLI" --socket "$SOCK" receipt "$order1" --out "$T/s2.proof" >/dev/null ||
	fail "a receipt no longer kept is not made from the log"
cmp -s "$T/s2.proof" "$T/c1.proof" && [ -s "$A.receipts/$order1.tlog-proof" ] ||
	fail "the receipt made from the log differs or is not kept"
# Three deliveries under one checkpoint: each receipt made at it, each
# the one the log gives.
ids=()
for n in d1 d2 d3; do
	csr "$n"
	timeout 60 "$CLI" --socket "$SOCK" --json enroll --connector entrust \
		--profile server --csr "$T/$n.csr" --wait --out "$T/$n.crt" \
		>"$T/$n.out" 2>"$T/$n.err" || { cat "$T/$n.err" >&2; fail "enroll $n"; }
	ids+=("$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l).get("order")
    if isinstance(o, dict): i = o["id"]
print(i)' "$T/$n.out")")
done
[ ! -e "$A.receipts/${ids[0]}.tlog-proof" ] || fail "a receipt before its checkpoint"
"$CLI" --socket "$SOCK" receipt "${ids[2]}" >/dev/null || fail "receipt ${ids[2]}"
for i in 0 1 2; do
	"$CLI" audit receipt "$A" "${ids[$i]}" | cmp -s - "$A.receipts/${ids[$i]}.tlog-proof" ||
		fail "delivery $i: the receipt made at the checkpoint is not the log's"
	"$CLI" audit verify-receipt "$A.receipts/${ids[$i]}.tlog-proof" "$T/d$((i + 1)).crt" \
		--key "$OLD_PEM" >/dev/null || fail "delivery $i: the receipt does not verify"
done
rc=0
"$CLI" --socket "$SOCK" enroll --connector entrust --profile server \
	--csr "$T/c1.csr" --receipt "$T/x.proof" --san dns:bad.example.org \
	>/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$T/x.proof" ] || fail "a refused enrollment wrote a receipt"
note "enroll --receipt and status --receipt: a receipt at once, verified by both verifiers, kept beside the log; asked again, no new checkpoint"

# ---- the checkpoint key made in the token ------------------------------
"$CLI" --socket "$SOCK" --json credential new --role checkpoint \
	--pub-out "$T/new.pem" >"$T/new.json" || fail "credential new --role checkpoint"
read -r NEW_URI NEW_VKEY NEW_ID < <(python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); print(r["key"]["uri"], r["vkey"], r["key"]["id"])' "$T/new.json")
origin=$(head -n1 "$A.checkpoint")
python3 "$V" vkey "$NEW_VKEY" "$T/new.pem" "$origin" >/dev/null ||
	fail "the verifier key line is not the PEM's key under the log's origin"
OLD_VKEY=$("$CLI" audit vkey --key "$OLD_PEM" --origin "$origin")
python3 "$V" vkey "$OLD_VKEY" "$OLD_PEM" "$origin" >/dev/null ||
	fail "audit vkey: not the PEM's key"
pkcs11-tool --module "$HSM_MODULE" --token-label "$TOKEN_LABEL" --login \
	--pin "$(cat "$PIN_FILE")" --list-objects --type privkey 2>/dev/null |
	grep -A12 "label: *hsmagent-checkpoint-" >"$T/obj.txt" || fail "no checkpoint key on the token"
grep -q "never extractable" "$T/obj.txt" && grep -q "sensitive" "$T/obj.txt" ||
	{ cat "$T/obj.txt" >&2; fail "the checkpoint key is extractable or not sensitive"; }
rc=0
"$CLI" --socket "$SOCK" credential new --role checkpoint --rsa 2048 \
	--pub-out "$T/r.pem" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$T/r.pem" ] || fail "an RSA checkpoint key was made"
rc=0
"$CLI" --socket "$SOCK" credential retire --key-id 05 >"$T/ret.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "checkpoint_key_uri" "$T/ret.out" ||
	{ cat "$T/ret.out" >&2; fail "the checkpoint key in use was retired"; }
note "credential new --role checkpoint: a sensitive, never-extractable P-256 key; PEM and verifier key agree (independent check); the key in use cannot be retired"
stop_agent

# ---- rotation -----------------------------------------------------------
conf "$T/b.conf" "checkpoint_key_uri = $NEW_URI" \
	"checkpoint_previous_key_uri = $CKPT_KEY_URI"
start_agent "$T/b.conf" "$T/b.err"
csr c2
timeout 60 "$CLI" --socket "$SOCK" enroll --connector entrust --profile server \
	--csr "$T/c2.csr" --wait --out "$T/c2.crt" --receipt "$T/c2.proof" \
	>/dev/null 2>"$T/e2.err" || { cat "$T/e2.err" >&2; fail "enroll after the rotation"; }
"$CLI" audit verify-receipt "$T/c2.proof" "$T/c2.crt" --vkey "$NEW_VKEY" >/dev/null ||
	fail "the receipt after the rotation does not verify under the new key"
"$CLI" audit verify-receipt "$T/c2.proof" "$T/c2.crt" --key "$OLD_PEM" >/dev/null 2>&1 &&
	fail "the receipt after the rotation verified under the old key"
stop_agent
[ "$(grep -c '"event":"audit.checkpoint_key"' "$A")" -eq 1 ] || fail "no rotation record"
[ "$(head -n1 "$A.checkpoint")" = "$origin" ] || fail "the rotation changed the log's origin"
out=$("$CLI" audit verify "$A" --key "$OLD_PEM") || fail "audit verify across the rotation: $out"
echo "$out" | grep -q "1 key rotation followed" || fail "audit verify said: $out"
"$CLI" audit verify "$A" --vkey "$OLD_VKEY" >/dev/null || fail "audit verify --vkey"
[ "$(python3 "$V" log "$A" "$OLD_PEM")" = "checkpoints $(grep -c '"event":"audit.checkpoint"' "$A") rotations 1" ] ||
	fail "the independent verifier does not follow the rotation"
"$CLI" audit verify "$A" --key "$T/new.pem" >/dev/null 2>&1 &&
	fail "the new key alone verified the checkpoints before it"
# Restarted with the previous key still set: no second rotation.
# The socket comes before the checkpoint set-up: wait for its word (a
# stop right after the socket, under ASan, came before it).
start_agent "$T/b.conf" "$T/b2.err"
expect_soon "$T/b2.err" "the rotation is in the log" "no word that the rotation is done"
stop_agent
[ "$(grep -c '"event":"audit.checkpoint_key"' "$A")" -eq 1 ] || fail "the rotation was recorded twice"
"$CLI" audit verify "$A" --key "$OLD_PEM" >/dev/null || fail "the log after the restart"
note "rotation: recorded once, cosigned, followed from the first key alone by both verifiers; the new key alone does not vouch for the past"

# ---- checkpoint_dir -----------------------------------------------------
python3 - "$A" "$T/ckdir" <<'PY' || fail "checkpoint_dir"
import json, os, sys
notes = [json.loads(l)["details"] for l in open(sys.argv[1]) if '"event":"audit.checkpoint"' in l]
files = sorted(os.listdir(sys.argv[2]))
assert len(files) == len(notes), (files, len(notes))
for d, f in zip(notes, files):
    assert f == "checkpoint.%020d" % d["size"], f
    assert open(os.path.join(sys.argv[2], f)).read() == d["note"], f
PY
note "checkpoint_dir: one file per checkpoint, each the note in the log"

# ---- forged rotations ---------------------------------------------------
cp "$A" "$T/good.log"
python3 - "$T/good.log" "$T" <<'PY'
# A root attacker's key rotation, appended and re-chained: to a key of
# theirs, with a checkpoint only that key signs; and from a key nobody
# trusts, with a checkpoint both of theirs sign.
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
lines = open(sys.argv[1]).read().splitlines()
last = [json.loads(l) for l in lines if '"event":"audit.checkpoint"' in l][-1]
origin = last["details"]["note"].split("\n")[0]
rot = [json.loads(l) for l in lines if '"event":"audit.checkpoint_key"' in l][0]["details"]
def spki(k):
    return k.public_key().public_bytes(serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
def vkey(k):
    d = spki(k)
    return "%s+%s+%s" % (origin, hashlib.sha256(d).hexdigest()[:8],
                         base64.b64encode(b"\x02" + d).decode())
def forge(name, frm, to, signers):
    out = list(lines)
    rec = {"actor": None, "event": "audit.checkpoint_key", "target": origin,
           "outcome": "ok", "time": "2026-12-06T00:00:00.000Z",
           "details": {"reason": "rotation", "from": frm, "to": to}}
    out.append(json.dumps(rec, sort_keys=True, separators=(",", ":")))
    # The checkpoint after it is forged once the lines are re-chained:
    # its root must be of the lines as the verifier will read them.
    open(sys.argv[2] + "/" + name + ".log", "w").write("\n".join(out) + "\n")
    json.dump({"signers": signers}, open(sys.argv[2] + "/" + name + ".plan", "w"))
a1 = ec.generate_private_key(ec.SECP256R1())
a2 = ec.generate_private_key(ec.SECP256R1())
for k, n in ((a1, "a1"), (a2, "a2")):
    open(sys.argv[2] + "/" + n + ".key", "wb").write(k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
forge("to-attacker", rot["to"], vkey(a1), ["a1"])
forge("untrusted", vkey(a1), vkey(a2), ["a1", "a2"])
PY
seal() {	# NAME: re-chain, then append a checkpoint signed by the plan's keys
	python3 "$ROOT/tests/tools/audit_rechain.py" "$T/$1.log"
	python3 - "$T/$1.log" "$T/$1.plan" "$T" <<'PY'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
lines = open(sys.argv[1]).read().splitlines()
keys = [serialization.load_pem_private_key(open("%s/%s.key" % (sys.argv[3], n), "rb").read(), None)
        for n in json.load(open(sys.argv[2]))["signers"]]
origin = json.loads(lines[-1])["target"]
def leaf(l): return hashlib.sha256(b"\x00" + l.encode()).digest()
def mth(v):
    if len(v) == 1: return v[0]
    k = 1
    while k * 2 < len(v): k *= 2
    return hashlib.sha256(b"\x01" + mth(v[:k]) + mth(v[k:])).digest()
size = len(lines)
body = "%s\n%d\n%s\n" % (origin, size, base64.b64encode(mth([leaf(l) for l in lines])).decode())
note = body + "\n"
for k in keys:
    d = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    sig = k.sign(body.encode(), ec.ECDSA(hashes.SHA256()))
    note += "\u2014 %s %s\n" % (origin, base64.b64encode(hashlib.sha256(d).digest()[:4] + sig).decode())
rec = {"actor": None, "event": "audit.checkpoint", "target": origin,
       "outcome": "ok", "time": "2026-12-06T00:00:01.000Z",
       "details": {"size": size, "note": note}}
open(sys.argv[1], "a").write(json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n")
PY
	python3 "$ROOT/tests/tools/audit_rechain.py" "$T/$1.log"
	"$CLI" audit verify "$T/$1.log" >/dev/null 2>&1 || fail "$1: the forged chain does not verify: not a rewrite"
	rc=0
	"$CLI" audit verify "$T/$1.log" --key "$OLD_PEM" >"$T/$1.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "$1: a forged rotation passed"
	grep -Eq "$2" "$T/$1.out" || { cat "$T/$1.out" >&2; fail "$1: the message does not say it"; }
	python3 "$V" log "$T/$1.log" "$OLD_PEM" >/dev/null 2>&1 &&
		fail "$1: the independent verifier passed it"
	note "$1: $(grep -v ": intact, " "$T/$1.out" | tail -n1 | sed "s|^[^:]*: ||")"
}
seal to-attacker 'not signed by both keys'
seal untrusted 'not trusted here'

# The old key signing again after the rotation (an agent set back to it).
conf "$T/c.conf" "checkpoint_key_uri = $CKPT_KEY_URI"
start_agent "$T/c.conf" "$T/c.err"
expect_soon "$T/c.err" "event=audit.checkpoint reason=start" "the old key's checkpoint at start"
stop_agent
rc=0
"$CLI" audit verify "$A" --key "$OLD_PEM" >"$T/old.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "no signature by a trusted key" "$T/old.out" ||
	{ cat "$T/old.out" >&2; fail "the retired key's checkpoint passed"; }
note "the old key signing after the rotation: $(grep -v ": intact, " "$T/old.out" | tail -n1 | sed "s|^[^:]*: ||")"

# A checkpoint_dir that is not there: said at start, not at each copy.
sed "s|^checkpoint_dir = .*|checkpoint_dir = $T/no-such-dir|" "$T/c.conf" >"$T/d.conf"
rm -f "$SOCK"
rc=0
timeout 30 "$HSMAGENTD" -c "$T/d.conf" >"$T/d.out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] && grep -q "checkpoint_dir $T/no-such-dir: not a directory" "$T/d.out" ||
	{ cat "$T/d.out" >&2; fail "a missing checkpoint_dir: exit $rc"; }

# The log cut below its latest checkpoint and re-chained (the head file
# too): the agent does not start on it, where it would sign a fork.
head -n 20 "$A" >"$T/cut.log"
mv "$T/cut.log" "$A"
python3 "$ROOT/tests/tools/audit_rechain.py" "$A"
rm -f "$SOCK"
rc=0
timeout 30 "$HSMAGENTD" -c "$T/c.conf" >"$T/cut.out" 2>&1 || rc=$?
[ "$rc" -eq 78 ] && grep -q "records were cut or the log was rolled back" "$T/cut.out" ||
	{ cat "$T/cut.out" >&2; fail "the agent started on a log cut below its checkpoint (exit $rc)"; }
note "a log cut below its latest checkpoint: the agent refuses to start (78)"
echo "test_tlog_keys: ok"
