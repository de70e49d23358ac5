# test_records_order.sh - records before state (SECURITY.md), under a
# crash at each sync an order makes: the agent is killed (SIGKILL, as a
# crash or a power cut would stop it) right after each sync an
# enrollment makes (its records' and orders.db's), and after the commit
# a revocation makes (tests/kill_after_sync.c, preloaded). Restarted, it ends each order,
# and the audit log holds, for every order the database has, its request
# and the policy's decision before it was stored and before any
# submission; for every issued or revoked order its ca.result issued
# (with the stored certificate's hash) or ca.revoke record, written
# late and marked "recovered" when the crash came between the two. A
# record that could not be written while the log was away is written
# once it is back. The chain verifies after every restart, and the
# gateway never saw a second enrollment for an order. A renewal of a
# tracked certificate killed after its tracked entry names the new order,
# before that order is stored, is made once, not twice; so is one whose
# order cannot be written because the disk filled at that instant.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
KILL_SO=$BUILD/tests/kill-after-sync.so
[ -f "$KILL_SO" ] || fail "no $KILL_SO (make test builds it)"
ARM=$T/kill.arm
mkdir -m 0700 "$T/state"
start_cagw ca1
cat >"$T/policy.conf" <<EOF
[rule r]
callers = user:root
connectors = entrust
profiles = issue, pending-5
san_dns = *.r.example.com
max_validity_days = 30
key_types = ec:p256
EOF
entrust_config "$CLIENT_EC_CRT"
# Step 7's renewal, tried again a second after a failure.
printf '[renewal]\nretry_min_seconds = 1\nretry_max_seconds = 2\n' >>"$T/a.conf"

# The agent with the library preloaded; it dies when $ARM says. (An
# instrumented agent would refuse a library loaded before its runtime.)
start_armed() {
	LD_PRELOAD=$KILL_SO HSMAGENT_TEST_KILL_ARM=$ARM \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		start_agent "$T/a.conf" "$T/agent.err.$1"
}
cli() { timeout 60 "$CLI" --socket "$SOCK" "$@"; }

# died_at WHAT: the agent stopped at the armed sync (the library removed
# the arm file as it killed it), not for any other reason.
died_at() {
	local rc=0
	for _ in $(seq 1 200); do kill -0 "$agent" 2>/dev/null || break; sleep 0.1; done
	wait "$agent" 2>/dev/null || rc=$?
	[ "$rc" -eq 137 ] || fail "$1: the agent ended with status $rc, not killed at the sync"
	[ ! -e "$ARM" ] || fail "$1: the armed sync never came"
	# Its socket is left behind: start_agent waits for a new one.
	rm -f "$SOCK"
	# Under valgrind the agent's own SIGKILL is seen, and what it held
	# when it was stopped mid-flight is listed as lost: not leaks. Any
	# other report (an invalid read, an uninitialised value) is kept and
	# fails the run; the agents stopped normally are checked in full.
	local vg=${VALGRIND_LOGDIR:-/nonexistent}/$agent.log
	if [ -s "$vg" ] && ! grep -qE '^==[0-9]+== [A-Z]' "$vg"; then
		rm -f "$vg"
	fi
}

state_of() { cli --json status "$1" 2>/dev/null | grep -oE '"state":"[a-z_]+"' | head -1 | cut -d'"' -f4 || true; }

# settled ID...: each order final (issued, failed, rejected, revoked).
settled() {
	local id s
	for _ in $(seq 1 150); do
		s=1
		for id in "$@"; do
			case $(state_of "$id") in
			issued | failed | rejected | revoked) ;;
			*) s=0 ;;
			esac
		done
		[ "$s" -eq 1 ] && return 0
		sleep 0.2
	done
	cli list >&2 || true
	fail "orders $* did not settle"
}

# The log against the database: what every order must have on record.
check_records() {	# WHAT [ID-THAT-MUST-HAVE-A-RECOVERED-RECORD]
	"$CLI" audit verify "$T/state/audit.log" >/dev/null || fail "$1: the audit chain does not verify"
	python3 "$ROOT/tests/integration/records_check.py" "$T/state/orders.db" \
		"$T/state/audit.log" --gw "$T/gw.json" ${2:+--recovered "$2"} ||
		fail "$1: records missing (above)"
}

ids=()
# warm NAME: one enrollment, unarmed. A fresh WAL (after a clean stop)
# syncs its header with its first commit; after this one, each commit
# is one fdatasync, so the armed count names the commit it means.
warm() {
	ec_csr "$1" r.example.com
	cli enroll --connector entrust --profile issue --csr "$T/$1.csr" --wait \
		>"$T/$1.out" 2>&1 || { cat "$T/$1.out" >&2; fail "enrollment $1"; }
	ids+=("$(cli list | grep -F "$1.r.example.com" | grep -oE '^order [0-9a-f]{16}' | cut -d' ' -f2)")
}

