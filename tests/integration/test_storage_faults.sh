# test_storage_faults.sh - the state directory on a small tmpfs: full,
# and the audit log or the database moved away under the running agent;
# then on an ext4 image that goes read-only under it (an ext4 error with
# errors=remount-ro, as a failing disk would cause).
# Operations are refused (fail closed) and health says why, nothing
# recorded is lost (the chain verifies, every order is still there), and
# service resumes by itself when space returns or the file is back. A
# corrupt database is an error at start, not papered over.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
mkdir -m 0700 "$T/state"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$T/state" || fail "cannot mount a tmpfs (the tests run as root)"
CLEANUP_HOOK='umount -l "$T/state" 2>/dev/null || true; umount -l "$T/rostate" 2>/dev/null || true'
start_cagw ca1
cat >"$T/policy.conf" <<EOF2
[rule s]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.s.example.com
max_validity_days = 30
key_types = ec:p256
EOF2
entrust_config "$CLIENT_EC_CRT"
start_agent
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -out "$T/s.csr" -subj "/CN=a.s.example.com" \
	-addext "subjectAltName=DNS:a.s.example.com" 2>/dev/null

enroll() {	# sets rc
	set +e
	timeout 30 "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue \
		--csr "$T/s.csr" --wait >"$T/e.out" 2>&1
	rc=$?
	set -e
}
issued() { "$CLI" --socket "$SOCK" list | grep -c ': issued ' || true; }
storage() {
	health_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["storage"])'
}
verify() { "$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "audit chain broken after $1"; }

enroll
[ "$rc" -eq 0 ] || { cat "$T/e.out" >&2; fail "first enrollment: exit $rc"; }
[ "$(storage)" = ok ] || fail "storage not ok at start"

# 1. The file system fills up.
dd if=/dev/zero of="$T/state/filler" bs=4k 2>/dev/null || true
before=$(issued)
refused=0
for _ in 1 2 3; do
	enroll
	if [ "$rc" -ne 0 ]; then refused=1; break; fi
	# Small records may still fit: fill what is left.
	dd if=/dev/zero of="$T/state/filler2" bs=512 2>/dev/null || true
done
[ "$refused" -eq 1 ] || fail "enrollment went through on a full disk"
[ "$rc" -eq 13 ] || fail "a full disk: exit $rc, expected 13 (retry later: storage fails closed, as README says)"
expect_in "$T/e.out" "audit log cannot be written|cannot store the order" "refusal names the cause"
if grep -q "audit log cannot be written" "$T/e.out"; then
	storage | grep -q 'cannot be written' || fail "health does not show the audit log: $(storage)"
fi
verify "a full disk"
rm -f "$T/state/filler" "$T/state/filler2"
enroll
[ "$rc" -eq 0 ] || { cat "$T/e.out" >&2; fail "no recovery when space returned: exit $rc"; }
[ "$(storage)" = ok ] || fail "health after recovery: $(storage)"
[ "$(issued)" -ge $((before + 1)) ] || fail "orders lost across the full disk"
verify "recovery from a full disk"
note "full tmpfs: enrollment refused (fail closed), chain intact; space back: service resumed (at ${SECONDS} s)"

# 2. The audit log moved away under the agent, then back.
mv "$T/state/audit.log" "$T/state/audit.log.away"
enroll
[ "$rc" -ne 0 ] || fail "enrollment recorded into a moved audit log"
expect_in "$T/e.out" "audit log cannot be written" "moved log refused"
storage | grep -q 'the file moved' || fail "health does not say the log moved: $(storage)"
mv "$T/state/audit.log.away" "$T/state/audit.log"
enroll
[ "$rc" -eq 0 ] || { cat "$T/e.out" >&2; fail "no recovery with the log back: exit $rc"; }
verify "the log moving"
note "audit log moved away: refused, health says so; moved back: resumed (at ${SECONDS} s)"

# 3. The database moved away, then back.
n=$(issued)
mv "$T/state/orders.db" "$T/state/orders.db.away"
enroll
[ "$rc" -ne 0 ] || fail "enrollment stored into a moved database"
storage | grep -q 'orders database was moved' || fail "health: $(storage)"
mv "$T/state/orders.db.away" "$T/state/orders.db"
enroll
[ "$rc" -eq 0 ] || { cat "$T/e.out" >&2; fail "no recovery with the database back: exit $rc"; }
[ "$(issued)" -eq $((n + 1)) ] || fail "orders lost across the moved database"
verify "the database moving"
note "database moved away: refused, health says so; moved back: resumed, no order lost (at ${SECONDS} s)"

# 4. A corrupt database is an error at start.
kill "$agent"; wait "$agent" 2>/dev/null || true
mkdir -m 0700 "$T/state2"
head -c 4096 /dev/urandom >"$T/state2/orders.db"
chmod 0600 "$T/state2/orders.db"
sed "s|^dir = $T/state\$|dir = $T/state2|; s|^socket = .*|socket = $T/agent2.sock|" "$T/a.conf" >"$T/b.conf"
set +e
timeout 20 "$HSMAGENTD" -c "$T/b.conf" >"$T/b.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "the agent started on a corrupt database"
expect_in "$T/b.out" "orders.db: .*(not a database|not an SQLite database|not an hsmagent)" "corrupt database named"
note "corrupt orders.db: the agent refuses to start and names the file (exit $rc)"

# 5. The file system goes read-only under the agent (ext4 error,
#    errors=remount-ro): refused, health says so, nothing lost; after a
#    repair (fsck) and a restart, everything recorded before is there.
truncate -s 16M "$T/ext4.img"
mkfs.ext4 -q "$T/ext4.img"
mkdir -m 0700 "$T/rostate"
mount -o loop,errors=remount-ro "$T/ext4.img" "$T/rostate" || fail "cannot loop-mount ext4"
chmod 0700 "$T/rostate"
dev=$(basename "$(findmnt -n -o SOURCE "$T/rostate")")
[ -w "/sys/fs/ext4/$dev/trigger_fs_error" ] || fail "no ext4 trigger_fs_error for $dev"
sed "s|^dir = $T/state\$|dir = $T/rostate|" "$T/a.conf" >"$T/ro.conf"
cp "$T/ro.conf" "$T/a.conf"	# start_agent reads a.conf
start_agent
enroll
[ "$rc" -eq 0 ] || { cat "$T/e.out" >&2; fail "enrollment on ext4: exit $rc"; }
records=$(wc -l <"$T/rostate/audit.log")
echo 1 >"/sys/fs/ext4/$dev/trigger_fs_error"
enroll
[ "$rc" -ne 0 ] || fail "enrollment went through on a read-only file system"
storage | grep -q 'cannot be written' || fail "health does not show the read-only log: $(storage)"
"$CLI" audit verify "$T/rostate/audit.log" >/dev/null || fail "chain broken on the read-only file system"
kill "$agent"; wait "$agent" 2>/dev/null || true
umount "$T/rostate"
e2fsck -fy "$T/ext4.img" >/dev/null 2>&1 || true
mount -o loop "$T/ext4.img" "$T/rostate"
[ "$(wc -l <"$T/rostate/audit.log")" -ge "$records" ] || fail "audit records lost on the read-only file system"
start_agent
enroll
[ "$rc" -eq 0 ] || { cat "$T/e.out" >&2; fail "no service after the repair: exit $rc"; }
"$CLI" audit verify "$T/rostate/audit.log" >/dev/null || fail "chain broken after the repair"
note "ext4 gone read-only under the agent: refused, health says so, chain intact; after fsck and a restart all $records records there, service back"
