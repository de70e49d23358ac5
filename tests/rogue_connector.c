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

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ipc.h"
#include "scheme.h"

#define FD 3

static uint8_t	 rx[IPC_MAX_DGRAM + 1];
static char	 chain[IPC_MAX_BLOB];
static size_t	 chain_len;

static void
recv_one(struct ipc_msg *m)
{
	struct pollfd p = { FD, POLLIN, 0 };

	for (;;) {
		if (poll(&p, 1, 10000) != 1)
			exit(10);
		int r = ipc_recv(FD, rx, sizeof(rx), m);
		if (r == 1)
			return;
		if (r == 0)
			exit(0);
	}
}

static int
sign_req(uint32_t req, uint32_t job, uint8_t scheme, const uint8_t *d,
    size_t dlen, uint8_t *sig, size_t *siglen)
{
	struct ipc_sign_request	 rq = { job, scheme, d, dlen };
	struct ipc_sign_reply	 rp;
	struct ipc_msg		 m;
	struct wbuf		 b;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &rq);
	if (ipc_send(FD, IPC_SIGN_REQUEST, req, &b) == -1)
		exit(11);
	wbuf_free(&b);
	recv_one(&m);
	if (m.type != IPC_SIGN_REPLY || m.id != req ||
	    ipc_dec_sign_reply(&m, &rp) == -1)
		exit(12);
	if (rp.status == SIGN_OK) {
		memcpy(sig, rp.sig, rp.siglen);
		*siglen = rp.siglen;
	}
	return rp.status;
}

static const char *
verdict(int status)
{
	return status == SIGN_OK ? "granted" : status == SIGN_REFUSED ?
	    "refused" : "failed";
}

static int
verify(const uint8_t *dig, const uint8_t *sig, size_t siglen)
{
	BIO		*bio = BIO_new_mem_buf(chain, (int)chain_len);
	X509		*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
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
	BIO_free(bio);
	return ok;
}

int
main(void)
{
	struct ipc_msg		 m;
	struct ipc_cfg_blob	 cb;
	struct ipc_ready	 ready = { 0, "none (rogue test child)" };
	struct ipc_job_result	 jr;
	struct wbuf		 b;
	uint8_t			 dig[32], sig[IPC_MAX_SIG];
	size_t			 siglen = 0;
	char			 body[512];
	int			 is_ec = 1;
	uint8_t			 good;

	for (;;) {
		recv_one(&m);
		if (m.type == IPC_CFG_BLOB && ipc_dec_cfg_blob(&m, &cb) == 0 &&
		    cb.kind == BLOB_CHAIN_PEM && cb.offset + cb.len <= sizeof(chain)) {
			memcpy(chain + cb.offset, cb.data, cb.len);
			chain_len = cb.offset + cb.len;
		}
		if (m.type == IPC_CFG_DONE)
			break;
	}
	{
		BIO *bio = BIO_new_mem_buf(chain, (int)chain_len);
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		is_ec = x && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) ==
		    EVP_PKEY_EC;
		X509_free(x);
		BIO_free(bio);
	}
	good = is_ec ? SCHEME_ECDSA_SHA256 : SCHEME_RSA_PSS_SHA256;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_ready(&b, &ready);
	ipc_send(FD, IPC_READY, 0, &b);
	wbuf_free(&b);

	/* Job 1: the refusals, then one granted signature. */
	recv_one(&m);
	if (m.type != IPC_JOB_PROBE)
		return 13;
	EVP_Digest("hsmagent rogue test", 19, dig, NULL, EVP_sha256(), NULL);
	int nojob = sign_req(1, m.id + 1000, good, dig, 32, sig, &siglen);
	int scheme = sign_req(2, m.id, 99, dig, 32, sig, &siglen);
	int length = sign_req(3, m.id, good, dig, 20, sig, &siglen);
	int valid = sign_req(4, m.id, good, dig, 32, sig, &siglen);
	snprintf(body, sizeof(body), "rogue: nojob=%s scheme=%s length=%s "
	    "valid=%s verify=%s\n", verdict(nojob), verdict(scheme),
	    verdict(length), verdict(valid),
	    valid == SIGN_OK && verify(dig, sig, siglen) ? "ok" : "bad");
	memset(&jr, 0, sizeof(jr));
	jr.status = JOB_OK;
	jr.http_status = 200;
	strcpy(jr.tls_version, "none");
	jr.body = (const uint8_t *)body;
	jr.body_len = strlen(body);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_job_result(&b, &jr);
	ipc_send(FD, IPC_JOB_RESULT, m.id, &b);
	wbuf_free(&b);

	/* Job 2: a header whose length field lies. */
	recv_one(&m);
	{
		uint8_t bad[IPC_HDR_LEN + 2] = { 0, IPC_LOG, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 9, 'x', 'y' };

		send(FD, bad, sizeof(bad), 0);
	}
	sleep(10);
	return 3;	/* still alive: the parent failed to react */
}
