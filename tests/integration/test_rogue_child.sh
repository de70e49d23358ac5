# test_rogue_child.sh - a hijacked child (tests/rogue_connector.c) asks
# for signatures it must not get: no job in flight, an unknown scheme, a
# digest of the wrong length. The parent refuses and counts each, grants
# the one valid request (whose signature verifies), and kills the child
# for a malformed datagram.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
for key in ec rsa; do
	case $key in
	ec) uri=$EC_KEY_URI cert=$CLIENT_EC_CRT ;;
	rsa) uri=$RSA_KEY_URI cert=$CLIENT_RSA_CRT ;;
	esac
	# Bare digests (TLS 1.2) are what it asks for: the probe allows them.
	CONNECTOR_OVERRIDE=$BUILD/tests/rogue-connector \
		write_config "$T/$key.conf" "$uri" "$cert" "$port"
	echo "allow_tls12 = yes" >>"$T/$key.conf"
	rc=0
	"$HSMAGENTD" -P -n 2 -c "$T/$key.conf" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$key: exit $rc, expected 1 (the second probe must fail)"
	expect_in "$T/out" 'rogue: nojob=refused scheme=refused length=refused valid=granted verify=ok' "$key: verdicts"
	expect_in "$T/err" 'refused-no-job: job [0-9]+' "$key: no-job refusal logged"
	expect_in "$T/err" 'refused-scheme: job [0-9]+ scheme 99' "$key: scheme refusal logged"
	expect_in "$T/err" 'refused-digest-length: job [0-9]+ scheme [0-9]+ digest 20 bytes' "$key: length refusal logged"
	expect_in "$T/err" 'signatures granted 1, refused 3 \(scheme 1, digest-length 1, no-job 1, rate 0, acme-policy 0, tls12 0\)' "$key: counters"
	expect_in "$T/err" 'killing connector child [0-9]+: malformed datagram header' "$key: violation kills the child"
	expect_in "$T/err" 'protocol violations 1' "$key: violation counted"
	expect_in "$T/out" 'probe [0-9]+: .*FAILED: connector child stopped' "$key: job of the killed child fails"
	note "$key: refusals counted, violation ends the child"
done
