#!/bin/bash
# make-fixtures.sh DIR - a fresh SoftHSM2 token and test PKI inside DIR.
#
# Creates (everything under DIR, nothing elsewhere, no network):
#   softhsm2.conf, tokens/     SoftHSM2 config and the token "hsmagent-test"
#   pin, so-pin, wrong-pin     random PINs, mode 0600, no trailing newline
#   keys on the token          gw-ec (id 01, P-256) and gw-rsa (id 02,
#                              RSA-2048) generated inside the token:
#                              sensitive, never extractable, sign usage;
#                              gw-extractable (id 03, P-256) deliberately
#                              extractable (negative tests); acme-ec
#                              (id 04, P-256) an ACME account key that is
#                              no TLS key (one key, one role)
#   ca.crt, ca.key             a local test CA
#   server.crt, server.key     localhost / 127.0.0.1 server certificate
#   client-ec.crt, client-rsa.crt, client-extractable.crt
#                              client certificates whose CSRs were signed
#                              inside the HSM (proof of possession)
#   client-mismatch.crt        a client certificate for a file key (not on
#                              the token): the cert/key mismatch test
#   engine.cnf                 OpenSSL config for the pkcs11 engine pinned to
#                              the module, with the PIN (0600): set it as
#                              OPENSSL_CONF for single commands only
#   env.sh                     variables the tests source (see below)
#
# Re-runnable: DIR is emptied first. Exits non-zero on any failure, after
# checking what it made (key attributes, CSR signatures, cert chains).
set -euo pipefail

die() { echo "make-fixtures: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: make-fixtures.sh DIR"
DIR=$1
MODULE=${HSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
LABEL=hsmagent-test
[ -r "$MODULE" ] || die "SoftHSM module $MODULE not found (apt-get install softhsm2)"
for t in p11tool pkcs11-tool openssl; do
	command -v $t >/dev/null || die "$t not found (make deps)"
done
ENGINE=$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -1)
[ -n "$ENGINE" ] || die "OpenSSL pkcs11 engine not found (libengine-pkcs11-openssl)"

# Refuse to empty something that is not ours: DIR must be new, empty, or
# carry our marker from an earlier run.
if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -e "$DIR/.hsmagent-fixtures" ]; then
	die "$DIR is not empty and was not made by this script"
fi
rm -rf "$DIR"
mkdir -p "$DIR/tokens"
DIR=$(cd "$DIR" && pwd)
touch "$DIR/.hsmagent-fixtures"
umask 077
cd "$DIR"

# ---- PINs ------------------------------------------------------------------
# 16 random hex characters each: long enough that the memory scan test
# cannot match by accident. Written without a newline, 0600.
randpin() { openssl rand -hex 8 | tr -d '\n'; }
randpin > pin
randpin > so-pin
randpin > wrong-pin
chmod 0600 pin so-pin wrong-pin
PIN=$(cat pin)
SO_PIN=$(cat so-pin)

# ---- token -------------------------------------------------------------------
cat > softhsm2.conf <<EOF
directories.tokendir = $DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$DIR/softhsm2.conf

# p11tool takes PINs from the environment of that one command, which keeps
# them out of argv (readable by every user through /proc/PID/cmdline).
# SoftHSM moves an initialised token to a random slot number, so the free
# slot is addressed by its empty label and the token afterwards by its label.
GNUTLS_SO_PIN=$SO_PIN p11tool --provider "$MODULE" --initialize \
	--label "$LABEL" "pkcs11:model=SoftHSM%20v2;token=" >/dev/null 2>&1 ||
	die "cannot initialise the token"
GNUTLS_SO_PIN=$SO_PIN GNUTLS_PIN=$PIN p11tool --provider "$MODULE" \
	--initialize-pin "pkcs11:token=$LABEL" >/dev/null 2>&1 ||
	die "cannot set the user PIN"

genkey() {	# genkey ALGO-OPTIONS... LABEL ID
	local label=$1 id=$2; shift 2
	GNUTLS_PIN=$PIN p11tool --provider "$MODULE" --login \
		--generate-privkey="$@" --mark-sign --label "$label" --id "$id" \
		--outfile "$label.pub.pem" "pkcs11:token=$LABEL" >/dev/null 2>&1 ||
		die "cannot generate $label on the token"
}
genkey gw-ec 01 ECDSA --curve=secp256r1
genkey gw-rsa 02 RSA --bits=2048
genkey acme-ec 04 ECDSA --curve=secp256r1
# The audit log's checkpoint key: a role of its own.
genkey audit-ec 05 ECDSA --curve=secp256r1

# The extractable key: p11tool always marks keys sensitive, pkcs11-tool
# can leave them extractable but only takes a PIN on its command line.
# This one PIN use in argv is for a throw-away test token only.
pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin "$PIN" \
	--keypairgen --key-type EC:prime256v1 --id 03 --label gw-extractable \
	--usage-sign --extractable >/dev/null 2>&1 ||
	die "cannot generate gw-extractable"

EC_KEY_URI="pkcs11:token=$LABEL;object=gw-ec;type=private"
RSA_KEY_URI="pkcs11:token=$LABEL;object=gw-rsa;type=private"
EXTRACTABLE_KEY_URI="pkcs11:token=$LABEL;object=gw-extractable;type=private"
ACME_EC_KEY_URI="pkcs11:token=$LABEL;object=acme-ec;type=private"
CKPT_KEY_URI="pkcs11:token=$LABEL;object=audit-ec;type=private"

