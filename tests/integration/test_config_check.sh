# test_config_check.sh - hsmagentd -t: 0 for a good file, 78 with
# "FILE:LINE: message" for a bad one; -t loads no key and starts nothing.
. "$(dirname "$0")/lib.sh"

write_config "$T/good.conf" "$EC_KEY_URI" "$CLIENT_EC_CRT" 8443
"$HSMAGENTD" -t -c "$T/good.conf" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "good config rejected"; }
expect_in "$T/out" 'configuration OK' "good config"

check_bad() {
	local name=$1 edit=$2 pattern=$3 rc=0
	cp "$T/good.conf" "$T/bad.conf"
	eval "$edit"
	"$HSMAGENTD" -t -c "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
	[ "$rc" -eq 78 ] || fail "$name: exit $rc, expected 78 (configuration)"
	expect_in "$T/out" "$pattern" "$name"
	note "$name: $(sed 's/.*error: //' "$T/out" | head -n1)"
}
check_bad "unknown key" "sed -i '2a colour = blue' \"\$T/bad.conf\"" "bad.conf:3: .*colour"
check_bad "bad boolean" "sed -i 's|^\\[tls\\]|insecure_allow_extractable_key = maybe\\n[tls]|' \"\$T/bad.conf\"" "bad.conf:[0-9]+: "
check_bad "bad number" "sed -i 's|^timeout = 10|timeout = 9999|' \"\$T/bad.conf\"" "bad.conf:[0-9]+: .*timeout"
check_bad "PIN in URI" "sed -i 's|^key_uri = .*|key_uri = pkcs11:token=x;object=y;pin-value=1234|' \"\$T/bad.conf\"" "bad.conf:[0-9]+: .*pin"
check_bad "http probe" "sed -i 's|^url = https|url = http|' \"\$T/bad.conf\"" "bad.conf:[0-9]+: .*https"
check_bad "missing file" "rm -f \"\$T/bad.conf\"" "bad.conf"
check_bad "missing ca_file" "sed -i 's|^ca_file = .*|ca_file = /nonexistent/ca.pem|' \"\$T/bad.conf\"" "ca_file /nonexistent/ca.pem"
ACME_SECTION='[connector acme]\ntype = acme\nurl = https://acme.example:14000/dir\naccount_key_uri = pkcs11:token=t;object=acme'
check_bad "http01_listen not an address" "printf '$ACME_SECTION\nhttp01_listen = localhost:80\n' >>\"\$T/bad.conf\"" "bad.conf:[0-9]+: \[connector\] http01_listen: expected an IPv4"
check_bad "two http01_listen addresses" "printf '$ACME_SECTION\nhttp01_listen = 127.0.0.1:80\n${ACME_SECTION/acme]/acme2]}\nhttp01_listen = 127.0.0.1:81\n' >>\"\$T/bad.conf\"" "\[connector acme2\] http01_listen 127.0.0.1:81 differs from \[connector acme\] http01_listen 127.0.0.1:80"

GW_SECTION='[connector gw]\ntype = entrust\nurl = https://ca.example/cagw\nca_id = ca1'
check_bad "poll step under 1 s" "printf '$GW_SECTION\npoll_schedule = 0, 5\n' >>\"\$T/bad.conf\"" "bad.conf:[0-9]+: \[connector\] poll_schedule: a step of 0 s: each step is 1 to 3600 s"
check_bad "poll step of half a second" "printf '$GW_SECTION\npoll_schedule = 0.5, 5\n' >>\"\$T/bad.conf\"" "bad.conf:[0-9]+: \[connector\] poll_schedule: expected whole seconds"
check_bad "poll schedule that speeds up" "printf '$GW_SECTION\npoll_schedule = 60, 5\n' >>\"\$T/bad.conf\"" "poll_schedule: a step of 5 s after one of 60 s"

# Trust in paths (StrictModes): what the agent trusts is writable by no
# one but root, and so is its directory; the child's user is no client.
check_bad "config writable by others" "chmod 0646 \"\$T/bad.conf\"" "the configuration .*bad.conf is writable by others \(mode 0646\)"
rm -f "$T/bad.conf"	# cp keeps an existing file's mode
cp "$CONNECTOR" "$T/connector-gw"
chmod 0775 "$T/connector-gw"
check_bad "connector writable by its group" "sed -i \"s|^connector_path = .*|connector_path = \$T/connector-gw|\" \"\$T/bad.conf\"" "connector_path .*connector-gw is writable by its group \(mode 0775\)"
mkdir -m 0777 "$T/open"
cp "$CLIENT_EC_CRT" "$T/open/cert.pem"
check_bad "certificate in a directory others can write" "sed -i \"s|^certificate = .*|certificate = \$T/open/cert.pem|\" \"\$T/bad.conf\"" "the directory of .*/open is writable by others"
chown nobody "$T/connector-gw"
chmod 0755 "$T/connector-gw"
check_bad "connector owned by another user" "sed -i \"s|^connector_path = .*|connector_path = \$T/connector-gw|\" \"\$T/bad.conf\"" "connector_path .*connector-gw is owned by uid [0-9]+, not by root"
mkdir -m 1777 "$T/sockdir"
touch "$T/policy.conf"
check_bad "socket in a directory others can write" "printf '[api]\nsocket = %s/sockdir/a.sock\npolicy = %s/policy.conf\n[state]\ndir = %s/state\n' \"\$T\" \"\$T\" \"\$T\" >>\"\$T/bad.conf\"" "\[api\] socket directory .*sockdir is writable by others"
check_bad "child_user in the socket's group" "printf '[api]\nsocket = %s/a.sock\npolicy = %s/policy.conf\ngroup = nogroup\n[state]\ndir = %s/state\n' \"\$T\" \"\$T\" \"\$T\" >>\"\$T/bad.conf\"" "child_user nobody is in \[api\] group nogroup"

