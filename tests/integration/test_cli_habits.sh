# test_cli_habits.sh - the client as an operator used to getcert,
# ssh-agent and GNU tools types it: help on stdout with exit 0, a
# command's own help, --version without an agent, a bad value named,
# --json anywhere, HSMAGENT_SOCKET, serials as openssl prints them, SAN
# types in any case, a DER CSR named with the fix, an unknown connector
# named with the configured ones, health's Nagios line.
. "$(dirname "$0")/lib.sh"

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock

# Without an agent.
rc=0; "$CLI" --help >"$T/help.out" 2>"$T/help.err" || rc=$?
[ "$rc" -eq 0 ] || fail "--help: exit $rc"
[ ! -s "$T/help.err" ] || fail "--help wrote to stderr"
expect_in "$T/help.out" '^  enroll --connector' "--help lists enroll"
expect_in "$T/help.out" 'HSMAGENT_SOCKET' "--help names the environment variable"
"$CLI" -h >"$T/h.out" && cmp -s "$T/h.out" "$T/help.out" || fail "-h differs from --help"
rc=0; "$CLI" enroll --help >"$T/eh.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "enroll --help: exit $rc"
expect_in "$T/eh.out" '--connector NAME' "enroll --help"
expect_not_in "$T/eh.out" 'revoke' "enroll --help shows only enroll"
rc=0; "$CLI" --socket /nonexistent/s.sock --version >"$T/v.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "--version without an agent: exit $rc"
expect_in "$T/v.out" '^hsmagent [0-9]' "--version"
rc=0; "$CLI" enroll --connector x --profile y --csr /dev/null --validity ten 2>"$T/bad.err" || rc=$?
[ "$rc" -eq 2 ] || fail "a bad --validity: exit $rc, expected 2"
expect_in "$T/bad.err" '--validity: expected whole days, 1 to 825, got "ten"' "a bad value is named"
[ "$(wc -l <"$T/bad.err")" -le 2 ] || fail "a bad value printed the whole usage"
rc=0; "$CLI" --socket /nonexistent/s.sock health >"$T/nh.out" 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "health without an agent: exit $rc, expected 3"
expect_in "$T/nh.out" '^HSMAGENT UNKNOWN - ' "health without an agent says so on stdout"
note "no agent: --help/-h/enroll --help on stdout (exit 0), --version, bad value named (exit 2), health UNKNOWN (exit 3)"

start_cagw ca1
cat >"$T/policy.conf" <<EOF
[rule c]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.c.example.com
max_validity_days = 30
key_types = ec:p256
EOF
entrust_config "$CLIENT_EC_CRT"
start_agent
wait_validated

# HSMAGENT_SOCKET, and --json after the command.
HSMAGENT_SOCKET=$SOCK "$CLI" health >"$T/h1.out" || fail "HSMAGENT_SOCKET not used"
head -n1 "$T/h1.out" | grep -Eq '^HSMAGENT OK - all [0-9]+ checks ok \| checks_ok=[0-9]+ checks_failing=0$' ||
	{ cat "$T/h1.out" >&2; fail "health's first line is not a Nagios OK line"; }
HSMAGENT_SOCKET=$SOCK "$CLI" health --json >"$T/h2.out" || fail "health --json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/h2.out" || fail "--json after the command: not JSON"
note "HSMAGENT_SOCKET used, --json after the command, health's Nagios line"

# What the caller may ask for.
"$CLI" --socket "$SOCK" offers >"$T/offers.out" || fail "offers"
expect_in "$T/offers.out" '^CONNECTOR \(TYPE\)  PROFILE  MAX DAYS  APPROVAL  RULE$' "offers: a header"
expect_in "$T/offers.out" '^entrust \(entrust\)  issue  30  no  c$' "offers: the rule's connector and profile"
note "offers: $(sed -n 2p "$T/offers.out")"

