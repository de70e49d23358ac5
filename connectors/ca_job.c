/*
 * ca_job.c - running a CA job in the child: one HTTPS transfer through
 * the connector type named in the configuration, then the checks every
 * issued certificate gets before the parent hears of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "child.h"
#include "connector.h"
#include "keyproxy.h"
#include "log.h"
#include "util.h"

static const struct connector_type *
find_type(const char *name)
{
	for (size_t i = 0; connector_types[i] != NULL; i++)
		if (strcmp(connector_types[i]->name, name) == 0)
			return connector_types[i];
	return NULL;
}

/* During configuration: a type this build does not know is fatal. */
int
ca_configure(struct child *c, const struct ipc_cfg_connector *conf)
{
	struct ca_connector		*k;
	const struct connector_type	*t;

	if (c->nconns >= IPC_MAX_CONNECTORS)
		return -1;
	if ((t = find_type(conf->type)) == NULL) {
		log_error("connector %s: type \"%s\" is not in this build",
		    conf->name, conf->type);
		return -1;
	}
	k = &c->conns[c->nconns++];
	memset(k, 0, sizeof(*k));
	k->conf = *conf;
	k->type = t;
	if (t->conn_state_new != NULL)
		k->state = t->conn_state_new(&k->conf);
	return 0;
}

int
ca_add_header(struct ca_xfer *x, const char *name, const char *value)
{
	char			 line[IPC_MAX_STR + 128];
	struct curl_slist	*n;
	int			 len;

	len = snprintf(line, sizeof(line), "%s: %s", name, value);
	n = len > 0 && (size_t)len < sizeof(line) ?
	    curl_slist_append(x->headers, line) : NULL;
	explicit_bzero(line, sizeof(line));
	if (n == NULL)
		return -1;
	x->headers = n;
	return 0;
}

/* Header lines may hold the password: wiped, then freed. */
static void
headers_free(struct ca_xfer *x)
{
	for (struct curl_slist *h = x->headers; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(x->headers);
	x->headers = NULL;
}

static void
xfer_free(struct ca_xfer *x)
{
	if (x->state != NULL && x->type != NULL && x->type->free_state != NULL)
		x->type->free_state(x);
	if (x->t.easy != NULL)
		curl_easy_cleanup(x->t.easy);
	headers_free(x);
	freezero(x->secret, x->secret_len + 1);
	EVP_PKEY_free(x->t.key);
	free(x->t.body);
	free(x->csr);
	free(x->sans_json);
	free(x->post);
	free(x->cert);
	free(x->chain);
	free(x);
}

static void
send_ca_result(struct child *c, uint32_t id, struct ipc_ca_result *r)
{
	struct wbuf b;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	if (ipc_enc_ca_result(&b, r) == -1) {
		/* Too large for one message: say so instead. */
		struct ipc_ca_result small;

		memset(&small, 0, sizeof(small));
		small.outcome = CA_REJECTED;
		snprintf(small.message, sizeof(small.message), "the CA's "
		    "certificate and chain are too large to deliver");
		wbuf_reset(&b);
		ipc_enc_ca_result(&b, &small);
	}
	child_send(c, IPC_CA_RESULT, id, &b);
	wbuf_free(&b);
}

static void
fail_job(struct child *c, uint32_t id, uint8_t outcome, const char *msg)
{
	struct ipc_ca_result r;

	memset(&r, 0, sizeof(r));
	r.outcome = outcome;
	copy_printable(r.message, sizeof(r.message), msg);
	send_ca_result(c, id, &r);
}

/*
 * The connector's proxy as the parent connects to it (host and port),
 * and as curl is told of it: the placeholder address and the port, so
 * that curl resolves no name. 0, or -1 if it does not parse.
 */
static int
proxy_split(struct ca_xfer *x, char *curl_proxy, size_t len)
{
	CURLU	*u = curl_url();
	char	*h = NULL, *p = NULL;
	int	 r = -1;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, x->conf->proxy, 0) ==
	    CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK && strlen(h) < sizeof(x->t.proxy_host) && atoi(p) > 0 &&
	    atoi(p) < 65536) {
		size_t n = strlen(h);

		/* An IPv6 literal comes in brackets. */
		if (h[0] == '[' && n > 2 && h[n - 1] == ']')
			snprintf(x->t.proxy_host, sizeof(x->t.proxy_host), "%.*s",
			    (int)(n - 2), h + 1);
		else
			snprintf(x->t.proxy_host, sizeof(x->t.proxy_host), "%s",
			    h);
		x->t.proxy_port = (uint16_t)atoi(p);
		snprintf(curl_proxy, len, "http://" CONNECT_PLACEHOLDER ":%u",
		    (unsigned)x->t.proxy_port);
		r = 0;
	}
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return r;
}

