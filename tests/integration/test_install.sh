# test_install.sh - make install into a DESTDIR with the GNU directory
# variables: every file lands under DESTDIR at its directory, nothing is
# written outside it, no installed file names DESTDIR; the man pages
# are lint-clean (mandoc -T lint -W warning); the installed units pass
# systemd-analyze verify (where systemd-analyze exists) and the
# service's offline security exposure is reported; make uninstall
# removes exactly what install wrote.
. "$(dirname "$0")/lib.sh"

# It checks a plain build of its own, never the suite's: under make asan
# or make valgrind it would check the same thing again, at a minute's cost.
if [ -n "${HSMAGENT_SUITE_VARIANT:-}" ]; then
	echo "SKIP: make install builds its own plain build: checked by make test, not again by make $HSMAGENT_SUITE_VARIANT"
	exit 0
fi
DEST=$T/dest
# A prefix that does not exist on this host: install must not create it.
PFX=/opt/hsmagent-install-test-$$
[ ! -e "$PFX" ] || fail "$PFX exists already"
# As an operator does: a plain "make" first, then "make install" naming
# the directories (a build of its own: the suite's is not touched).
IB=$T/build
make -s -j2 -C "$ROOT" BUILD="$IB" all >"$T/make.out" 2>&1 || { cat "$T/make.out" >&2; fail "make"; }
mk() { make -s -C "$ROOT" BUILD="$IB" prefix="$PFX" sysconfdir="$PFX/etc" \
	mandir="$PFX/man" systemdunitdir="$PFX/units" "$@"; }
mk install DESTDIR="$DEST" >"$T/install.out" 2>&1 || { cat "$T/install.out" >&2; fail "make install"; }
# The installed programs name the directories given to make install,
# not the ones of the first make.
rc=0
"$DEST$PFX/sbin/hsmagentd" -t >"$T/t.out" 2>&1 || rc=$?
expect_in "$T/t.out" "$PFX/etc/hsmagent/hsmagentd.conf" "the installed daemon's default configuration"
grep -q "$PFX/libexec/hsmagent/hsmagent-connector" "$DEST$PFX/sbin/hsmagentd" ||
	fail "the installed daemon's default connector_path is not under $PFX"
grep -q "/usr/local/etc/hsmagent" "$DEST$PFX/sbin/hsmagentd" &&
	fail "the installed daemon still names /usr/local/etc"
note "make, then make install prefix=$PFX: the daemon reads $PFX/etc/hsmagent/hsmagentd.conf (exit $rc without one)"

[ ! -e "$PFX" ] || { rm -rf "$PFX"; fail "make install wrote outside DESTDIR ($PFX)"; }

expect_files="sbin/hsmagentd bin/hsmagent libexec/hsmagent/hsmagent-connector
libexec/hsmagent/hsmagent-tools
etc/hsmagent/hsmagentd.conf.example etc/hsmagent/policy.conf.example
man/man1/hsmagent.1 man/man5/hsmagentd.conf.5 man/man5/hsmagent-policy.5
man/man8/hsmagentd.8 units/hsmagentd.service units/hsmagentd.socket
lib/sysusers.d/hsmagent.conf share/doc/hsmagent/README.md
share/doc/hsmagent/SECURITY.md share/doc/hsmagent/POLICY.md"
for f in $expect_files; do
	[ -f "$DEST$PFX/$f" ] || fail "not installed: $PFX/$f"
done
n=$(find "$DEST" -type f | wc -l)
[ "$n" -eq "$(echo $expect_files | wc -w)" ] || { find "$DEST" -type f >&2; fail "$n files installed, expected $(echo $expect_files | wc -w)"; }
[ "$(find "$DEST" -mindepth 1 -maxdepth 1)" = "$DEST/opt" ] || fail "files outside the prefix"
[ "$(stat -c %a "$DEST$PFX/sbin/hsmagentd")" = 755 ] || fail "hsmagentd mode"
[ "$(stat -c %a "$DEST$PFX/man/man8/hsmagentd.8")" = 644 ] || fail "man page mode"
if grep -rl "$DEST" "$DEST" >"$T/leak"; then cat "$T/leak" >&2; fail "an installed file names DESTDIR"; fi
grep -q "^ExecStart=$PFX/sbin/hsmagentd -c $PFX/etc/hsmagent/hsmagentd.conf$" "$DEST$PFX/units/hsmagentd.service" ||
	fail "the unit does not name the installed daemon"
