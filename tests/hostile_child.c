/*
 * hostile_child.c - a hijacked connector child, for
 * tests/integration/test_hostile_child.sh. It speaks the real IPC to the
 * real parent (no sandbox: it is the attacker's code) and asks for the
 * signatures an attacker wants, next to the ones the job really needs
 * (the controls: granted, and verified under the account key, so that a
 * parent refusing everything fails the test too).
 *
 *   hostile-child acme FIXTURES HTTP01_PORT
 *     validation job of "acme": anything signed (fetch, account lookup,
 *       EAB, key change) -> refused: a validation job signs nothing;
 *     enrollment job: key change, deactivation, account update, an
 *       order for other names (more, fewer, extra members), finalize
 *       with another CSR, a revocation, an EAB or a JWS for another key,
 *       the TLS path asked for a bare digest of a JWS -> refused (TLS 1.3
 *       only); asked for it as a TLS 1.3 transcript hash -> signed, but
 *       over the CertificateVerify content the parent builds: no JWS
 *       verifies with it, under the account key or the TLS key;
 *       then the controls, and the certificate, made by the test CA;
 *       a token of its own on the http-01 port: answered only with our
 *       account's thumbprint, and not at all once the job is over, nor
 *       for a validation job;
 *     revocation job: another certificate, another reason, an order or a
 *       finalize -> refused; the real revocation -> granted;
 *     then 3000 log lines at once (the parent drops what is over its
 *       rate and says so).
 *   hostile-child window FIXTURES
 *     on the first enrollment job, a POST-as-GET signature every 200 ms
 *     (each a legitimate request) until the parent stops it: the job's
 *     signing window is not extended by grants.
 *   hostile-child burst FIXTURES TRIGGER
 *     on a probe job after the test creates TRIGGER (taken, one burst
 *     each), 20 connections to the probe's server (the parent readies
 *     the token for the job's signature once, not 20 times), then 60 TLS
 *     signatures: with the audit log on a full disk, none may be granted
 *     without its record.
 *
 * Verdicts go to the parent's log as "hostile: NAME=VERDICT" lines.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "acme_jws.h"
#include "b64url.h"
#include "ipc.h"
#include "scheme.h"
#include "stub_child.h"
#include "tls13_cv.h"
#include "util.h"

#define SRV	"https://localhost:14000/"
#define KID	SRV "my-account/1"
#define EAB_KID	"kid-1"

static const char	*fixtures;
static uint32_t		 next_req;
static EVP_PKEY		*account;	/* the account key's public half */
static EVP_PKEY		*attacker;	/* a key of the attacker's own */
static char		*attacker_jwk;
static int		 failures;	/* controls that did not verify */
static int		 http01_port;	/* the parent's http-01 port, or 0 */

static void	say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The body the parent's http-01 port answers for token ("" for none
 * within 2 s, "404" for a 404), as a CA's validation server would ask.
 */