/* Sets up x->t for the connector's request and hands it to the multi. */
static int
xfer_start(struct child *c, struct ca_xfer *x, int (*prepare)(struct ca_xfer *))
{
	const struct ipc_cfg_connector *conf = x->conf;
	char				 proxy[64];

	x->t.allow_tls12 = conf->allow_tls12;
	if ((conf->proxy[0] != '\0' && proxy_split(x, proxy,
	    sizeof(proxy)) == -1) || transfer_setup(c, &x->t, conf->url) == -1 ||
	    curl_easy_setopt(x->t.easy, CURLOPT_USERAGENT, "hsmagent") !=
	    CURLE_OK ||
	    /*
	     * Unlike a probe, CA calls reuse the multi handle's open
	     * connections: fewer handshakes, so fewer HSM signatures. A new
	     * connection still signs only under this job's id.
	     */
	    curl_easy_setopt(x->t.easy, CURLOPT_FORBID_REUSE, 0L) != CURLE_OK ||
	    curl_easy_setopt(x->t.easy, CURLOPT_FRESH_CONNECT, 0L) !=
	    CURLE_OK ||
	    /* On top of the trust store: the CA's own key, if pinned. */
	    (conf->spki_pin[0] != '\0' && curl_easy_setopt(x->t.easy,
	    CURLOPT_PINNEDPUBLICKEY, conf->spki_pin) != CURLE_OK) ||
	    /* A tunnel: the proxy sees host and port, not the TLS inside. */
	    (conf->proxy[0] != '\0' && (curl_easy_setopt(x->t.easy,
	    CURLOPT_PROXY, proxy) != CURLE_OK ||
	    curl_easy_setopt(x->t.easy, CURLOPT_HTTPPROXYTUNNEL, 1L) !=
	    CURLE_OK)) ||
	    prepare(x) == -1 ||
	    curl_multi_add_handle(c->multi, x->t.easy) != CURLM_OK)
		return -1;
	c->njobs++;
	return 0;
}

/* prepare() failed: the order cannot be expressed, or we cannot send it. */
static void
start_failed(struct child *c, struct ca_xfer *x)
{
	if (x->prep_error[0] != '\0')
		fail_job(c, x->t.id, CA_REJECTED, x->prep_error);
	else
		fail_job(c, x->t.id, CA_RETRY, "cannot set up the request");
	xfer_free(x);
}

/* The transfer's handle and request go; the job stays for another one. */
static void
xfer_reset(struct ca_xfer *x)
{
	curl_easy_cleanup(x->t.easy);
	x->t.easy = NULL;
	EVP_PKEY_free(x->t.key);
	x->t.key = NULL;
	headers_free(x);
	free(x->post);
	x->post = NULL;
	x->t.body_len = x->t.read_total = 0;
	x->t.truncated = 0;
	x->t.errbuf[0] = '\0';
	x->retry_after = -1;
}