# What start would fail on, -t says first (without a login: no PIN
# attempt spent), and what it cannot check it says too.
api_section() {	# the [api] and [state] sections, with a policy naming "e"
	printf '[rule r]\ncallers = user:root\nconnectors = e\nprofiles = p\nsan_dns = *.example.com\nmax_validity_days = 30\nkey_types = ec:p256\n' >"$T/p2.conf"
	printf '[api]\nsocket = %s/a.sock\npolicy = %s/p2.conf\n[state]\ndir = %s/state\n[connector e]\ntype = entrust\nurl = https://localhost:1/cagw\nca_id = c\n' "$T" "$T" "$T" >>"$T/bad.conf"
}
check_bad "child_user that does not exist" "sed -i 's|^child_user = .*|child_user = no-such-user|' \"\$T/bad.conf\"" "child_user 'no-such-user' does not exist"
check_bad "[api] group that does not exist" "api_section; sed -i 's|^\\[api\\]|[api]\\ngroup = no-such-group|' \"\$T/bad.conf\"" "\[api\] group no-such-group does not exist"
check_bad "chroot_dir without its parent" "sed -i \"s|^chroot_dir = .*|chroot_dir = \$T/missing/empty|\" \"\$T/bad.conf\"" "chroot_dir .*/missing/empty: neither it nor its parent directory exists"
check_bad "audit log's directory missing" "api_section; sed -i \"s|^dir = \\(.*\\)|dir = \\1\\naudit_log = \$T/missing/audit.log|\" \"\$T/bad.conf\"" "\[state\] audit_log.s directory .*/missing: No such file"
check_bad "no PIN file" "sed -i \"s|^pin_file = .*|pin_file = \$T/no-pin|\" \"\$T/bad.conf\"" "no-pin"
cp "$PIN_FILE" "$T/pin-0644"
secret_file "$T/pin-0644"
chmod 0644 "$T/pin-0644"
check_bad "PIN file of mode 0644" "sed -i \"s|^pin_file = .*|pin_file = \$T/pin-0644|\" \"\$T/bad.conf\"" "mode 0644 lets group or others read it"
check_bad "a key that does not exist" "sed -i 's|^key_uri = .*|key_uri = pkcs11:token=hsmagent-test;object=no-such-key;type=private|' \"\$T/bad.conf\"" "no key on token 'hsmagent-test' matches .*no-such-key"
check_bad "a certificate that does not match the key" "sed -i \"s|^certificate = .*|certificate = \$CLIENT_MISMATCH_CRT|\" \"\$T/bad.conf\"" "certificate .*client-mismatch.crt does not match the key"
check_bad "an unknown connector type" "api_section; sed -i 's|^type = entrust|type = digicert|' \"\$T/bad.conf\"" "\[connector e\] type \"digicert\" is not in .*hsmagent-connector"
check_bad "a policy rule naming no configured connector" "api_section; sed -i 's|^connectors = e|connectors = e, gone|' \"\$T/p2.conf\"" "rule r names connector \"gone\", which is not configured"
check_bad "the TLS key as an ACME account key" "api_section; printf '[connector a]\ntype = acme\nurl = https://localhost:1/dir\naccount_key_uri = pkcs11:token=hsmagent-test;id=%%01;type=private\n' >>\"\$T/bad.conf\"" "\[connector a\] account_key_uri names the TLS client key"
# An extractable key: its attributes need a login, and -t says so.
ALLOW_EXTRACTABLE= write_config "$T/ext.conf" "$EXTRACTABLE_KEY_URI" "$CLIENT_EXTRACTABLE_CRT" 8443
"$HSMAGENTD" -t -c "$T/ext.conf" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "-t on an extractable key"; }
expect_in "$T/out" "not checked without a login .*sensitive and never extractable" "-t names what it cannot check"
note "what -t cannot check without a login it says: $(grep -o 'not checked without a login[^:]*' "$T/out")"
