# test_walls.sh - the build keeps the walls between rooms (ARCHITECTURE.md):
# a file of each room that includes a header across its wall does not
# compile with the flags make gives that room, while the headers it may
# use do. The flags come from the Makefile itself (make room-cflags-ROOM),
# so a room given another's include path fails here.
. "$(dirname "$0")/lib.sh"

cd "$ROOT"
# compiles ROOM HEADER: does '#include "HEADER"' compile in ROOM?
compiles() {
	local flags
	flags=$(make -s --no-print-directory BUILD="$BUILD" "room-cflags-$1")
	# shellcheck disable=SC2086
	printf '#include "%s"\nint wall_probe(void);\nint wall_probe(void) { return 0; }\n' "$2" |
		${CC:-cc} $flags -fsyntax-only -x c - 2>"$T/err"
}
denied=0
wall() {	# ROOM HEADER...: each must not compile there
	local room=$1 h
	shift
	for h in "$@"; do
		if compiles "$room" "$h"; then
			fail "$room/ may include $h: the wall is open"
		fi
		grep -q "$h: No such file" "$T/err" ||
			{ cat "$T/err" >&2; fail "$room/ + $h failed for another reason"; }
		denied=$((denied + 1))
	done
}
door() {	# ROOM HEADER...: each must compile there
	local room=$1 h
	shift
	for h in "$@"; do
		compiles "$room" "$h" || { cat "$T/err" >&2; fail "$room/ cannot include $h"; }
	done
}

# The child: common/ and its own folder, nothing of the parent.
door connectors ipc.h connector.h child.h acme_jws.h
wall connectors hsm.h hsm_account.h config.h policy.h sign_policy.h \
	acme_sign_policy.h agent.h audit.h orders.h api_server.h acme_signer.h
# The leaves: common/ and themselves.
door policy policy.h acme_url_pin.h ipc.h
wall policy hsm.h config.h agent.h connector.h audit.h
door hsm hsm.h hsm_account.h p11uri.h
wall hsm config.h agent.h policy.h connector.h audit.h
door audit audit.h util.h
wall audit agent.h config.h hsm.h connector.h
door common ipc.h buf.h api_limits.h
wall common agent.h connector.h hsm.h policy.h config.h
# The client: the log it verifies and the wire's limits, not the parent.
door client audit.h api_limits.h
wall client agent.h config.h hsm.h api_request.h orders.h connector.h
# The parent's rooms: each other and the leaves, never the child's.
for r in agent config api orders; do
	door "$r" agent.h config.h api_server.h orders.h audit.h hsm.h policy.h
	wall "$r" connector.h child.h keyproxy.h sandbox.h
done
note "$denied includes across a wall refused by the build; every room's own headers compile"

# ARCHITECTURE.md names files and functions: each must exist where it says.
python3 - "$ROOT" <<'PY' || fail "ARCHITECTURE.md names what is not there"
import os, re, sys
root = sys.argv[1]
text = open(os.path.join(root, "ARCHITECTURE.md")).read()
paths = set(re.findall(r"`((?:agent|api|audit|client|common|config|connectors|hsm|orders|policy|tests|fuzz)/[A-Za-z0-9_/.]+\.(?:c|h|sh))`", text))
missing = [p for p in sorted(paths) if not os.path.exists(os.path.join(root, p))]
# "`file.c` (`function`)": the function is defined in that file.
bad = []
for f, fn in re.findall(r"`([a-z]+/[a-z0-9_]+\.c)` \(`([a-z0-9_]+)`", text):
    src = open(os.path.join(root, f)).read()
    if not re.search(r"^" + fn + r"\(", src, re.M):
        bad.append(f + ": " + fn)
assert len(paths) >= 30, len(paths)
assert not missing and not bad, (missing, bad)
print("  ARCHITECTURE.md: %d paths, every one present" % len(paths))
PY
echo "test_walls: ok"