void
ca_start(struct child *c, uint32_t job_id, const struct ipc_job_ca *job)
{
	struct ca_connector		*k = NULL;
	const struct ipc_cfg_connector	*conf = NULL;
	struct ca_xfer			*x;

	for (size_t i = 0; i < c->nconns; i++)
		if (strcmp(c->conns[i].conf.name, job->connector) == 0)
			k = &c->conns[i];
	if (k != NULL)
		conf = &k->conf;
	if (conf == NULL) {
		fail_job(c, job_id, CA_REJECTED, "no such connector");
		return;
	}
	if (c->njobs + c->nlater >= CHILD_MAX_JOBS) {
		fail_job(c, job_id, CA_RETRY, "connector child busy");
		return;
	}
	if (job->action == CA_VALIDATE && !k->type->can_validate) {
		fail_job(c, job_id, CA_VALID, "");
		return;
	}
	if (job->action == CA_LOOKUP && job->handle[0] == '\0' &&
	    k->type->lookup_needs_handle) {
		fail_job(c, job_id, CA_UNKNOWN, "this CA cannot be asked by "
		    "reference");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->t.kind = XFER_CA;
	x->t.id = job_id;
	x->t.child = c;
	x->t.body_cap = CA_MAX_RESPONSE;
	x->t.body = xmalloc(x->t.body_cap + 1);
	x->action = job->action;
	memcpy(x->ref, job->ref, sizeof(x->ref));
	memcpy(x->profile, job->profile, sizeof(x->profile));
	x->validity_days = job->validity_days;
	memcpy(x->serial, job->serial, sizeof(x->serial));
	memcpy(x->handle, job->handle, sizeof(x->handle));
	x->reason = job->reason;
	x->csr = xcalloc(1, job->csr_len + 1);
	memcpy(x->csr, job->csr, job->csr_len);
	x->sans_json = xcalloc(1, job->sans_len + 1);
	memcpy(x->sans_json, job->sans_json, job->sans_len);
	x->conn = k;
	x->conf = conf;
	x->type = k->type;
	x->retry_after = -1;
	if (conf->auth == IPC_AUTH_PASSWORD && job->secret_len > 0) {
		x->secret_len = job->secret_len;
		x->secret = xmalloc(x->secret_len + 1);
		memcpy(x->secret, job->secret, x->secret_len);
		x->secret[x->secret_len] = '\0';
	}
	memcpy(x->account_jwk, job->account_jwk, sizeof(x->account_jwk));
	if (xfer_start(c, x, x->type->prepare) == -1)
		start_failed(c, x);
}

/* The certificate must carry the CSR's key; its serial is read from it. */
static int
check_issued(struct ca_xfer *x, struct ipc_ca_result *r)
{
	BIO		*bc = NULL, *br = NULL;
	X509		*cert = NULL;
	X509_REQ	*req = NULL;
	BIGNUM		*bn = NULL;
	char		*hex = NULL;
	int		 ok = -1;

	if (x->cert == NULL ||
	    (bc = BIO_new_mem_buf(x->cert, -1)) == NULL ||
	    (cert = PEM_read_bio_X509(bc, NULL, NULL, NULL)) == NULL) {
		snprintf(r->message, sizeof(r->message), "the CA's certificate "
		    "does not parse");
		goto out;
	}
	if ((br = BIO_new_mem_buf(x->csr, -1)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(br, NULL, NULL, NULL)) == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(cert), X509_REQ_get0_pubkey(req)) !=
	    1) {
		snprintf(r->message, sizeof(r->message), "the CA returned a "
		    "certificate for another key");
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) ==
	    NULL || BN_is_negative(bn) || BN_is_zero(bn) ||
	    (hex = BN_bn2hex(bn)) == NULL || strlen(hex) > IPC_MAX_SERIAL) {
		snprintf(r->message, sizeof(r->message), "bad serial number");
		goto out;
	}
	for (char *p = hex; *p != '\0'; p++)
		*p = (*p >= 'A' && *p <= 'F') ? (char)(*p - 'A' + 'a') : *p;
	snprintf(r->serial, sizeof(r->serial), "%s", hex[0] == '0' &&
	    hex[1] != '\0' ? hex + 1 : hex);
	ok = 0;
 out:
	OPENSSL_free(hex);
	BN_free(bn);
	X509_REQ_free(req);
	X509_free(cert);
	BIO_free(br);
	BIO_free(bc);
	ERR_clear_error();
	return ok;
}

/*
 * A transfer that failed: did the CA get the request? Not if we never
 * connected (safe to submit again). Otherwise nobody knows; a CA that
 * can be asked by reference is asked later, one that cannot is reported
 * at once as unknown rather than retried into a second enrollment.
 */
