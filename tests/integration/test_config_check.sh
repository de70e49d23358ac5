# test_config_check.sh - hsmagentd -t: 0 for a good file, 1 with
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
	[ "$rc" -eq 1 ] || fail "$name: exit $rc, expected 1"
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
