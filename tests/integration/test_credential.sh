# test_credential.sh - rotating the gateway credential inside the HSM:
# "hsmagent credential new" makes a key in the token (attributes checked
# with pkcs11-tool) and a CSR signed there (checked with openssl); the
# certificate the CA returns is installed and the next enrollment
# presents it; "credential retire" destroys the old key. On a token of
# its own: retiring the shared fixture key would break the other tests.
. "$(dirname "$0")/lib.sh"

own_token

CLI=$BUILD/hsmagent
SOCK=$T/agent.sock
chmod 0755 "$T"		# a second user tries the socket
start_cagw ca1
cat >"$T/policy.conf" <<EOF
[admins]
users = root
[rule c]
callers = user:root
connectors = entrust
profiles = issue
san_dns = *.c.example.com
max_validity_days = 30
key_types = ec:p256
EOF
cp "$CLIENT_EC_CRT" "$T/client.pem"
entrust_config "$T/client.pem" "mode = 0666"
start_agent

enroll() {	# NAME
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -out "$T/$1.csr" -subj "/CN=$1.c.example.com" \
		-addext "subjectAltName=DNS:$1.c.example.com" 2>/dev/null
	timeout 30 "$CLI" --socket "$SOCK" enroll --connector entrust --profile issue \
		--csr "$T/$1.csr" --wait >"$T/$1.out" 2>&1 || { cat "$T/$1.out" >&2; fail "enroll $1"; }
}
# The token's private keys as pkcs11-tool describes them. The PIN of this
# throwaway test token goes in argv here, as in make-fixtures.sh.
privkeys() {
	pkcs11-tool --module "$HSM_MODULE" --token-label "$TOKEN_LABEL" --login \
		--pin "$(cat "$PIN_FILE")" --list-objects --type privkey 2>/dev/null
}

enroll before
[ "$(last_client)" = "$(serial_of "$CLIENT_EC_CRT") hsmagent-client-ec" ] ||
	fail "first enrollment used $(last_client)"

# A non-admin may not touch the credential.
set +e
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CLI" --socket "$SOCK" \
	credential new --csr-out /dev/null >"$T/nobody.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 11 ] || { cat "$T/nobody.out" >&2; fail "non-admin credential new: exit $rc, expected 11"; }

"$CLI" --socket "$SOCK" credential new --csr-out "$T/new.csr" >"$T/new.out" 2>&1 ||
	{ cat "$T/new.out" >&2; fail "credential new"; }
newid=$(sed -n 's/.*(id \([0-9a-f]*\)).*/\1/p' "$T/new.out")
label=$(sed -n 's/^key \(hsmagent-[0-9TZ]*\) .*/\1/p' "$T/new.out")
[ ${#newid} -eq 32 ] && [ -n "$label" ] || { cat "$T/new.out" >&2; fail "credential new: no key id or label"; }
openssl req -in "$T/new.csr" -noout -verify 2>&1 | grep -q 'verify OK' ||
	fail "the CSR's signature does not verify"
openssl req -in "$T/new.csr" -noout -subject | grep -q 'CN = hsmagent-client-ec' ||
	fail "the CSR does not ask for the current certificate's name"
privkeys >"$T/keys.txt"
python3 - "$T/keys.txt" "$label" <<'PY' || { cat "$T/keys.txt" >&2; fail "new key attributes"; }
import sys
text, label = open(sys.argv[1]).read(), sys.argv[2]
blocks = text.split("Private Key Object")
b = [x for x in blocks if "label:      %s" % label in x]
assert len(b) == 1, "new key not listed once"
b = b[0]
assert b.startswith("; EC"), b
access = b.split("Access:")[1].split("\n")[0]
for want in ("sensitive", "always sensitive", "never extractable", "local"):
    assert want in access, (want, b)
assert ", extractable" not in access, b
assert "Usage:      sign" in b, b
assert "decrypt" not in b.split("Usage:")[1].split("\n")[0], b
PY
grep '"event":"credential.new"' "$T/state/audit.log" | grep '"outcome":"ok"' >/dev/null ||
	fail "credential new not audited"
note "credential new: $label in the token (sensitive, never extractable, local, sign only); CSR signed there verifies"

# The old key is still the one in use until the certificate comes.
enroll still-old
[ "$(last_client)" = "$(serial_of "$CLIENT_EC_CRT") hsmagent-client-ec" ] ||
	fail "switched keys before the certificate was installed"

# The CA's answer, installed in place of the client certificate.
retirable=$(install_client_cert 365)
[ "$retirable" = 01 ] || { cat "$T/health.json" >&2; fail "the old key (id 01) not reported retirable"; }
enroll after
[ "$(last_client)" = "$(serial_of "$T/client.pem") hsmagent-client-ec" ] ||
	fail "the next enrollment used $(last_client), not the new certificate"
note "certificate installed: the next enrollment presented it; old key 01 reported retirable"

# The old key is still what [hsm] key_uri names: retiring it would stop
# the next start, so it is refused, naming the line to change.
set +e
"$CLI" --socket "$SOCK" credential retire >"$T/retire0.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "the key [hsm] key_uri names was retired"
expect_in "$T/retire0.out" "key 01 is the one \[hsm\] key_uri in .* names.*Set key_uri = pkcs11:token=hsmagent-test;id=%[0-9a-f%]+;type=private" \
	"the refusal names the line to change"
privkeys | grep -q 'label:      gw-ec$' || fail "gw-ec was destroyed although refused"
newuri=$(grep -o 'Set key_uri = [^ ]*' "$T/retire0.out" | cut -d' ' -f4)
expect_in "$T/new.out" "set \[hsm\] key_uri = $newuri" "credential new printed the next step"
note "retiring the configured key refused: $(grep -o 'Set key_uri = [^ ]*' "$T/retire0.out")"
# The operator changes the line and restarts, as told.
sed -i "s|^key_uri = .*|key_uri = $newuri|" "$T/a.conf"
kill -TERM "$agent"; wait "$agent" || true
rm -f "$SOCK"
start_agent "$T/a.conf" "$T/agent2.err"
"$CLI" --socket "$SOCK" credential retire --key-id 01 >"$T/retire.out" 2>&1 ||
	{ cat "$T/retire.out" >&2; fail "credential retire"; }
grep -q 'key gw-ec (id 01) destroyed' "$T/retire.out" || { cat "$T/retire.out" >&2; fail "retire output"; }
privkeys >"$T/keys2.txt"
grep -q 'label:      gw-ec$' "$T/keys2.txt" && fail "gw-ec still on the token"
grep -q "label:      $label" "$T/keys2.txt" || fail "the new key is gone too"
set +e
"$CLI" --socket "$SOCK" credential retire --key-id "$newid" >"$T/retire2.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && grep -Eq 'the one in use|the one \[hsm\] key_uri' "$T/retire2.out" || fail "retiring the key in use was not refused"
grep '"event":"credential.retire"' "$T/state/audit.log" | grep '"outcome":"ok"' >/dev/null ||
	fail "credential retire not audited"
enroll after-retire
# And the agent starts again afterwards (the old bug: it did not).
kill -TERM "$agent"; wait "$agent" || true
rm -f "$SOCK"
start_agent "$T/a.conf" "$T/agent3.err"
enroll after-restart
note "credential retire: old key destroyed (audited), the key in use refused; enrollment still works, and after a restart"