static uint8_t
uncertain(struct ca_xfer *x, CURLcode cc, struct ipc_ca_result *r)
{
	long sent = 0;

	if (x->type->on_failure != NULL)
		return x->type->on_failure(x, r);
	if (x->action != CA_ENROLL)
		return CA_RETRY;
	/* No request bytes went out (refused, or timed out connecting). */
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    (curl_easy_getinfo(x->t.easy, CURLINFO_REQUEST_SIZE, &sent) ==
	    CURLE_OK && sent == 0))
		return CA_NOT_TAKEN;
	return x->type->lookup_needs_handle ? CA_UNKNOWN : CA_RETRY;
}

/* Sends an issued result with x->cert and x->chain, and frees x. */
static void
deliver_issued(struct child *c, struct ca_xfer *x, struct ipc_ca_result *r)
{
	r->cert = (const uint8_t *)x->cert;
	r->cert_len = strlen(x->cert);
	r->chain = (const uint8_t *)(x->chain ? x->chain : "");
	r->chain_len = x->chain ? strlen(x->chain) : 0;
	send_ca_result(c, x->t.id, r);
	xfer_free(x);
}

/* Does the first certificate of chain_pem sign the leaf? */
static int
chain_fits(const char *leaf_pem, const char *chain_pem)
{
	BIO	*bl = BIO_new_mem_buf(leaf_pem, -1);
	BIO	*bc = BIO_new_mem_buf(chain_pem, -1);
	X509	*leaf = NULL, *issuer = NULL;
	int	 ok = 0;

	if (bl != NULL && bc != NULL &&
	    (leaf = PEM_read_bio_X509(bl, NULL, NULL, NULL)) != NULL &&
	    (issuer = PEM_read_bio_X509(bc, NULL, NULL, NULL)) != NULL &&
	    X509_check_issued(issuer, leaf) == X509_V_OK &&
	    X509_verify(leaf, X509_get0_pubkey(issuer)) == 1)
		ok = 1;
	X509_free(issuer);
	X509_free(leaf);
	BIO_free(bc);
	BIO_free(bl);
	ERR_clear_error();
	return ok;
}

/*
 * Issued without a chain: take the CA's from the cache, or start the
 * second stage that reads it (0: started, the result is sent when it
 * ends). Otherwise the certificate goes out without a chain, and says so.
 */
static int
find_chain(struct child *c, struct ca_xfer *x, struct ipc_ca_result *r)
{
	struct ca_connector	*k = x->conn;
	int64_t			 now = (int64_t)time(NULL);

	if (x->type->prepare_chain == NULL)
		return -1;
	if (k->ca_chain != NULL && now - k->ca_chain_at >= 0 &&
	    now - k->ca_chain_at < CA_CHAIN_CACHE_S &&
	    chain_fits(x->cert, k->ca_chain)) {
		free(x->chain);
		x->chain = xstrdup(k->ca_chain);
		return -1;
	}
	xfer_reset(x);
	x->fetching_chain = 1;
	x->issued = *r;
	if (xfer_start(c, x, x->type->prepare_chain) == -1) {
		snprintf(r->message, sizeof(r->message), "issued; the CA's "
		    "chain could not be requested");
		return -1;
	}
	return 0;
}

/* The second stage ended: the certificate goes out with or without it. */
static void
chain_done(struct child *c, struct ca_xfer *x, CURLcode cc)
{
	struct ipc_ca_result	 r = x->issued;
	struct ca_connector	*k = x->conn;
	long			 http = 0;
	char			*chain = NULL;

	curl_easy_getinfo(x->t.easy, CURLINFO_RESPONSE_CODE, &http);
	if (cc == CURLE_OK && http == 200 && !x->t.truncated)
		chain = x->type->parse_chain((const char *)x->t.body,
		    x->t.body_len);
	if (chain != NULL && chain_fits(x->cert, chain)) {
		free(k->ca_chain);
		k->ca_chain = xstrdup(chain);
		k->ca_chain_at = (int64_t)time(NULL);
		free(x->chain);
		x->chain = chain;
	} else {
		free(chain);
		if (cc != CURLE_OK)
			snprintf(r.message, sizeof(r.message), "issued; the "
			    "CA's chain could not be read: %.200s",
			    x->t.errbuf[0] ? x->t.errbuf :
			    curl_easy_strerror(cc));
		else
			snprintf(r.message, sizeof(r.message), "issued; the "
			    "CA's chain could not be read (HTTP %ld, or not "
			    "the certificate's issuer)", http);
	}
	deliver_issued(c, x, &r);
}

