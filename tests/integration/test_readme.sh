# test_readme.sh - every example in README.md, so that the documentation
# and the behaviour cannot drift: tests/tools/readme_blocks.py takes the
# fenced blocks out (any block not marked as an example must be "text"),
# with the README's hosts and paths mapped to this test's (the MAP
# below). Then: the configuration and each connector section pass
# hsmagentd -t, each policy passes -t with it, each unit (and each
# drop-in, on the unit make install puts in place) passes
# systemd-analyze verify, and each shell example runs in order (in a
# work directory, with hsmagent pointed at the agent's socket) against
# the agent serving that configuration and the main policy, a fake
# Entrust gateway and a SoftHSM token of its own (and, for the TPM
# example, a software TPM); each must exit 0, or the exit=N its block
# names.
. "$(dirname "$0")/lib.sh"

SOCK=$T/run/hsmagent.sock
mkdir -p "$T/run" "$T/log" "$T/state" "$T/work" "$T/bin" "$T/textfile" "$T/creds"
chmod 0700 "$T/log" "$T/state" "$T/creds"
start_cagw "PKIaaS~ca1"
# The agent's PIN as systemd would hand it over (LoadCredential=).
install -m 0600 "$PIN_FILE" "$T/creds/hsm-pin"
secret_file "$T/creds/hsm-pin" "$T/new-pin" "$T/tpm-pin"
(umask 077; echo "readme-pw-$(openssl rand -hex 12)" >"$T/sectigo.pw")
secret_file "$T/sectigo.pw"
# The ACME example's EAB HMAC key, as a CA would hand it out.
(umask 077; openssl rand 48 | basenc --base64url -w0 | tr -d '=' >"$T/acme-eab.key")
secret_file "$T/acme-eab.key"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T/tokens" >"$T/softhsm2.conf"
mkdir -p "$T/tokens"

tab=$(printf '\t')
cat >"$T/map" <<EOF
/etc/hsmagent/hsmagentd.conf${tab}$T/hsmagentd.conf
/etc/hsmagent/policy.conf${tab}$T/policy.conf
/etc/hsmagent/client.pem${tab}$CLIENT_EC_CRT
/etc/hsmagent/gateway-ca.pem${tab}$CA_CRT
/etc/hsmagent/sectigo.pw${tab}$T/sectigo.pw
/etc/hsmagent/acme-eab.key${tab}$T/acme-eab.key
/etc/hsmagent/pin${tab}$T/new-pin
/etc/hsmagent/tpm-pin${tab}$T/tpm-pin
device:/dev/tpmrm0${tab}tabrmd:bus_type=session
/etc/softhsm/softhsm2.conf${tab}$T/softhsm2.conf
/usr/local/libexec/hsmagent/hsmagent-connector${tab}$CONNECTOR
/usr/lib/softhsm/libsofthsm2.so${tab}$HSM_MODULE
pkcs11:token=gateway;object=gw-ec;type=private${tab}$EC_KEY_URI
pkcs11:token=gateway;object=acme-account;type=private${tab}$ACME_EC_KEY_URI
/run/hsmagent/hsmagent.sock${tab}$SOCK
/run/hsmagent/empty${tab}$T/run/empty
/var/lib/hsmagent${tab}$T/state
/var/log/hsmagent${tab}$T/log
/var/lib/prometheus/node-exporter${tab}$T/textfile
/etc/ssl${tab}$T/ssl
https://gateway.example.com/cagw${tab}https://localhost:$port/cagw
systemctl reload nginx${tab}true
child_user = hsmagent${tab}child_user = nobody\\nconnector_path = $CONNECTOR
group = hsmagent-clients${tab}group = root
server-tls${tab}issue
EOF
python3 "$ROOT/tests/tools/readme_blocks.py" "$ROOT/README.md" "$T/map" "$T/blocks" >"$T/kinds" ||
	fail "README.md: $(cat "$T/kinds")"
for k in config connector policy test unit; do
	grep -q "\b$k=[1-9]" "$T/kinds" || fail "README.md has no readme-$k example: $(cat "$T/kinds")"
done
B=$T/blocks

