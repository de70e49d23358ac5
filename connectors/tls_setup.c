/*
 * tls_setup.c - the child's TLS material, loaded once before the
 * sandbox and installed into every SSL_CTX curl creates.
 *
 * curl builds a new SSL_CTX per connection and would re-open CAINFO,
 * SSLCERT and SSLKEY each time: file opens the sandbox forbids. So the
 * store, the chain and the proxy key live in memory and are installed
 * by CURLOPT_SSL_CTX_FUNCTION (notes/feasibility.md, pitfall 6).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "child.h"
#include "keyproxy.h"
#include "log.h"
#include "probe_job.h"

int
tls_load_trust(struct child *c, const uint8_t *pem, size_t len)
{
	BIO	*bio;
	X509	*x;
	int	 n = 0;

	if ((c->store = X509_STORE_new()) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(c->store, x) == 1)
			n++;
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (n == 0) {
		log_error("tls: no certificate in the trust store");
		return -1;
	}
	log_debug("tls: %d trust anchors loaded", n);
	return 0;
}

int
tls_load_chain(struct child *c, const uint8_t *pem, size_t len)
{
	BIO	*bio;
	X509	*x;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (c->chain = sk_X509_new_null()) == NULL)
		return -1;
	c->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	while (c->leaf != NULL &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(c->chain, x) <= 0) {
			X509_free(x);
			break;
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	if (c->leaf == NULL) {
		log_error("tls: no client certificate received");
		return -1;
	}
	return 0;
}

/*
 * Touch what OpenSSL loads on first use (providers, method tables, the
 * DRBG), so that nothing needs a file after the sandbox is closed.
 */
void
tls_warm_up(void)
{
	unsigned char	 rnd[16];
	SSL_CTX		*ctx;
	SSL		*ssl = NULL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		log_warn("tls: RNG warm-up failed");
	if ((ctx = SSL_CTX_new(TLS_client_method())) != NULL)
		ssl = SSL_new(ctx);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
}

static void
info_callback(const SSL *ssl, int where, int ret)
{
	struct probe_job *j;

	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_DONE) == 0)
		return;
	j = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (j != NULL)
		snprintf(j->tls_version, sizeof(j->tls_version), "%s",
		    SSL_get_version(ssl));
}

CURLcode
tls_ctx_callback(CURL *curl, void *sslctx, void *arg)
{
	struct probe_job	*j = arg;
	struct child		*c = j->child;
	SSL_CTX			*ctx = sslctx;

	(void)curl;
	/* TLS 1.3 only unless the connector says otherwise (SECURITY.md). */
	if (SSL_CTX_set_min_proto_version(ctx, j->allow_tls12 ?
	    TLS1_2_VERSION : TLS1_3_VERSION) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set1_cert_store(ctx, c->store);
	if (SSL_CTX_use_certificate(ctx, c->leaf) != 1)
		goto fail;
	for (int i = 0; i < sk_X509_num(c->chain); i++) {
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c->chain, i)) != 1)
			goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, j->key) != 1)
		goto fail;
	/*
	 * Only a probe's connection reports its TLS version, and a probe's
	 * connection is never reused: a CA call's may outlive its job, so
	 * it must not point at it (a late NewSessionTicket would).
	 */
	if (j->kind == XFER_PROBE) {
		SSL_CTX_set_app_data(ctx, j);
		SSL_CTX_set_info_callback(ctx, info_callback);
	}
	return CURLE_OK;
 fail:
	log_error("tls: job %u: cannot install the client certificate or "
	    "proxy key", j->id);
	ERR_clear_error();
	return CURLE_SSL_CERTPROBLEM;
}
