/*
 * rogue_connector.c - a stand-in for a hijacked connector child, used
 * by tests/integration/test_rogue_child.sh. It speaks the IPC protocol
 * to the real parent and tries what a takeover would try:
 *
 *   job 1: a signature for a job that is not in flight, an unknown
 *          scheme, a digest of the wrong length (each must be refused),
 *          then one valid request (must be granted, and the signature
 *          must verify under the certificate's key); the verdicts are
 *          reported as the job's body.
 *   job 2: a malformed datagram; the parent must kill us for it.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ipc.h"
#include "scheme.h"
#include "stub_child.h"

static int
sign_req(uint32_t req, uint32_t job, uint8_t scheme, const uint8_t *d,
    size_t dlen, uint8_t *sig, size_t *siglen)
{
	struct ipc_sign_request	 rq = { job, scheme, d, dlen };
	struct wbuf		 b;
	int			 r;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &rq);
	r = stub_sign(IPC_SIGN_REQUEST, req, &b, sig, siglen);
	wbuf_free(&b);
	return r;
}

static int
verify(const uint8_t *dig, const uint8_t *sig, size_t siglen)
{
	X509		*x = stub_leaf();
	EVP_PKEY	*pk = x ? X509_get0_pubkey(x) : NULL;
	EVP_PKEY_CTX	*ctx = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
	int		 ok = 0;

	if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1) {
		if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32);
		}
		ok = EVP_PKEY_verify(ctx, sig, siglen, dig, 32) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	X509_free(x);
	return ok;
}

int
main(void)
{
	struct ipc_msg		 m;
	struct ipc_job_result	 jr;
	struct wbuf		 b;
	uint8_t			 dig[32], sig[IPC_MAX_SIG];
	size_t			 siglen = 0;
	char			 body[512];
	int			 is_ec = 1;
	uint8_t			 good;

	stub_configure("none (rogue test child)");
	{
		X509 *x = stub_leaf();

		is_ec = x && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) ==
		    EVP_PKEY_EC;
		X509_free(x);
	}
	good = is_ec ? SCHEME_ECDSA_SHA256 : SCHEME_RSA_PSS_SHA256;

	/* Job 1: the refusals, then one granted signature. */
	stub_recv(&m);
	if (m.type != IPC_JOB_PROBE)
		return 13;
	EVP_Digest("hsmagent rogue test", 19, dig, NULL, EVP_sha256(), NULL);
	int nojob = sign_req(1, m.id + 1000, good, dig, 32, sig, &siglen);
	int scheme = sign_req(2, m.id, 99, dig, 32, sig, &siglen);
	int length = sign_req(3, m.id, good, dig, 20, sig, &siglen);
	int valid = sign_req(4, m.id, good, dig, 32, sig, &siglen);
	snprintf(body, sizeof(body), "rogue: nojob=%s scheme=%s length=%s "
	    "valid=%s verify=%s\n", stub_verdict(nojob), stub_verdict(scheme),
	    stub_verdict(length), stub_verdict(valid),
	    valid == SIGN_OK && verify(dig, sig, siglen) ? "ok" : "bad");
	memset(&jr, 0, sizeof(jr));
	jr.status = JOB_OK;
	jr.http_status = 200;
	strcpy(jr.tls_version, "none");
	jr.body = (const uint8_t *)body;
	jr.body_len = strlen(body);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_job_result(&b, &jr);
	stub_send(IPC_JOB_RESULT, m.id, &b);
	wbuf_free(&b);

	/* Job 2: a header whose length field lies. */
	stub_recv(&m);
	{
		uint8_t bad[IPC_HDR_LEN + 2] = { 0, IPC_LOG, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 9, 'x', 'y' };

		send(STUB_FD, bad, sizeof(bad), 0);
	}
	sleep(10);
	return 3;	/* still alive: the parent failed to react */
}