grep -q "$PFX/etc/hsmagent/hsmagentd.conf" "$DEST$PFX/man/man8/hsmagentd.8" || fail "the man page does not name the config"
note "make install: $n files under DESTDIR, none outside, DESTDIR named nowhere"

# The installed hsmagent links no libcrypto and runs its audit commands
# through the installed hsmagent-tools (../libexec/hsmagent from it).
! ldd "$DEST$PFX/bin/hsmagent" | grep -q libcrypto || fail "the installed hsmagent links libcrypto"
"$DEST$PFX/bin/hsmagent" audit vkey --key "$CKPT_PUB_PEM" --origin install.test >"$T/vkey" 2>&1 ||
	{ cat "$T/vkey" >&2; fail "the installed hsmagent cannot run audit vkey"; }
grep -Eq '^install\.test\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$' "$T/vkey" || { cat "$T/vkey" >&2; fail "audit vkey printed no verifier key"; }
# Without hsmagent-tools: one line saying what is missing, exit 1.
mkdir -p "$T/lone"
cp "$DEST$PFX/bin/hsmagent" "$T/lone/"
rc=0; "$T/lone/hsmagent" audit verify /dev/null >"$T/lone.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "audit without hsmagent-tools: exit $rc, expected 1"
expect_in "$T/lone.out" "hsmagent-tools not found" "audit without hsmagent-tools names it"
note "installed hsmagent: no libcrypto; audit runs through libexec/hsmagent/hsmagent-tools; without it: '$(head -c 80 "$T/lone.out")...'"

mandoc -T lint -W warning "$DEST$PFX"/man/man*/* >"$T/lint" 2>&1 || { cat "$T/lint" >&2; fail "man pages not lint-clean"; }
note "man pages lint-clean: $(cd "$DEST$PFX/man" && echo man*/*)"

if command -v systemd-analyze >/dev/null; then
	# An offline root: the installed tree at its real paths, with the
	# host's targets and slices the units refer to.
	R=$T/vroot
	mkdir -p "$R/usr/lib/systemd/system" "$R/bin"
	cp -a "$DEST/opt" "$R/"
	cp /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice \
		"$R/usr/lib/systemd/system/" 2>/dev/null || true
	cp /bin/kill "$R/bin/"
	cp "$R$PFX/units/hsmagentd.service" "$R$PFX/units/hsmagentd.socket" "$R/usr/lib/systemd/system/"
	systemd-analyze verify --root="$R" --man=no "$R/usr/lib/systemd/system/hsmagentd.service" \
		"$R/usr/lib/systemd/system/hsmagentd.socket" >"$T/verify" 2>&1 ||
		{ cat "$T/verify" >&2; fail "systemd-analyze verify"; }
	[ ! -s "$T/verify" ] || { cat "$T/verify" >&2; fail "systemd-analyze verify complains"; }
	if systemd-analyze security --offline=true --root="$R" \
		"$R/usr/lib/systemd/system/hsmagentd.service" >"$T/security" 2>&1; then
		score=$(sed -n 's/.*Overall exposure level for hsmagentd.service: \([0-9.]*\).*/\1/p' "$T/security")
		note "systemd-analyze verify: clean; security (offline): exposure $score"
	else
		note "systemd-analyze verify: clean; security: cannot run here"
	fi
else
	note "systemd-analyze not installed: unit verification skipped"
fi

mk uninstall DESTDIR="$DEST" >"$T/uninstall.out" 2>&1 || { cat "$T/uninstall.out" >&2; fail "make uninstall"; }
if [ -n "$(find "$DEST" -type f)" ]; then find "$DEST" -type f >&2; fail "make uninstall left files"; fi
for d in libexec/hsmagent etc/hsmagent share/doc/hsmagent; do
	[ ! -e "$DEST$PFX/$d" ] || fail "make uninstall left $d"
done
note "make uninstall: every installed file removed, the package's directories too"
echo "test_install: ok"