static const char *
http01_get(const char *token)
{
	static char		 buf[2048];
	struct sockaddr_in	 sin;
	struct pollfd		 p;
	char			 req[512];
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd = socket(AF_INET, SOCK_STREAM, 0);
	char			*body;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)http01_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	buf[0] = '\0';
	if (fd == -1 || connect(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1)
		exit(28);
	snprintf(req, sizeof(req), "GET /.well-known/acme-challenge/%s "
	    "HTTP/1.1\r\nHost: a.example.test\r\n\r\n", token);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		exit(29);
	p = (struct pollfd){ fd, POLLIN, 0 };
	while (got < sizeof(buf) - 1 && poll(&p, 1, 2000) == 1 &&
	    (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.1 404", 12) == 0)
		return "404";
	body = strstr(buf, "\r\n\r\n");
	return body != NULL ? body + 4 : "";
}

/* The http-01 token message: no answer comes. */
static void
http01_token(uint32_t job, int add, const char *token)
{
	struct ipc_http01_token	 m;
	struct wbuf		 b;

	memset(&m, 0, sizeof(m));
	m.job_id = job;
	m.add = (uint8_t)add;
	snprintf(m.token, sizeof(m.token), "%s", token);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_http01_token(&b, &m);
	stub_send(IPC_HTTP01_TOKEN, 0, &b);
	wbuf_free(&b);
}

/*
 * A token of the attacker's: answered (the job may name tokens), but
 * with our account's thumbprint, which validates nothing for the
 * attacker's account. What the port says goes to the log.
 */
static void
http01_attack(const char *name, uint32_t job, const char *token)
{
	char		 ours[ACME_THUMBPRINT_LEN + 1];
	char		 theirs[ACME_THUMBPRINT_LEN + 1];
	const char	*body;
	size_t		 n = strlen(token);

	http01_token(job, 1, token);
	body = http01_get(token);
	if (acme_jwk_thumbprint(account, ours) == -1 ||
	    acme_jwk_thumbprint(attacker, theirs) == -1)
		exit(30);
	if (body[0] == '\0' || strcmp(body, "404") == 0)
		say("hostile: %s=unanswered", name);
	else if (strncmp(body, token, n) == 0 && body[n] == '.' &&
	    strcmp(body + n + 1, ours) == 0)
		say("hostile: %s=our-thumbprint", name);
	else if (strstr(body, theirs) != NULL)
		say("hostile: %s=ATTACKER-THUMBPRINT", name);
	else
		say("hostile: %s=other:%.60s", name, body);
}

static void
say(const char *fmt, ...)
{
	struct ipc_log	 l;
	struct wbuf	 b;
	va_list		 ap;

	memset(&l, 0, sizeof(l));
	l.level = 2;		/* info */
	va_start(ap, fmt);
	vsnprintf(l.text, sizeof(l.text), fmt, ap);
	va_end(ap);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_log(&b, &l);
	stub_send(IPC_LOG, 0, &b);
	wbuf_free(&b);
}

static EVP_PKEY *
read_pub(const char *name)
{
	char		 path[1024];
	FILE		*f;
	EVP_PKEY	*k;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	if ((f = fopen(path, "r")) == NULL)
		exit(20);
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		exit(21);
	return k;
}

/* One JWS signature request; the status, sig (DER or MAC) set if granted. */
static int
jws(uint32_t job, uint8_t kind, uint8_t op, const char *input, uint8_t *sig,
    size_t *siglen)
{
	struct ipc_jws_sign_request	 rq;
	struct wbuf			 b;
	int				 r;

	rq.job_id = job;
	rq.kind = kind;
	rq.op = op;
	rq.input = (const uint8_t *)input;
	rq.len = strlen(input);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_jws_sign_request(&b, &rq);
	r = stub_sign(IPC_JWS_SIGN_REQUEST, ++next_req, &b, sig, siglen);
	wbuf_free(&b);
	return r;
}

/*
 * A TLS-path signature: type IPC_SIGN_REQUEST (a bare digest, TLS 1.2)
 * or IPC_TLS13_SIGN_REQUEST (a transcript hash, TLS 1.3).
 */
static int
tls_sign(uint16_t type, uint32_t job, const uint8_t *dg, size_t dlen,
    uint8_t *sig, size_t *siglen)
{
	struct ipc_sign_request	 rq = { job, SCHEME_ECDSA_SHA256, dg, dlen };
	struct wbuf		 b;
	int			 r;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &rq);
	r = stub_sign(type, ++next_req, &b, sig, siglen);
	wbuf_free(&b);
	return r;
}

/* Does sig (DER ECDSA) verify over SHA-256(data) under key? */
static int
verifies_by(EVP_PKEY *key, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	int		 ok;

	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* ... over SHA-256(input) under the account key? */
static int
verifies(const char *input, const uint8_t *sig, size_t siglen)
{
	return verifies_by(account, (const uint8_t *)input, strlen(input), sig,
	    siglen);
}

/*
 * The signing input of an account-key JWS: by the account's jwk (kid
 * NULL) or its kid, for url, with payload. Static buffer.
 */
static const char *
input_of(const char *jwk, const char *kid, const char *url,
    const char *payload)
{
	static char	 buf[IPC_MAX_JWS_INPUT];
	struct acme_jws	 j;

	if (acme_jws_init(&j, "ES256", kid ? NULL : jwk, kid, "bm9uY2U", url,
	    payload, strlen(payload)) == -1)
		exit(22);
	snprintf(buf, sizeof(buf), "%s", j.signing_input);
	acme_jws_free(&j);
	return buf;
}

/* An attack: must be refused. */
static void
attack(const char *name, uint32_t job, uint8_t kind, uint8_t op,
    const char *input)
{
	uint8_t	 sig[IPC_MAX_SIG];
	size_t	 siglen = 0;

	say("hostile: %s=%s", name, stub_verdict(jws(job, kind, op, input, sig,
	    &siglen)));
}

/* A control: what the job needs, must be granted and verify. */
static void
control(const char *name, uint32_t job, uint8_t op, const char *input)
{
	uint8_t	 sig[IPC_MAX_SIG];
	size_t	 siglen = 0;
	int	 st = jws(job, JWS_ACCOUNT, op, input, sig, &siglen);

	if (st == SIGN_OK && !verifies(input, sig, siglen)) {
		failures++;
		say("hostile: %s=granted-but-does-not-verify", name);
		return;
	}
	say("hostile: %s=%s", name, stub_verdict(st));
}

/* {"identifiers":[...]} for the names of sans_json (["dns:a",...]). */
static char *
identifiers(const char *sans_json, const char *extra_name, int reverse,
    size_t drop_last, const char *member)
{
	json_t	*sans = json_loads(sans_json, 0, NULL), *ids = json_array(), *v;
	json_t	*o;
	size_t	 i, n = json_array_size(sans);
	char	*s;

	for (i = 0; i + drop_last < n; i++) {
		const char *t = json_string_value(json_array_get(sans,
		    reverse ? n - 1 - i : i));
		const char *c = t ? strchr(t, ':') : NULL;
		char	    type[8];

		if (c == NULL || (size_t)(c - t) >= sizeof(type))
			exit(23);
		snprintf(type, sizeof(type), "%.*s", (int)(c - t), t);
		json_array_append_new(ids, json_pack("{s:s,s:s}", "type", type,
		    "value", c + 1));
	}
	if (extra_name != NULL)
		json_array_append_new(ids, json_pack("{s:s,s:s}", "type", "dns",
		    "value", extra_name));
	o = json_pack("{s:o}", "identifiers", ids);
	if (member != NULL)
		json_object_set_new(o, member, json_string("2030-01-01T00:00:00Z"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(sans);
	(void)v;
	return s;
}

/* {"NAME": b64url(der)} plus "reason" when reason >= 0. */
static char *
der_payload(const char *name, const uint8_t *der, size_t len, int reason)
{
	char	*b = b64url_encode_alloc(der, len), *s;
	json_t	*o = json_pack("{s:s}", name, b);

	if (reason >= 0)
		json_object_set_new(o, "reason", json_integer(reason));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(b);
	return s;
}

/* A keyChange payload (RFC 8555 §7.3.5): an inner JWS by the attacker. */
static char *
key_change_payload(void)
{
	char		 inner[512];
	struct acme_jws	 j;
	uint8_t		 fake[64];
	char		*s;

	snprintf(inner, sizeof(inner), "{\"account\":\"%s\",\"oldKey\":{}}",
	    KID);
	if (acme_jws_init(&j, "ES256", attacker_jwk, NULL, "bm9uY2U",
	    SRV "key-change", inner, strlen(inner)) == -1)
		exit(24);
	RAND_bytes(fake, sizeof(fake));
	s = acme_jws_serialize(&j, fake, sizeof(fake));
	acme_jws_free(&j);
	return s;
}

/* The DER of the first PEM block of a CSR or a certificate. */
static size_t
pem_to_der(const uint8_t *pem, size_t len, int is_csr, uint8_t **der)
{
	BIO		*b = BIO_new_mem_buf(pem, (int)len);
	X509_REQ	*req = is_csr ? PEM_read_bio_X509_REQ(b, NULL, NULL,
			    NULL) : NULL;
	X509		*x = is_csr ? NULL : PEM_read_bio_X509(b, NULL, NULL,
			    NULL);
	int		 n;

	*der = NULL;
	n = is_csr ? i2d_X509_REQ(req, der) : i2d_X509(x, der);
	X509_REQ_free(req);
	X509_free(x);
	BIO_free(b);
	if (n <= 0)
		exit(25);
	return (size_t)n;
}

/* A CSR of the attacker's for another name, DER. */
static size_t
other_csr(uint8_t **der)
{
	X509_REQ	*r = X509_REQ_new();
	X509_NAME	*nm = X509_NAME_new();
	int		 n;

	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"evil.example.net", -1, -1, 0);
	X509_REQ_set_subject_name(r, nm);
	X509_REQ_set_pubkey(r, attacker);
	X509_REQ_sign(r, attacker, EVP_sha256());
	*der = NULL;
	n = i2d_X509_REQ(r, der);
	X509_NAME_free(nm);
	X509_REQ_free(r);
	return n > 0 ? (size_t)n : 0;
}

/* A certificate for the CSR (PEM), issued by the test CA. */
static char *
issue(const uint8_t *csr_pem, size_t len, char *serial, size_t seriallen)
{
	char		 path[1024];
	BIO		*b = BIO_new_mem_buf(csr_pem, (int)len), *out;
	X509_REQ	*req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	X509		*ca, *x = X509_new();
	EVP_PKEY	*cakey;
	FILE		*f;
	uint8_t		 sn[8];
	BIGNUM		*bn;
	char		*pem, *hex;
	long		 n;

	snprintf(path, sizeof(path), "%s/ca.crt", fixtures);
	f = fopen(path, "r");
	ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/ca.key", fixtures);
	f = fopen(path, "r");
	cakey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (req == NULL || ca == NULL || cakey == NULL)
		exit(26);
	RAND_bytes(sn, sizeof(sn));
	sn[0] = (uint8_t)((sn[0] & 0x7f) | 0x10);	/* no leading zero digit */
	bn = BN_bin2bn(sn, sizeof(sn), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	hex = BN_bn2hex(bn);
	for (char *p = hex; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	snprintf(serial, seriallen, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_set_version(x, 2);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_sign(x, cakey, EVP_sha256());
	out = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(out, x);
	n = BIO_get_mem_data(out, &pem);
	pem = strndup(pem, (size_t)n);
	BIO_free(out);
	BIO_free(b);
	X509_REQ_free(req);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return pem;
}

static void
ca_result(uint32_t id, uint8_t outcome, const char *cert, const char *serial)
{
	struct ipc_ca_result	 r;
	struct wbuf		 b;
	char			 chain[8192] = "";
	char			 path[1024];
	FILE			*f;
	size_t			 n = 0;

	memset(&r, 0, sizeof(r));
	r.outcome = outcome;
	snprintf(r.message, sizeof(r.message), "hostile child");
	if (outcome == CA_ISSUED) {
		snprintf(path, sizeof(path), "%s/ca.crt", fixtures);
		if ((f = fopen(path, "r")) != NULL) {
			n = fread(chain, 1, sizeof(chain) - 1, f);
			fclose(f);
		}
		chain[n] = '\0';
		r.message[0] = '\0';
		r.cert = (const uint8_t *)cert;
		r.cert_len = strlen(cert);
		r.chain = (const uint8_t *)chain;
		r.chain_len = n;
		snprintf(r.serial, sizeof(r.serial), "%s", serial);
		snprintf(r.handle, sizeof(r.handle), "hostile-1");
	}
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_ca_result(&b, &r);
	stub_send(IPC_CA_RESULT, id, &b);
	wbuf_free(&b);
}

/* The next CA job; its payload decoded into jc (valid until the next). */
static uint32_t
next_job(struct ipc_job_ca *jc)
{
	static uint8_t	 copy[IPC_MAX_PAYLOAD];
	struct ipc_msg	 m;

	for (;;) {
		stub_recv(&m);
		if (m.type != IPC_JOB_CA || m.len > sizeof(copy))
			continue;
		/* Kept: signature replies reuse the receive buffer. */
		memcpy(copy, m.payload, m.len);
		m.payload = copy;
		if (ipc_dec_job_ca(&m, jc) == 0)
			return m.id;
	}
}

/* ---- acme -------------------------------------------------------------- */

static void
validation_attacks(uint32_t job, const char *jwk)
{
	struct acme_jws	 e;
	char		*kc = key_change_payload();

	attack("validate-fetch", job, JWS_ACCOUNT, ACME_OP_FETCH,
	    input_of(jwk, KID, SRV "order/1", ""));
	attack("validate-account", job, JWS_ACCOUNT, ACME_OP_NEW_ACCOUNT,
	    input_of(jwk, NULL, SRV "new-acct", "{\"onlyReturnExisting\":true}"));
	attack("validate-keychange", job, JWS_ACCOUNT, ACME_OP_FETCH,
	    input_of(jwk, KID, SRV "key-change", kc));
	if (acme_eab_init(&e, EAB_KID, SRV "new-acct", jwk) == -1)
		exit(27);
	attack("validate-eab", job, JWS_EAB, ACME_OP_NEW_ACCOUNT,
	    e.signing_input);
	acme_jws_free(&e);
	free(kc);
	/* A validation job waits on no authorization. */
	http01_attack("validate-http01", job, "validateToken123");
}

/*
 * Once the job has used its URLs, the same well-formed requests aimed
 * elsewhere under the server's prefix: the pins refuse them. finalize is
 * the order's own finalize payload.
 */
static void
pin_attacks(uint32_t job, const char *jwk, const char *sans,
    const char *finalize)
{
	uint8_t	 sig[IPC_MAX_SIG];
	size_t	 siglen, n;
	char	*ids = identifiers(sans, NULL, 0, 0, NULL), u[64];
	int	 st = SIGN_OK;

	attack("pin-order-elsewhere", job, JWS_ACCOUNT, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order-2", ids));
	attack("pin-other-kid", job, JWS_ACCOUNT, ACME_OP_FETCH,
	    input_of(jwk, SRV "my-account/2", SRV "authz/1", ""));
	attack("pin-finalize-elsewhere", job, JWS_ACCOUNT, ACME_OP_FINALIZE,
	    input_of(jwk, KID, SRV "finalize/2", finalize));
	attack("pin-challenge-finalize", job, JWS_ACCOUNT, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, SRV "finalize/1", "{}"));
	attack("pin-fetch-endpoint", job, JWS_ACCOUNT, ACME_OP_FETCH,
	    input_of(jwk, KID, SRV "new-order", ""));
	attack("pin-challenge-account", job, JWS_ACCOUNT, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, KID, "{}"));
	/* Two names, two challenges; not a third. */
	control("control-second-challenge", job, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, SRV "chall/2", "{}"));
	attack("pin-third-challenge", job, JWS_ACCOUNT, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, SRV "chall/3", "{}"));
	/* Fetches of ever new URLs: granted up to the job's cap, no more. */
	for (n = 0; n < 64 && st == SIGN_OK; n++) {
		snprintf(u, sizeof(u), SRV "flood/%zu", n);
		siglen = 0;
		st = jws(job, JWS_ACCOUNT, ACME_OP_FETCH,
		    input_of(jwk, KID, u, ""), sig, &siglen);
	}
	say("hostile: pin-url-flood=%s after %zu", stub_verdict(st), n - 1);
	free(ids);
}

static void
enroll_attacks(uint32_t job, const struct ipc_job_ca *jc, const char *jwk)
{
	char		*kc = key_change_payload(), *p, sans[IPC_MAX_SANS_JSON + 1];
	uint8_t		*der, sig[IPC_MAX_SIG], dg[32];
	size_t		 len, siglen = 0;
	struct acme_jws	 e;
	const char	*in;
	int		 st;

	snprintf(sans, sizeof(sans), "%.*s", (int)jc->sans_len,
	    (const char *)jc->sans_json);
	/* The account itself: taken over, deactivated, changed. */
	attack("keychange-fetch", job, JWS_ACCOUNT, ACME_OP_FETCH,
	    input_of(jwk, KID, SRV "key-change", kc));
	attack("keychange-account", job, JWS_ACCOUNT, ACME_OP_NEW_ACCOUNT,
	    input_of(jwk, NULL, SRV "key-change", kc));
	attack("keychange-challenge", job, JWS_ACCOUNT, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, SRV "key-change", kc));
	attack("deactivate", job, JWS_ACCOUNT, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, KID, "{\"status\":\"deactivated\"}"));
	attack("deactivate-account", job, JWS_ACCOUNT, ACME_OP_NEW_ACCOUNT,
	    input_of(jwk, NULL, SRV "new-acct", "{\"status\":\"deactivated\"}"));
	attack("account-update", job, JWS_ACCOUNT, ACME_OP_NEW_ACCOUNT,
	    input_of(jwk, NULL, SRV "new-acct", "{\"termsOfServiceAgreed\":"
	    "true,\"contact\":[\"mailto:attacker@evil.example\"]}"));
	attack("account-by-attacker-key", job, JWS_ACCOUNT, ACME_OP_NEW_ACCOUNT,
	    input_of(attacker_jwk, NULL, SRV "new-acct",
	    "{\"onlyReturnExisting\":true}"));
	if (acme_eab_init(&e, EAB_KID, SRV "new-acct", attacker_jwk) == -1)
		exit(27);
	attack("eab-attacker-key", job, JWS_EAB, ACME_OP_NEW_ACCOUNT,
	    e.signing_input);
	acme_jws_free(&e);
	/* Orders for names the policy did not allow. */
	p = identifiers(sans, "evil.example.net", 0, 0, NULL);
	attack("order-more-names", job, JWS_ACCOUNT, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order", p));
	free(p);
	p = identifiers(sans, NULL, 0, 1, NULL);
	attack("order-fewer-names", job, JWS_ACCOUNT, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order", p));
	free(p);
	p = identifiers(sans, NULL, 0, 0, "notAfter");
	attack("order-extra-member", job, JWS_ACCOUNT, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order", p));
	free(p);
	p = identifiers("[\"dns:evil.example.net\"]", NULL, 0, 0, NULL);
	attack("order-other-names", job, JWS_ACCOUNT, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order", p));
	free(p);
	/* Finalize with the attacker's CSR; a revocation; a JWS payload. */
	len = other_csr(&der);
	p = der_payload("csr", der, len, -1);
	attack("finalize-other-csr", job, JWS_ACCOUNT, ACME_OP_FINALIZE,
	    input_of(jwk, KID, SRV "finalize/1", p));
	free(p);
	OPENSSL_free(der);
	len = pem_to_der(jc->csr, jc->csr_len, 1, &der);
	p = der_payload("certificate", der, len, 0);
	attack("revoke-in-enroll", job, JWS_ACCOUNT, ACME_OP_REVOKE,
	    input_of(jwk, KID, SRV "revoke-cert", p));
	free(p);
	attack("challenge-not-empty", job, JWS_ACCOUNT, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, SRV "chall/1", "{\"a\":1}"));
	attack("fetch-with-payload", job, JWS_ACCOUNT, ACME_OP_FETCH,
	    input_of(jwk, KID, SRV "order/1", "{}"));
	/*
	 * The TLS path asked for the JWS's hash: as a bare digest (TLS 1.2,
	 * which this connector does not allow), and as a TLS 1.3 transcript
	 * hash, whose signature is over the CertificateVerify content the
	 * parent builds, and so over no JWS, even under the TLS key.
	 */
	p = identifiers(sans, NULL, 0, 0, NULL);
	in = input_of(jwk, KID, SRV "new-order", p);
	SHA256((const uint8_t *)in, strlen(in), dg);
	st = tls_sign(IPC_SIGN_REQUEST, job, dg, sizeof(dg), sig, &siglen);
	say("hostile: tls12-digest-of-jws=%s", stub_verdict(st));
	st = tls_sign(IPC_TLS13_SIGN_REQUEST, job, dg, sizeof(dg), sig, &siglen);
	if (st == SIGN_OK) {
		X509		*leaf = stub_leaf();
		uint8_t		 cv[TLS13_CV_MAX];
		int		 n = tls13_cv_content(dg, sizeof(dg), cv,
				    sizeof(cv));
		EVP_PKEY	*tls = leaf ? X509_get0_pubkey(leaf) : NULL;
		uint8_t		 cvh[32];
		char		 cvhex[65];

		/* What the grant's record must name: the content's hash. */
		SHA256(cv, n > 0 ? (size_t)n : 0, cvh);
		hex_lower(cvh, sizeof(cvh), cvhex);
		say("hostile: tls13-over-jws=granted as-jws-by-account=%s "
		    "as-jws-by-tls-key=%s as-certificate-verify=%s",
		    verifies(in, sig, siglen) ? "yes" : "no",
		    tls && verifies_by(tls, (const uint8_t *)in, strlen(in), sig,
		    siglen) ? "yes" : "no", tls && n > 0 && verifies_by(tls, cv,
		    (size_t)n, sig, siglen) ? "yes" : "no");
		say("hostile: tls13-content-sha256=%s", cvhex);
		X509_free(leaf);
	} else
		say("hostile: tls13-over-jws=%s", stub_verdict(st));

	/* The http-01 port answers what we name, but as our account. */
	http01_attack("http01-foreign-token", job, "attackerToken_abc-123");

	/* What the job needs: granted. */
	control("control-account-lookup", job, ACME_OP_NEW_ACCOUNT,
	    input_of(jwk, NULL, SRV "new-acct", "{\"onlyReturnExisting\":true}"));
	control("control-new-order", job, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order", p));
	free(p);
	p = identifiers(sans, NULL, 1, 0, NULL);
	control("control-new-order-reordered", job, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order", p));
	free(p);
	control("control-fetch", job, ACME_OP_FETCH,
	    input_of(jwk, KID, SRV "authz/1", ""));
	control("control-challenge", job, ACME_OP_CHALLENGE,
	    input_of(jwk, KID, SRV "chall/1", "{}"));
	p = der_payload("csr", der, len, -1);
	control("control-finalize", job, ACME_OP_FINALIZE,
	    input_of(jwk, KID, SRV "finalize/1", p));
	pin_attacks(job, jwk, sans, p);
	free(p);
	OPENSSL_free(der);
	if (acme_eab_init(&e, EAB_KID, SRV "new-acct", jwk) == -1)
		exit(27);
	st = jws(job, JWS_EAB, ACME_OP_NEW_ACCOUNT, e.signing_input, sig,
	    &siglen);
	say("hostile: control-eab=%s", stub_verdict(st));
	if (st == SIGN_OK) {
		char	*obj = acme_jws_serialize(&e, sig, siglen), *acct;
		json_t	*o = json_pack("{s:b,s:[s],s:o}", "termsOfServiceAgreed",
		    1, "contact", "mailto:pki@example.org",
		    "externalAccountBinding", json_loads(obj, 0, NULL));

		acct = json_dumps(o, JSON_COMPACT);
		control("control-new-account", job, ACME_OP_NEW_ACCOUNT,
		    input_of(jwk, NULL, SRV "new-acct", acct));
		/* The same binding for another url: refused. */
		attack("account-eab-other-url", job, JWS_ACCOUNT,
		    ACME_OP_NEW_ACCOUNT, input_of(jwk, NULL, SRV "other-acct",
		    acct));
		free(acct);
		free(obj);
		json_decref(o);
	}
	acme_jws_free(&e);
	free(kc);
}

static void
revoke_attacks(uint32_t job, const struct ipc_job_ca *jc, const char *jwk)
{
	uint8_t	*der, *other;
	size_t	 len, olen;
	char	*p;

	len = pem_to_der(jc->csr, jc->csr_len, 0, &der);
	olen = other_csr(&other);
	p = der_payload("certificate", other, olen, jc->reason);
	attack("revoke-other-certificate", job, JWS_ACCOUNT, ACME_OP_REVOKE,
	    input_of(jwk, KID, SRV "revoke-cert", p));
	free(p);
	OPENSSL_free(other);
	p = der_payload("certificate", der, len, (jc->reason + 1) % 10);
	attack("revoke-other-reason", job, JWS_ACCOUNT, ACME_OP_REVOKE,
	    input_of(jwk, KID, SRV "revoke-cert", p));
	free(p);
	attack("order-in-revoke", job, JWS_ACCOUNT, ACME_OP_NEW_ORDER,
	    input_of(jwk, KID, SRV "new-order",
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"evil.example.net\"}]}"));
	p = der_payload("certificate", der, len, jc->reason);
	control("control-revoke", job, ACME_OP_REVOKE,
	    input_of(jwk, KID, SRV "revoke-cert", p));
	attack("pin-revoke-elsewhere", job, JWS_ACCOUNT, ACME_OP_REVOKE,
	    input_of(jwk, KID, SRV "revoke-cert-2", p));
	free(p);
	OPENSSL_free(der);
}

static void
run_acme(void)
{
	struct ipc_job_ca	 jc;
	uint32_t		 id;
	char			 jwk[IPC_MAX_STR + 1], *cert, serial[64];
	int			 phase = 0;

	while (phase < 2) {
		id = next_job(&jc);
		snprintf(jwk, sizeof(jwk), "%s", jc.account_jwk);
		if (jc.action == CA_VALIDATE) {
			if (strcmp(jc.connector, "acme") == 0)
				validation_attacks(id, jwk);
			ca_result(id, CA_VALID, NULL, NULL);
		} else if (jc.action == CA_ENROLL) {
			enroll_attacks(id, &jc, jwk);
			cert = issue(jc.csr, jc.csr_len, serial, sizeof(serial));
			say("hostile: enroll done, controls failing %d", failures);
			ca_result(id, CA_ISSUED, cert, serial);
			free(cert);
			/* The job is over: its token with it. */
			{
				const char *b = http01_get(
				    "attackerToken_abc-123");

				say("hostile: http01-after-job=%s", b[0] ==
				    '\0' || strcmp(b, "404") == 0 ?
				    "unanswered" : "answered");
			}
			phase = 1;
		} else if (jc.action == CA_REVOKE && phase == 1) {
			revoke_attacks(id, &jc, jwk);
			say("hostile: revoke done, controls failing %d", failures);
			ca_result(id, CA_REVOKED, NULL, NULL);
			phase = 2;
		} else
			ca_result(id, CA_RETRY, NULL, NULL);
	}
	/* Then a log flood: the parent keeps only what its rate allows. */
	for (int i = 0; i < 3000; i++)
		say("hostile: flood line %d of 3000", i + 1);
	sleep(3);
	/* A request kind the protocol does not know: the parent kills us. */
	{
		uint8_t		bad[] = { 0, 0, 0, 1, 9, 1, 0, 0, 0, 3, 'a',
				    '.', 'b' };
		struct wbuf	b;

		wbuf_init(&b, IPC_MAX_PAYLOAD);
		wbuf_put(&b, bad, sizeof(bad));
		stub_send(IPC_JWS_SIGN_REQUEST, ++next_req, &b);
		wbuf_free(&b);
	}
	sleep(20);
}

/* ---- window and burst ---------------------------------------------------- */

static void
run_window(void)
{
	struct ipc_job_ca	 jc;
	uint32_t		 id;
	char			 jwk[IPC_MAX_STR + 1];
	uint8_t			 sig[IPC_MAX_SIG];
	size_t			 siglen;
	struct timespec		 t0, t;
	int			 granted = 0;

	for (;;) {
		id = next_job(&jc);
		if (jc.action == CA_ENROLL)
			break;
		ca_result(id, jc.action == CA_VALIDATE ? CA_VALID : CA_RETRY,
		    NULL, NULL);
	}
	snprintf(jwk, sizeof(jwk), "%s", jc.account_jwk);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Legitimate requests, forever: only the window can stop them. */
	for (;;) {
		int st = jws(id, JWS_ACCOUNT, ACME_OP_FETCH, input_of(jwk, KID,
		    SRV "order/1", ""), sig, &siglen);

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (st == SIGN_OK)
			granted++;
		say("hostile: window t=%lld ms %s (%d granted)",
		    (long long)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000), stub_verdict(st),
		    granted);
		usleep(200 * 1000);
	}
}

/*
 * n connections for the probe job to its URL's host and port, one after
 * the other; how many the parent made (each closed at once).
 */
static int
connects(uint32_t job, const struct ipc_msg *jm, int n)
{
	struct ipc_job_probe		 jp;
	struct ipc_connect_request	 rq;
	struct ipc_connect_reply	 rp;
	struct ipc_msg			 m;
	struct wbuf			 b;
	const char			*h, *colon;
	int				 made = 0;

	if (ipc_dec_job_probe(jm, &jp) == -1 ||
	    strncmp(jp.url, "https://", 8) != 0 ||
	    (colon = strchr(h = jp.url + 8, ':')) == NULL)
		exit(31);
	memset(&rq, 0, sizeof(rq));
	rq.job_id = job;
	snprintf(rq.host, sizeof(rq.host), "%.*s", (int)(colon - h), h);
	rq.port = (uint16_t)atoi(colon + 1);
	for (int i = 0; i < n; i++) {
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_connect_request(&b, &rq);
		stub_send(IPC_CONNECT_REQUEST, ++next_req, &b);
		wbuf_free(&b);
		do
			stub_recv(&m);
		while (m.type != IPC_CONNECT_REPLY);
		if (m.id == next_req && ipc_dec_connect_reply(&m, &rp) == 0 &&
		    rp.status == 0 && m.fd != -1)
			made++;
		if (m.fd != -1)
			close(m.fd);
	}
	return made;
}

/*
 * Each probe job while the test's trigger file exists: the file is taken
 * (one burst per trigger) and 60 TLS signatures asked for the job.
 */
static void
run_burst(const char *trigger)
{
	struct ipc_msg		 m;
	struct ipc_job_result	 jr;
	struct ipc_job_ca	 jc;
	struct wbuf		 b;
	uint8_t			 dg[32], sig[IPC_MAX_SIG];
	size_t			 siglen;
	int			 n[3];

	for (;;) {
		stub_recv(&m);
		if (m.type == IPC_JOB_CA && ipc_dec_job_ca(&m, &jc) == 0) {
			ca_result(m.id, jc.action == CA_VALIDATE ? CA_VALID :
			    CA_RETRY, NULL, NULL);
			continue;
		}
		if (m.type != IPC_JOB_PROBE)
			continue;
		if (unlink(trigger) == 0) {
			say("hostile: burst connections=%d", connects(m.id, &m,
			    20));
			memset(n, 0, sizeof(n));
			for (int i = 0; i < 60; i++) {
				RAND_bytes(dg, sizeof(dg));
				n[tls_sign(IPC_TLS13_SIGN_REQUEST, m.id, dg,
				    sizeof(dg), sig, &siglen) % 3]++;
			}
			say("hostile: burst granted=%d refused=%d failed=%d",
			    n[SIGN_OK], n[SIGN_REFUSED], n[SIGN_FAILED]);
		}
		memset(&jr, 0, sizeof(jr));
		jr.status = JOB_OK;
		jr.http_status = 200;
		snprintf(jr.tls_version, sizeof(jr.tls_version), "TLSv1.3");
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_job_result(&b, &jr);
		stub_send(IPC_JOB_RESULT, m.id, &b);
		wbuf_free(&b);
	}
}

int
main(int argc, char *argv[])
{
	if (argc != 3 && argc != 4)
		return 2;
	fixtures = argv[2];
	if (argc == 4 && strcmp(argv[1], "acme") == 0)
		http01_port = atoi(argv[3]);
	account = read_pub("acme-ec.pub.pem");
	attacker = EVP_EC_gen("prime256v1");
	attacker_jwk = acme_jwk(attacker);
	stub_configure("none (hostile test child)");
	/* What the parent hands a connector child besides fd 3. */
	say("hostile: fd 4 %s", fcntl(4, F_GETFD) == -1 ? "closed" : "open");
	if (strcmp(argv[1], "acme") == 0)
		run_acme();
	else if (strcmp(argv[1], "window") == 0)
		run_window();
	else if (strcmp(argv[1], "burst") == 0)
		run_burst(argv[3]);
	return 3;
}