# ---- test CA and server certificate -------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout ca.key -out ca.crt -days 365 -subj '/CN=hsmagent test CA' \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
	die "cannot create the test CA"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' > server.ext
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' > client.ext
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout server.key -out server.csr -subj '/CN=localhost' 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
	-days 365 -out server.crt -extfile server.ext 2>/dev/null ||
	die "cannot sign the server certificate"

# ---- client certificates, CSRs signed inside the HSM ---------------------
# The engine config pins the module (no p11-kit proxy) and carries the PIN
# in a 0600 file. It is set only for the "req" commands: exported, the
# engine's key methods take over file keys too and break "x509 -req".
cat > engine.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
PIN = $PIN
init = 0
EOF
hsm_client_cert() {	# hsm_client_cert NAME KEY_URI
	local name=$1 uri=$2
	OPENSSL_CONF=$DIR/engine.cnf openssl req -new -engine pkcs11 \
		-keyform engine -key "$uri" -subj "/CN=hsmagent-client-$name" \
		-out "client-$name.csr" >/dev/null 2>&1 ||
		die "cannot make the CSR for $name inside the HSM"
	openssl req -in "client-$name.csr" -noout -verify >/dev/null 2>&1 ||
		die "CSR for $name does not verify"
	openssl x509 -req -in "client-$name.csr" -CA ca.crt -CAkey ca.key \
		-CAcreateserial -days 365 -out "client-$name.crt" \
		-extfile client.ext 2>/dev/null || die "cannot sign client-$name.crt"
}
hsm_client_cert ec "$EC_KEY_URI"
hsm_client_cert rsa "$RSA_KEY_URI"
hsm_client_cert extractable "$EXTRACTABLE_KEY_URI"
chmod 0600 engine.cnf	# kept for bench/ (curl --engine pkcs11)

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout client-mismatch.key -out client-mismatch.csr \
	-subj '/CN=hsmagent-client-mismatch' 2>/dev/null
openssl x509 -req -in client-mismatch.csr -CA ca.crt -CAkey ca.key \
	-CAcreateserial -days 365 -out client-mismatch.crt -extfile client.ext \
	2>/dev/null || die "cannot sign client-mismatch.crt"

# ---- self-check ------------------------------------------------------------
for c in server client-ec client-rsa client-extractable client-mismatch; do
	openssl verify -CAfile ca.crt "$c.crt" >/dev/null 2>&1 ||
		die "$c.crt does not chain to ca.crt"
done
# Each HSM client certificate carries the public key of its token key.
for k in ec:gw-ec rsa:gw-rsa; do
	a=$(openssl x509 -in "client-${k%%:*}.crt" -noout -pubkey | openssl pkey -pubin -outform DER | od -An -tx1 | tr -d ' \n')
	b=$(openssl pkey -pubin -in "${k#*:}.pub.pem" -outform DER | od -An -tx1 | tr -d ' \n')
	[ "$a" = "$b" ] || die "client-${k%%:*}.crt is not for the token key ${k#*:}"
done
# The good keys are sensitive and never extractable; the bad one is not.
privkeys=$(GNUTLS_PIN=$PIN p11tool --provider "$MODULE" --login \
	--list-all-privkeys "pkcs11:token=$LABEL" 2>/dev/null)
for k in gw-ec gw-rsa acme-ec audit-ec; do
	echo "$privkeys" | grep -A2 "Label: $k\$" | grep -q 'CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE' ||
		die "$k is not marked sensitive and never-extractable"
done
echo "$privkeys" | grep -A2 'Label: gw-extractable$' | grep -q 'CKA_EXTRACTABLE' ||
	die "gw-extractable is not extractable; the negative tests would be void"
unset PIN SO_PIN

cat > env.sh <<EOF
# Written by softhsm-fixtures/make-fixtures.sh; source with "set -a".
HSMAGENT_FIXTURES=$DIR
SOFTHSM2_CONF=$DIR/softhsm2.conf
HSM_MODULE=$MODULE
TOKEN_LABEL=$LABEL
EC_KEY_URI='$EC_KEY_URI'
RSA_KEY_URI='$RSA_KEY_URI'
EXTRACTABLE_KEY_URI='$EXTRACTABLE_KEY_URI'
ACME_EC_KEY_URI='$ACME_EC_KEY_URI'
CKPT_KEY_URI='$CKPT_KEY_URI'
CKPT_PUB_PEM=$DIR/audit-ec.pub.pem
CA_CRT=$DIR/ca.crt
SERVER_CRT=$DIR/server.crt
SERVER_KEY=$DIR/server.key
CLIENT_EC_CRT=$DIR/client-ec.crt
CLIENT_RSA_CRT=$DIR/client-rsa.crt
CLIENT_EXTRACTABLE_CRT=$DIR/client-extractable.crt
CLIENT_MISMATCH_CRT=$DIR/client-mismatch.crt
PIN_FILE=$DIR/pin
WRONG_PIN_FILE=$DIR/wrong-pin
ENGINE_CONF=$DIR/engine.cnf
EOF
echo "make-fixtures: token \"$LABEL\" with gw-ec, gw-rsa, gw-extractable, acme-ec, audit-ec in $DIR"