/*
 * The job's next request (parse() set x->next): now, or once its delay
 * has passed (ca_run_due).
 */
static void
ca_continue(struct child *c, struct ca_xfer *x)
{
	x->next = 0;
	xfer_reset(x);
	if (x->next_delay_ms > 0 && c->nlater < CHILD_MAX_JOBS) {
		x->due_ms = monotime_ms() + x->next_delay_ms;
		x->next_delay_ms = 0;
		c->later[c->nlater++] = x;
		return;
	}
	x->next_delay_ms = 0;
	if (xfer_start(c, x, x->type->prepare) == -1)
		start_failed(c, x);
}

int
ca_wait_ms(struct child *c, int max)
{
	int64_t now = monotime_ms(), wait = max;

	for (size_t i = 0; i < c->nlater; i++)
		if (c->later[i]->due_ms - now < wait)
			wait = c->later[i]->due_ms - now;
	return wait < 0 ? 0 : (int)wait;
}

void
ca_run_due(struct child *c)
{
	int64_t now = monotime_ms();

	for (size_t i = 0; i < c->nlater; ) {
		struct ca_xfer *x = c->later[i];

		if (x->due_ms > now) {
			i++;
			continue;
		}
		c->later[i] = c->later[--c->nlater];
		if (xfer_start(c, x, x->type->prepare) == -1)
			start_failed(c, x);
	}
}

void
ca_done(struct child *c, struct ca_xfer *x, CURLcode cc)
{
	struct ipc_ca_result	 r;
	long			 http = 0;
	curl_off_t		 ra = -1;

	curl_multi_remove_handle(c->multi, x->t.easy);
	c->njobs--;
	x->t.body[x->t.body_len] = '\0';
	if (x->fetching_chain) {
		chain_done(c, x, cc);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (cc != CURLE_OK) {
		char why[IPC_MAX_STR];

		r.outcome = uncertain(x, cc, &r);
		transfer_error(&x->t, cc, why, sizeof(why));
		copy_printable(r.message, sizeof(r.message), why);
		send_ca_result(c, x->t.id, &r);
		xfer_free(x);
		return;
	}
	curl_easy_getinfo(x->t.easy, CURLINFO_RESPONSE_CODE, &http);
	if (curl_easy_getinfo(x->t.easy, CURLINFO_RETRY_AFTER, &ra) ==
	    CURLE_OK && ra >= 0)
		x->retry_after = ra > 86400 ? 86400 : (long)ra;
	if (x->t.truncated) {
		r.outcome = uncertain(x, CURLE_WRITE_ERROR, &r);
		snprintf(r.message, sizeof(r.message), "the CA's response is "
		    "larger than %d KiB", CA_MAX_RESPONSE / 1024);
		send_ca_result(c, x->t.id, &r);
		xfer_free(x);
		return;
	}
	x->type->parse(x, http, &r);
	if (x->next) {
		ca_continue(c, x);
		return;
	}
	if (r.outcome == CA_RETRY && http >= 200 && http < 300)
		r.outcome = uncertain(x, CURLE_OK, &r);
	if (r.outcome == CA_ISSUED && check_issued(x, &r) == -1) {
		r.outcome = CA_REJECTED;
		r.serial[0] = '\0';
	}
	if (r.outcome == CA_ISSUED) {
		if ((x->chain == NULL || x->chain[0] == '\0') &&
		    find_chain(c, x, &r) == 0)
			return;
		deliver_issued(c, x, &r);
		return;
	}
	if ((r.outcome == CA_RETRY || r.outcome == CA_PENDING ||
	    r.outcome == CA_NOT_TAKEN) && x->retry_after >= 0 &&
	    r.retry_after_s == 0)
		r.retry_after_s = (uint32_t)x->retry_after;
	send_ca_result(c, x->t.id, &r);
	xfer_free(x);
}