# 1-4. Killed after each sync an enrollment makes, in order:
#  1 the decision's record (nothing stored yet: no order, none owed);
#  2 the submission's intent (the order stored unsynced, which a killed
#    process leaves in the page cache: submitted after the restart);
#  3 the commit of "submitting", which carries the order too (the CA
#    may or may not have it: failed, "check at the CA", never sent
#    twice);
#  4 the certificate's commit (its record owed, written at the restart).
points=("fsync audit.log 1" "fsync audit.log 2" "fdatasync orders.db-wal 1"
	"fdatasync orders.db-wal 2")
for k in 1 2 3 4; do
	ec_csr "k$k" r.example.com
	start_armed "$k"
	warm "w$k"
	echo "${points[k - 1]}" >"$ARM"
	set +e
	cli enroll --connector entrust --profile issue --csr "$T/k$k.csr" --wait \
		>"$T/k$k.out" 2>&1
	set -e
	died_at "${points[k - 1]} of an enrollment"
	start_armed "$k.after"
	id=$(cli list | grep -F "k$k.r.example.com" | grep -oE '^order [0-9a-f]{16}' | cut -d' ' -f2 || true)
	want=
	case $k in
	1) [ -z "$id" ] || fail "killed before the order was stored: order $id exists" ;;
	2 | 4) want=issued ;;
	3) want=failed ;;
	esac
	if [ -n "$want" ]; then
		[ -n "$id" ] || fail "killed after ${points[k - 1]}: no order for k$k"
		ids+=("$id")
	fi
	settled "${ids[@]}"
	want_recovered=
	[ "$k" -eq 4 ] && want_recovered=$id
	check_records "killed after ${points[k - 1]}" "$want_recovered"
	[ -z "$want" ] || [ "$(state_of "$id")" = "$want" ] ||
		fail "killed after ${points[k - 1]}: order $id is $(state_of "$id"), not $want"
	note "killed after ${points[k - 1]} of an enrollment: ${id:-no order} ${want:-(none stored)}, every order on record (at ${SECONDS} s)"
	kill "$agent"; wait "$agent" 2>/dev/null || true
done
grep -q '"recovered":true' "$T/state/audit.log" || fail "no recovered record in the log"

# 5. Killed after the revocation's commit: the record owed, then written.
start_armed 5
warm rv
rid=${ids[-1]}
echo "fdatasync orders.db-wal 1" >"$ARM"
set +e
cli revoke --order "$rid" --reason superseded >"$T/rv2.out" 2>&1
set -e
died_at "the revocation's commit"
start_armed 5.after
[ "$(state_of "$rid")" = revoked ] || fail "killed after the revocation's commit: order $rid is $(state_of "$rid"), not revoked"
check_records "killed after the revocation's commit" "$rid"
grep "\"target\":\"$rid\"" "$T/state/audit.log" | grep '"event":"ca.revoke"' | grep -q '"recovered":true' ||
	fail "the revocation's record was not written at restart"
note "killed after the revocation's commit: revoked, its ca.revoke written at restart, marked recovered (at ${SECONDS} s)"

# 6. The log away when the certificate comes: stored, owed, and written
# once the log is back, without a restart. The gateway answers pending
# until its fifth poll (a second apart), so the log can go in between.
ec_csr away r.example.com
# Without --wait the CLI answers at once, the order not final (its exit
# status says so); the id is in what it prints.
cli enroll --connector entrust --profile pending-5 --csr "$T/away.csr" >"$T/away.out" 2>&1 || true
aid=$(grep -oE '^order [0-9a-f]{16}' "$T/away.out" | cut -d' ' -f2)
[ -n "$aid" ] || { cat "$T/away.out" >&2; fail "no order for the pending enrollment"; }
for _ in $(seq 1 100); do
	grep "\"target\":\"$aid\"" "$T/state/audit.log" | grep -q '"outcome":"pending"' && break
	sleep 0.05
done
grep "\"target\":\"$aid\"" "$T/state/audit.log" | grep -q '"outcome":"pending"' ||
	fail "order $aid never went pending"
mv "$T/state/audit.log" "$T/state/audit.log.away"
settled "$aid"
[ "$(state_of "$aid")" = issued ] || fail "the log away: order $aid is $(state_of "$aid"), not issued"
if grep "\"target\":\"$aid\"" "$T/state/audit.log.away" | grep -q '"outcome":"issued"'; then
	fail "the issued record went into the moved log"