# Configuration, connector sections, policies: hsmagentd -t.
[ "$(ls "$B"/*-config | wc -l)" -eq 1 ] || fail "one readme-config block expected"
cp "$B"/*-config "$T/hsmagentd.conf"
cp "$B"/*-policy-main "$T/policy.conf"
check() {	# WHAT CONFIG
	"$HSMAGENTD" -t -c "$2" >"$T/t.out" 2>&1 || { cat "$2" "$T/t.out" >&2; fail "README $1 does not pass hsmagentd -t"; }
}
check "configuration" "$T/hsmagentd.conf"
n=0
for f in "$B"/*-connector; do
	{ cat "$T/hsmagentd.conf"; echo; cat "$f"; } >"$T/c.conf"
	check "connector example $(basename "$f")" "$T/c.conf"
	n=$((n + 1))
done
# The policies name the connectors the examples above configure: -t
# refuses a rule that names one not configured.
cp "$T/hsmagentd.conf" "$T/all.conf"
for f in "$B"/*-connector; do { echo; cat "$f"; } >>"$T/all.conf"; done
for f in "$B"/*-policy*; do
	sed "s|^policy = .*|policy = $f|" "$T/all.conf" >"$T/c.conf"
	check "policy example $(basename "$f")" "$T/c.conf"
	n=$((n + 1))
done
note "configuration, $n connector and policy examples: hsmagentd -t passes"

# Units: systemd-analyze verify in an offline root.
if command -v systemd-analyze >/dev/null; then
	R=$T/vroot
	mkdir -p "$R/usr/lib/systemd/system" "$R/etc/systemd/system" "$R/usr/local/bin"
	cp /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice \
		"$R/usr/lib/systemd/system/" 2>/dev/null || true
	cp "$BUILD/hsmagent" "$R/usr/local/bin/hsmagent"
	units=()
	for f in "$B"/*-unit-*; do
		u=${f##*-unit-}
		cp "$f" "$R/etc/systemd/system/$u"
		units+=("$R/etc/systemd/system/$u")
	done
	# Drop-ins go on the unit make install puts in place, made here for
	# the default prefix, with what it runs.
	make -s -C "$ROOT" BUILD="$T/gen" "$T/gen/systemd/hsmagentd.service" ||
		fail "cannot make the hsmagentd unit"
	mkdir -p "$R/usr/local/sbin" "$R/bin"
	cp "$T/gen/systemd/hsmagentd.service" "$R/usr/lib/systemd/system/"
	cp "$BUILD/hsmagentd" "$R/usr/local/sbin/hsmagentd"
	cp /bin/kill "$R/bin/"
	nd=0
	for f in "$B"/*-dropin-*; do
		[ -e "$f" ] || continue
		u=${f##*-dropin-}
		mkdir -p "$R/etc/systemd/system/$u.d"
		cp "$f" "$R/etc/systemd/system/$u.d/readme-$nd.conf"
		units+=("$R/usr/lib/systemd/system/$u")
		nd=$((nd + 1))
	done
	systemd-analyze verify --root="$R" --man=no "${units[@]}" >"$T/verify" 2>&1 &&
		[ ! -s "$T/verify" ] || { cat "$T/verify" >&2; fail "README units: systemd-analyze verify"; }
	note "units (${#units[@]}, $nd with a drop-in): systemd-analyze verify clean"
fi

# The shell examples, against the agent serving that configuration.
CREDENTIALS_DIRECTORY=$T/creds "$HSMAGENTD" -c "$T/hsmagentd.conf" 2>"$T/agent.err" &
agent=$!
PIDS+=("$agent")
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$T/agent.err" >&2; fail "the README's configuration does not serve"; }
wait_validated
printf '#!/bin/sh\nexec "%s" --socket "%s" "$@"\n' "$BUILD/hsmagent" "$SOCK" >"$T/bin/hsmagent"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$HSMAGENTD" >"$T/bin/hsmagentd"
chmod 0755 "$T/bin/hsmagent" "$T/bin/hsmagentd"
# The TPM example (readme-test tpm) needs a TPM: a software one
# (tpm-fixtures/tpm-token.sh: swtpm, a private D-Bus, tpm2-abrmd), which
# the map's TCTI points at. Where swtpm cannot start, that one example
# is skipped, saying so.
. "$ROOT/tpm-fixtures/tpm-token.sh"
CLEANUP_HOOK=tpm_token_stop
tpm=0
tpm_start_tpm "$T/tpm" >"$T/tpm.log" 2>&1 || tpm=$?
case $tpm in
0) find "$T/tpm/swtpm" -type f >>"$T/.not-scanned" ;;
2) note "SKIP the TPM example: $TPM_SKIP_REASON" ;;
*) cat "$T/tpm.log" >&2; fail "the software TPM for the README's TPM example" ;;
esac
n=0
for f in "$B"/*-test*; do
	case $f in *-test-tpm*) [ "$tpm" -eq 0 ] || continue ;; esac
	want=0
	case $f in *-exit=*) want=${f##*-exit=} ;; esac
	rc=0
	(cd "$T/work" && PATH=$T/bin:$PATH bash -e -o pipefail "$f") >"$T/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$f" "$T/out" >&2; tail -n 20 "$T/agent.err" >&2; fail "README example $(basename "$f"): exit $rc, expected $want"; }
	n=$((n + 1))
done
# What the examples claim, seen from outside.
[ -s "$T/ssl/web.crt" ] || fail "the fetch example wrote no certificate"
python3 "$ROOT/tests/tools/prom_check.py" "$T/textfile/hsmagent.prom" hsmagent_orders ||
	fail "the node_exporter recipe wrote no valid metrics"
grep '"event":"order.request"' "$T/log/audit.log" | grep -q '"outcome":"denied"' ||
	grep -q '"outcome":"denied"' "$T/log/audit.log" || fail "the refused example is not in the audit log"
ls "$T/tokens"/*/token.object >/dev/null 2>&1 || fail "the SoftHSM example made no token"
"$BUILD/hsmagent" audit verify "$T/log/audit.log" >/dev/null || fail "audit chain"
if [ "$tpm" -eq 0 ]; then
	ls "$T/state/tpm2-pkcs11"/*.sqlite3 >/dev/null 2>&1 || fail "the TPM example made no store"
	openssl req -in "$T/work/gw-tpm.csr" -noout -verify >/dev/null 2>&1 ||
		fail "the TPM example's CSR does not verify"
	find "$T/state/tpm2-pkcs11" -type f >>"$T/.not-scanned"
fi
note "$n shell examples ran as documented (certificate, refusal, fetch, revoke, health, metrics file, token)"
echo "test_readme: ok"
