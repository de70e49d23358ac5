/*
 * acme_sign_child.c - a stand-in connector child for
 * tests/integration/test_acme_sign.sh: it speaks IPC to the real parent
 * and asks, during the start-up validation job of the ACME connector
 * "acme", for the JWS signatures the ACME connector will ask for, and
 * some it must not get:
 *
 *   valid   a kid-form account JWS to the server: granted, and the
 *           signature verifies under the account key (the client key)
 *   url     the same to another server: refused (url)
 *   nonce   no nonce in the header: refused (nonce)
 *   nojob   a job that is not in flight: refused (no-job)
 *   other   a CA job in flight, but of the connector "other", which
 *           is no ACME connector: refused (no-job)
 *
 * The verdicts travel to the parent's log as one IPC_LOG line; then a
 * JWS request with an unknown kind, for which the parent must kill us.
 * First, one line on fd 4: the http-01 listener the parent hands every
 * child when http01_listen is set.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "ipc.h"
#include "stub_child.h"

static uint32_t	 next_req;

/* header: the protected header's JSON; the payload is "{}". */
static int
jws_req(uint32_t job, uint8_t kind, const char *header, char *input,
    size_t cap, uint8_t *sig, size_t *siglen)
{
	struct ipc_jws_sign_request	 rq;
	struct wbuf			 b;
	char				 h[1024];
	int				 r;

	if (b64url_encode((const uint8_t *)header, strlen(header), h,
	    sizeof(h)) == -1 || (size_t)snprintf(input, cap, "%s.e30", h) >=
	    cap)
		exit(12);
	rq.job_id = job;
	rq.kind = kind;
	rq.input = (const uint8_t *)input;
	rq.len = strlen(input);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_jws_sign_request(&b, &rq);
	r = stub_sign(IPC_JWS_SIGN_REQUEST, ++next_req, &b, sig, siglen);
	wbuf_free(&b);
	return r;
}

/* ES256 as the parent answers it: DER ECDSA over SHA-256 of the input. */
static int
verify(const char *input, const uint8_t *sig, size_t siglen)
{
	X509		*x = stub_leaf();
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	int		 ok;

	ok = x != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    X509_get0_pubkey(x)) == 1 && EVP_DigestVerify(md, sig, siglen,
	    (const uint8_t *)input, strlen(input)) == 1;
	EVP_MD_CTX_free(md);
	X509_free(x);
	return ok;
}

static void
log_line(const char *text)
{
	struct ipc_log	 l;
	struct wbuf	 b;

	memset(&l, 0, sizeof(l));
	l.level = 2;		/* info */
	snprintf(l.text, sizeof(l.text), "%s", text);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_log(&b, &l);
	stub_send(IPC_LOG, 0, &b);
	wbuf_free(&b);
}

#define SRV	"https://localhost:14000/"
#define KID	"\"kid\":\"" SRV "my-account/1\""

static void
sign_tests(uint32_t job, uint32_t other_job)
{
	char		 in[2048], line[512];
	uint8_t		 sig[IPC_MAX_SIG];
	size_t		 siglen = 0;
	int		 valid, url, nonce, nojob, other, ok;

	valid = jws_req(job, JWS_ACCOUNT, "{\"alg\":\"ES256\"," KID
	    ",\"nonce\":\"bm9uY2U\",\"url\":\"" SRV "new-order\"}", in,
	    sizeof(in), sig, &siglen);
	ok = valid == SIGN_OK && verify(in, sig, siglen);
	url = jws_req(job, JWS_ACCOUNT, "{\"alg\":\"ES256\"," KID
	    ",\"nonce\":\"bm9uY2U\",\"url\":\"https://evil.example/new-order\"}",
	    in, sizeof(in), sig, &siglen);
	nonce = jws_req(job, JWS_ACCOUNT, "{\"alg\":\"ES256\"," KID
	    ",\"url\":\"" SRV "new-order\"}", in, sizeof(in), sig, &siglen);
	nojob = jws_req(job + 1000, JWS_ACCOUNT, "{\"alg\":\"ES256\"," KID
	    ",\"nonce\":\"bm9uY2U\",\"url\":\"" SRV "new-order\"}", in,
	    sizeof(in), sig, &siglen);
	other = jws_req(other_job, JWS_ACCOUNT,
	    "{\"alg\":\"ES256\"," KID ",\"nonce\":\"bm9uY2U\",\"url\":\"" SRV
	    "new-order\"}", in, sizeof(in), sig, &siglen);
	snprintf(line, sizeof(line), "acme-sign: valid=%s verify=%s url=%s "
	    "nonce=%s nojob=%s other=%s", stub_verdict(valid), ok ? "ok" : "bad",
	    stub_verdict(url), stub_verdict(nonce), stub_verdict(nojob), stub_verdict(other));
	log_line(line);
}

static void
ca_valid(uint32_t id)
{
	struct ipc_ca_result	 r;
	struct wbuf		 b;

	memset(&r, 0, sizeof(r));
	r.outcome = CA_VALID;
	snprintf(r.message, sizeof(r.message), "test child");
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_ca_result(&b, &r);
	stub_send(IPC_CA_RESULT, id, &b);
	wbuf_free(&b);
}

/* What the parent gave us as fd 4, and that nothing is open past it. */
static void
report_fd4(void)
{
	int		 v = 0, t = 0;
	socklen_t	 len = sizeof(v), tl = sizeof(t);
	char		 line[128];

	if (getsockopt(4, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1)
		snprintf(line, sizeof(line), "acme-sign: fd 4: none");
	else
		snprintf(line, sizeof(line), "acme-sign: fd 4: %s%s%s",
		    getsockopt(4, SOL_SOCKET, SO_TYPE, &t, &tl) == 0 &&
		    t == SOCK_STREAM ? "tcp " : "", v ? "listening" : "open",
		    fcntl(5, F_GETFD) == -1 ? ", nothing past it" : ", fd 5 open");
	log_line(line);
}

int
main(void)
{
	struct ipc_msg		 m;
	struct ipc_job_ca	 jc;
	struct wbuf		 b;
	uint32_t		 acme_job = 0, other_job = 0;

	stub_configure("none (ACME sign test child)");
	report_fd4();
	/* The validation jobs of both connectors: "acme" and "other". */
	while (acme_job == 0 || other_job == 0) {
		stub_recv(&m);
		if (m.type != IPC_JOB_CA || ipc_dec_job_ca(&m, &jc) == -1 ||
		    jc.action != CA_VALIDATE)
			return 14;
		if (strcmp(jc.connector, "acme") == 0)
			acme_job = m.id;
		else
			other_job = m.id;
	}
	/* other_job is a CA job in flight, but not for an ACME connector. */
	sign_tests(acme_job, other_job);
	ca_valid(other_job);
	ca_valid(acme_job);

	/* A kind the protocol does not know: the parent must kill us. */
	{
		uint8_t bad[] = { 0, 0, 0, 1, 9, 0, 0, 0, 3, 'a', '.', 'b' };

		wbuf_init(&b, IPC_MAX_PAYLOAD);
		wbuf_put(&b, bad, sizeof(bad));
		stub_send(IPC_JWS_SIGN_REQUEST, ++next_req, &b);
		wbuf_free(&b);
	}
	sleep(10);
	return 3;	/* still alive: the parent failed to react */
}