fi
mv "$T/state/audit.log.away" "$T/state/audit.log"
for _ in $(seq 1 50); do
	grep "\"target\":\"$aid\"" "$T/state/audit.log" | grep -q '"recovered":true' && break
	sleep 0.1
done
check_records "the log away when the certificate came" "$aid"
note "audit log away when the certificate came: stored, its record written once the log was back (at ${SECONDS} s)"

# 7. A tracked certificate's renewal, killed after the tracked entry
# names the new order and before the order is stored (the sync after the
# renew request's own). The restarted agent finds the order gone, says
# so, and makes one renewal order. Pointed after the store, as before,
# the same kill left a stored order no tracked entry followed: it was
# submitted at the restart, and the next tick made a second one.
# renew_armed NAME HOST ARM: a new order for HOST tracked as NAME (its id
# in $old), then renewed with the library armed as ARM says.
renew_armed() {
	warm "$2"
	old=${ids[-1]}
	cli track "$1" --order "$old" >"$T/$1.out" 2>&1 || { cat "$T/$1.out" >&2; fail "track $1 --order"; }
	echo "$3" >"$ARM"
	cli renew "$1" >"$T/$1-renew.out" 2>&1 || { cat "$T/$1-renew.out" >&2; fail "renew $1"; }
}
# renew_failed NAME WHY: NAME's renewal is on record as failed, for WHY.
renew_failed() {
	grep '"event":"track.renew"' "$T/state/audit.log" | grep "\"target\":\"$1\"" |
		grep '"outcome":"failed"' | grep -q "$2"
}
kill "$agent"; wait "$agent" 2>/dev/null || true
start_armed 7
renew_armed trk tr "fdatasync orders.db-wal 2"
died_at "the renewal's tracked entry"
start_armed 7.after
# tracked_issued NAME: the order the tracked certificate NAME follows.
tracked_issued() {
	cli --json tracked | python3 -c 'import json,sys; print([t for t in json.load(sys.stdin)["tracked"] if t["name"] == sys.argv[1]][0].get("issued_order") or "")' "$1"
}
# one_renewal NAME OLD-ORDER HOST WHEN: NAME comes to follow a new order,
# the one renewal made for HOST, and issued; its id in $renewal.
one_renewal() {
	local n
	for _ in $(seq 1 100); do
		[ "$(tracked_issued "$1")" != "$2" ] && break
		sleep 0.2
	done
	renewal=$(tracked_issued "$1")
	[ "$renewal" != "$2" ] || fail "$4: the tracked certificate was not renewed"
	# Two ticks more: a second renewal order would be made by now.
	sleep 2.5
	n=$(cli list | grep -F "$3" | grep -cv "^order $2" || true)
	[ "$n" -eq 1 ] || { cli list >&2; fail "$4: the renewal was made $n times, not once"; }
	[ "$(state_of "$renewal")" = issued ] || fail "$4: renewal order $renewal is $(state_of "$renewal"), not issued"
}
one_renewal trk "$old" tr.r.example.com "killed after the tracked entry"
renew_failed trk 'its order is gone' ||
	fail "the renewal killed before its order was stored: no record of why"
check_records "killed after the renewal's tracked entry"
note "renewal killed after its tracked entry named the order, before the store: its order found gone and recorded, one renewal made, issued (at ${SECONDS} s)"

# 8. The same instant, but the disk fills instead of the agent dying:
# the order's write to the write-ahead log fails (ENOSPC, once; then
# space is back). The renewal is on record as failed with its order
# "cannot store", nothing half-made is left, the agent stays up, and
# the next try makes one renewal, issued.
kill "$agent"; wait "$agent" 2>/dev/null || true
start_armed 8
renew_armed tfull tf "fdatasync orders.db-wal 2 full 1"
for _ in $(seq 1 100); do
	renew_failed tfull 'cannot store the order' && break
	sleep 0.2
done
[ ! -e "$ARM" ] || fail "the disk-full renewal: the armed sync never came"
kill -0 "$agent" 2>/dev/null || fail "the agent died when the disk filled"
renew_failed tfull 'cannot store the order' ||
	fail "the renewal whose order could not be written: no record of why"
one_renewal tfull "$old" tf.r.example.com "a full disk after the tracked entry"
check_records "a full disk after the renewal's tracked entry"
note "disk full after the renewal's tracked entry named the order: the store failed and was recorded, the agent stayed up, one renewal made, issued (at ${SECONDS} s)"