# An empty list says so.
"$CLI" --socket "$SOCK" list >"$T/l0.out" || fail "list"
expect_in "$T/l0.out" '^no orders of yours' "an empty list says so"

# SAN types in upper case; the serial as openssl prints it.
ec_csr up c.example.com
"$CLI" --socket "$SOCK" enroll --connector entrust --profile issue --csr "$T/up.csr" \
	--san DNS:up.c.example.com --wait --out "$T/up.crt" >"$T/up.out" 2>&1 ||
	{ cat "$T/up.out" >&2; fail "--san DNS: (upper case)"; }
serial=$(openssl x509 -in "$T/up.crt" -noout -serial)
colons=$(echo "${serial#serial=}" | sed 's/../&:/g; s/:$//')
rc=0; "$CLI" --socket "$SOCK" revoke --serial "$colons" --reason superseded >"$T/rv.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/rv.out" >&2; fail "revoke --serial $colons: exit $rc"; }
ec_csr up2 c.example.com
"$CLI" --socket "$SOCK" enroll --connector entrust --profile issue --csr "$T/up2.csr" \
	--wait --out "$T/up2.crt" >/dev/null 2>&1 || fail "second enrollment"
serial2=$(openssl x509 -in "$T/up2.crt" -noout -serial)
rc=0; "$CLI" --socket "$SOCK" revoke --serial "$serial2" >"$T/rv2.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/rv2.out" >&2; fail "revoke --serial $serial2: exit $rc"; }
rc=0; "$CLI" --socket "$SOCK" revoke --serial "12:zz" 2>"$T/rv3.err" || rc=$?
[ "$rc" -eq 2 ] || fail "a serial that is not hex: exit $rc"
expect_in "$T/rv3.err" 'revoke --serial: expected a serial in hex' "a bad serial is named"
note "--san DNS:, revoke --serial ${colons:0:11}... and $serial2 (openssl's forms)"

"$CLI" --socket "$SOCK" list >"$T/l1.out" || fail "list"
head -n1 "$T/l1.out" | grep -q '^ORDER: STATE  CONNECTOR/PROFILE' || fail "list has no header"
expect_in "$T/l1.out" ': revoked  entrust/issue .* sans dns:up\.c\.example\.com' "list shows the SANs"
note "list: 'no orders of yours' when empty, then a header and each order's SANs"

# A DER CSR: named, with the command that converts it, which works.
ec_csr der c.example.com
openssl req -in "$T/der.csr" -outform DER -out "$T/der.der"
rc=0; "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue --csr "$T/der.der" 2>"$T/der.err" || rc=$?
[ "$rc" -eq 2 ] || fail "DER CSR: exit $rc, expected 2"
expect_in "$T/der.err" 'is a DER \(binary\) CSR' "DER CSR named"
fix=$(sed -n 's/.*takes PEM: //p' "$T/der.err")
[ -n "$fix" ] || fail "no conversion command"
(cd "$T" && eval "$fix") || fail "the suggested command failed: $fix"
"$CLI" --socket "$SOCK" enroll --connector entrust --profile issue --csr "$T/der.der.pem" \
	--wait >/dev/null 2>&1 || fail "enroll with the converted CSR"
note "DER CSR: named, '$fix' converts it, then issued"

# An unknown connector: named, with the configured ones; not a denial.
rc=0; "$CLI" --socket "$SOCK" enroll --connector entrsut --profile issue --csr "$T/up.csr" 2>"$T/uc.err" || rc=$?
[ "$rc" -eq 1 ] || fail "unknown connector: exit $rc, expected 1"
expect_in "$T/uc.err" 'no connector "entrsut" is configured; configured: entrust' "unknown connector"
grep '"event":"order.request"' "$T/state/audit.log" | grep '"outcome":"refused"' |
	grep -q 'no such connector' || fail "the refusal is not audited"
note "unknown connector: $(sed 's/^hsmagent: //' "$T/uc.err")"
