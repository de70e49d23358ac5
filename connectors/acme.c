/*
 * acme.c - the ACME (RFC 8555) connector type.
 *
 * One CA job is a run of requests, each a JWS the parent signs with the
 * account key in the HSM (child_sign_jws); parse() reads an answer and
 * sets x->next for the next request, which prepare() builds:
 *
 *   enroll  [directory] [newNonce] [account] newOrder, each authorization
 *           (http-01 answered when one is pending), finalize with the
 *           CSR, the order polled while "processing", the certificate
 *   lookup  the order (its URL is the job's handle), then as above
 *   revoke  [directory] [newNonce] [account] revokeCert
 *   validate the directory, read again
 *
 * Per connector the child keeps the directory (an hour), a few unused
 * nonces and the account URL: the account is found by its key
 * (onlyReturnExisting) on the first job after a start, and created,
 * with External Account Binding when configured, only if the CA has
 * none. The EAB MAC is the parent's (acme_eab): the child never holds
 * the HMAC key.
 *
 * Errors are RFC 7807 problem documents: badNonce is retried with the
 * nonce the answer carries (at most ACME_MAX_BAD_NONCE times in a row), an
 * unknown account is looked up again once, rateLimited, serverInternal
 * and 5xx are retried later (Retry-After), anything else rejects the
 * order with the problem's type and detail. Polls inside a job are
 * bounded (ACME_MAX_POLLS); past that the order is handed back as
 * pending under its URL, and the parent's schedule looks it up.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "acme_jws.h"
#include "acme_msg.h"
#include "b64url.h"
#include "child.h"
#include "connector.h"
#include "log.h"
#include "pem_bundle.h"
#include "util.h"

#define ACME_NONCE_POOL		8	/* unused nonces, per connector */
#define ACME_MAX_BAD_NONCE	10	/* badNonce answers in a row */
#define ACME_MAX_POLLS		30	/* in one job, then "pending" */
#define ACME_POLL_FIRST_MS	10
#define ACME_POLL_MAX_MS	2000
#define ACME_DIR_TTL_MS		(3600 * 1000)
#define ACME_MAX_ALT		3	/* alternate chains looked at */
#define ACME_MAX_SIG		1024	/* RS256 up to 8192-bit keys */

enum acme_step {
	ST_NONE = 0,
	ST_DIR,			/* GET the directory */
	ST_NONCE,		/* HEAD newNonce */
	ST_ACCOUNT_FIND,	/* newAccount, onlyReturnExisting */
	ST_ACCOUNT_NEW,		/* newAccount, with EAB if configured */
	ST_ORDER_NEW,
	ST_AUTHZ,		/* POST-as-GET authorization authz_i */
	ST_CHALLENGE,		/* POST {} to the http-01 challenge */
	ST_FINALIZE,
	ST_ORDER_GET,		/* POST-as-GET the order */
	ST_CERT,		/* POST-as-GET the certificate (or alternate) */
	ST_REVOKE,
};

/* This connector's own settings (its part of IPC_CFG_CONNECTOR). */
static const struct ipc_cfg_acme *
acme_conf(const struct ca_xfer *x)
{
	return &x->conf->kind.acme;
}

static const char *const step_names[] = {
	"", "directory", "newNonce", "account lookup", "newAccount",
	"newOrder", "authorization", "challenge", "finalize", "order",
	"certificate", "revokeCert",
};

/* What the child knows of one ACME server between jobs. */
struct acme_server {
	struct acme_directory	 dir;
	int64_t			 dir_at;	/* monotime_ms, or 0 */
	char			 kid[ACME_MAX_KID + 1];	/* account */
	char			 kid_jwk[IPC_MAX_STR + 1]; /* its key */
	char			 nonce[ACME_NONCE_POOL][ACME_MAX_NONCE + 1];
	size_t			 nnonce;
};


struct acme_job {
	enum acme_step	 goal;		/* the request it is after */
	enum acme_step	 step;		/* the request in flight */
	int		 es256;
	const char	*alg;
	int		 create_account;
	int		 bad_nonces;
	int		 account_lost;
	int		 polls;
	unsigned	 poll_ms;
	int		 finalized;	/* a certificate may exist */
	int64_t		 started_ms;	/* monotime: the budget's start */
	char		 order_url[ACME_MAX_URL + 1];
	struct acme_order order;
	size_t		 authz_i;
	struct acme_authz authz;
	char		 token[ACME_MAX_TOKEN + 1];	/* served */
	char		 cert_url[ACME_MAX_URL + 1];
	char		 alt[ACME_MAX_ALT][ACME_MAX_URL + 1];
	size_t		 nalt, alt_i;
	char		*first_cert, *first_chain;	/* default chain */
};

/* Made once per configured ACME connector (ca_configure). */
static void *
acme_conn_state_new(const struct ipc_cfg_connector *conf)
{
	(void)conf;
	return xcalloc(1, sizeof(struct acme_server));
}

static struct acme_server *
server_of(const struct ca_xfer *x)
{
	return x->conn->state;
}

static int
needs_account(enum acme_step s)
{
	return s >= ST_ORDER_NEW;
}

/* What the parent is told each signed request is for. */
static enum ipc_acme_op
step_op(enum acme_step s)
{
	switch (s) {
	case ST_ACCOUNT_FIND:
	case ST_ACCOUNT_NEW:	return ACME_OP_NEW_ACCOUNT;
	case ST_ORDER_NEW:	return ACME_OP_NEW_ORDER;
	case ST_CHALLENGE:	return ACME_OP_CHALLENGE;
	case ST_FINALIZE:	return ACME_OP_FINALIZE;
	case ST_REVOKE:		return ACME_OP_REVOKE;
	default:		return ACME_OP_FETCH;
	}
}

/* ---- answers: headers, nonces, problems ---------------------------- */

/* The last value of a response header, or NULL. */
static const char *
header(const struct ca_xfer *x, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(x->t.easy, name, 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK)
		return NULL;
	if (h->amount > 1 && curl_easy_header(x->t.easy, name,
	    h->amount - 1, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

/* Every answer may carry a fresh nonce: kept, the oldest dropped. */
static void
keep_nonce(struct ca_xfer *x)
{
	struct acme_server	*s = server_of(x);
	const char		*v = header(x, "Replay-Nonce");

	if (v == NULL || !acme_nonce_ok(v))
		return;
	if (s->nnonce == ACME_NONCE_POOL)
		memmove(s->nonce[0], s->nonce[1], --s->nnonce *
		    sizeof(s->nonce[0]));
	snprintf(s->nonce[s->nnonce++], sizeof(s->nonce[0]), "%s", v);
}

/*
 * A problem answer as the caller sees it: "TYPE: detail (HTTP n)". The
 * ACME namespace is kept: it names the error without ambiguity.
 */
static void
problem_message(const struct ca_xfer *x, const struct acme_problem *p,
    long http, struct ipc_ca_result *r)
{
	const struct acme_job *j = x->state;

	snprintf(r->message, sizeof(r->message), "ACME %s: %.256s%s%.600s "
	    "(HTTP %ld)", step_names[j->step], p->type, p->type[0] ? ": " : "",
	    p->detail, http);
}

/* The job's end: its outcome and what the caller is told. */
static void
finish(struct ipc_ca_result *r, uint8_t outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finish(struct ipc_ca_result *r, uint8_t outcome, const char *fmt, ...)
{
	va_list ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* The next request now (delay 0) or after a poll interval. */
static void
go(struct ca_xfer *x, enum acme_step goal, unsigned delay_ms)
{
	struct acme_job *j = x->state;

	j->goal = goal;
	x->next = 1;
	x->next_delay_ms = delay_ms;
}

/*
 * Once finalize was sent a certificate may exist: a retry would make a
 * second order, so the order is handed back pending, to be looked up
 * under its URL. 1 if it was (r set), 0 if a retry is safe.
 */
static int
pending_if_finalized(const struct acme_job *j, struct ipc_ca_result *r)
{
	if (j == NULL || !j->finalized || j->order_url[0] == '\0')
		return 0;
	r->outcome = CA_PENDING;
	copy_printable(r->handle, sizeof(r->handle), j->order_url);
	return 1;
}

/*
 * Polling inside the job: the server's Retry-After if it gave one
 * (at most ACME_POLL_MAX_MS here), else 10 ms doubling to the same
 * bound. A CA that validates and issues at once (a local one, Pebble)
 * is asked again after 10 ms, not 50: at 50 the two waits were most of
 * an enrollment (bench/README.md). A slow one costs about two polls
 * more, each one JWS signature, within the same 30. Past ACME_MAX_POLLS
 * the order is handed to the parent as pending under its URL, and it
 * looks again on its own schedule.
 */
static void
poll_again(struct ca_xfer *x, enum acme_step goal, struct ipc_ca_result *r)
{
	struct acme_job	*j = x->state;
	unsigned	 ms;

	if (++j->polls > ACME_MAX_POLLS) {
		copy_printable(r->handle, sizeof(r->handle), j->order_url);
		finish(r, CA_PENDING, "the ACME order is still %s",
		    goal == ST_AUTHZ ? "being validated" : "processing");
		return;
	}
	if (x->retry_after >= 0)
		ms = x->retry_after * 1000 > ACME_POLL_MAX_MS ?
		    ACME_POLL_MAX_MS : (unsigned)x->retry_after * 1000;
	else {
		ms = j->poll_ms == 0 ? ACME_POLL_FIRST_MS : j->poll_ms * 2;
		if (ms > ACME_POLL_MAX_MS)
			ms = ACME_POLL_MAX_MS;
	}
	if (ms == 0)
		ms = ACME_POLL_FIRST_MS;
	j->poll_ms = ms;
	go(x, goal, ms);
}

/* ---- requests ------------------------------------------------------- */

static int
set_request(struct ca_xfer *x, const char *url, const char *accept,
    int jose)
{
	char line[64];

	snprintf(line, sizeof(line), "Accept: %s", accept);
	if ((x->headers = curl_slist_append(NULL, line)) == NULL ||
	    (jose && (x->headers = curl_slist_append(x->headers,
	    "Content-Type: application/jose+json")) == NULL))
		return -1;
	if (curl_easy_setopt(x->t.easy, CURLOPT_HTTPHEADER, x->headers) !=
	    CURLE_OK || curl_easy_setopt(x->t.easy, CURLOPT_URL, url) !=
	    CURLE_OK)
		return -1;
	if (x->post != NULL && curl_easy_setopt(x->t.easy,
	    CURLOPT_POSTFIELDS, x->post) != CURLE_OK)
		return -1;
	return 0;
}

/*
 * A JWS POST to url: signed by the parent with the account key, under
 * the account URL (kid) or, for newAccount, the key itself (jwk). An
 * empty payload is a POST-as-GET.
 */
static int
post_jws(struct ca_xfer *x, const char *url, int with_jwk,
    const char *payload, const char *accept)
{
	struct acme_job		*j = x->state;
	struct acme_server	*s = server_of(x);
	struct acme_jws		 jws;
	uint8_t			 sig[ACME_MAX_SIG];
	size_t			 siglen = 0;
	char			 nonce[ACME_MAX_NONCE + 1];
	int			 rc;

	if (s->nnonce == 0)
		return -1;
	snprintf(nonce, sizeof(nonce), "%s", s->nonce[--s->nnonce]);
	if (acme_jws_init(&jws, j->alg, with_jwk ? x->account_jwk : NULL,
	    with_jwk ? NULL : s->kid, nonce, url, payload,
	    strlen(payload)) == -1) {
		snprintf(x->prep_error, sizeof(x->prep_error), "cannot build "
		    "the ACME %s request", step_names[j->step]);
		return -1;
	}
	rc = child_sign_jws(x->t.child, x->t.id, JWS_ACCOUNT,
	    step_op(j->step), j->es256, (const uint8_t *)jws.signing_input,
	    strlen(jws.signing_input), sig, &siglen, sizeof(sig));
	if (rc == -2)
		snprintf(x->prep_error, sizeof(x->prep_error), "the agent "
		    "refused to sign the ACME %s request to %.120s (is it "
		    "under server_prefixes? the agent's log says why)",
		    step_names[j->step], url);
	if (rc == 0)
		x->post = acme_jws_serialize(&jws, sig, siglen);
	acme_jws_free(&jws);
	if (rc != 0 || x->post == NULL)
		return -1;
	return set_request(x, url, accept, 1);
}

/* The EAB inner JWS, MACed by the parent, as JSON; NULL on failure. */
static json_t *
eab_object(struct ca_xfer *x)
{
	struct acme_server	*s = server_of(x);
	struct acme_jws		 jws;
	uint8_t			 mac[ACME_HS256_LEN];
	size_t			 maclen = 0;
	char			*text = NULL;
	json_t			*o = NULL;
	int			 rc;

	if (acme_eab_init(&jws, acme_conf(x)->eab_kid, s->dir.new_account,
	    x->account_jwk) == -1)
		return NULL;
	rc = child_sign_jws(x->t.child, x->t.id, JWS_EAB, ACME_OP_NEW_ACCOUNT,
	    0, (const uint8_t *)jws.signing_input, strlen(jws.signing_input),
	    mac, &maclen, sizeof(mac));
	if (rc == -2)
		snprintf(x->prep_error, sizeof(x->prep_error), "the agent "
		    "refused the external account binding");
	if (rc == 0 && (text = acme_jws_serialize(&jws, mac, maclen)) != NULL)
		o = json_loads(text, 0, NULL);
	explicit_bzero(mac, sizeof(mac));
	free(text);
	acme_jws_free(&jws);
	return o;
}

/* newAccount's payload: terms agreed, contacts, the binding. */
static char *
account_payload(struct ca_xfer *x)
{
	json_t	*o = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	json_t	*contacts, *eab;
	char	*list, *tok, *save = NULL, *text = NULL;

	if (o == NULL)
		return NULL;
	if (acme_conf(x)->contact[0] != '\0') {
		contacts = json_array();
		list = xstrdup(acme_conf(x)->contact);
		for (tok = strtok_r(list, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			json_array_append_new(contacts, json_string(tok));
		free(list);
		json_object_set_new(o, "contact", contacts);
	}
	if (acme_conf(x)->eab_kid[0] != '\0') {
		if ((eab = eab_object(x)) == NULL)
			goto out;
		json_object_set_new(o, "externalAccountBinding", eab);
	}
	text = json_dumps(o, JSON_COMPACT);
 out:
	json_decref(o);
	return text;
}

/* newOrder's identifiers, from the order's names ("dns:a", "ip:b"). */
static char *
order_payload(struct ca_xfer *x)
{
	json_t	*sans = json_loads(x->sans_json, 0, NULL);
	json_t	*ids = json_array(), *v;
	char	*text = NULL;
	size_t	 i;

	if (!json_is_array(sans) || json_array_size(sans) == 0) {
		snprintf(x->prep_error, sizeof(x->prep_error), "an ACME order "
		    "needs at least one DNS name or IP address");
		goto out;
	}
	json_array_foreach(sans, i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && strncmp(s, "dns:", 4) == 0)
			json_array_append_new(ids, json_pack("{s:s,s:s}",
			    "type", "dns", "value", s + 4));
		else if (s != NULL && strncmp(s, "ip:", 3) == 0)
			json_array_append_new(ids, json_pack("{s:s,s:s}",
			    "type", "ip", "value", s + 3));
		else {
			snprintf(x->prep_error, sizeof(x->prep_error), "ACME "
			    "certifies DNS names and IP addresses only, not "
			    "\"%.200s\"", s ? s : "?");
			goto out;
		}
	}
	text = json_dumps(json_pack("{s:O}", "identifiers", ids),
	    JSON_COMPACT);
 out:
	json_decref(ids);
	json_decref(sans);
	return text;
}

/* The base64url DER of the first PEM block of pem that reads as type. */
static char *
pem_to_b64url(const char *pem, int is_csr)
{
	BIO		*b = BIO_new_mem_buf(pem, -1);
	X509_REQ	*req = NULL;
	X509		*crt = NULL;
	unsigned char	*der = NULL;
	int		 n = -1;
	char		*out = NULL;

	if (b != NULL && is_csr &&
	    (req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) != NULL)
		n = i2d_X509_REQ(req, &der);
	else if (b != NULL && !is_csr &&
	    (crt = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		n = i2d_X509(crt, &der);
	if (n > 0)
		out = b64url_encode_alloc(der, (size_t)n);
	OPENSSL_free(der);
	X509_REQ_free(req);
	X509_free(crt);
	BIO_free(b);
	ERR_clear_error();
	return out;
}

static char *
payload_with(const char *name, char *b64, const char *extra_name, int extra)
{
	json_t	*o;
	char	*text;

	if (b64 == NULL)
		return NULL;
	o = extra_name != NULL ? json_pack("{s:s,s:i}", name, b64, extra_name,
	    extra) : json_pack("{s:s}", name, b64);
	free(b64);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

static enum acme_step
pick_step(struct ca_xfer *x, struct acme_job *j)
{
	struct acme_server	*s = server_of(x);
	enum acme_step		 g = j->goal;

	if (s->dir_at == 0 || monotime_ms() - s->dir_at > ACME_DIR_TTL_MS)
		return ST_DIR;
	if (g == ST_DIR)
		return ST_DIR;
	/* The account belongs to a key: a new key needs its own. */
	if (needs_account(g) && (s->kid[0] == '\0' ||
	    strcmp(s->kid_jwk, x->account_jwk) != 0))
		g = j->create_account ? ST_ACCOUNT_NEW : ST_ACCOUNT_FIND;
	if (s->nnonce == 0)
		return ST_NONCE;
	return g;
}

static struct acme_job *
job_new(struct ca_xfer *x)
{
	struct acme_job *j;

	if (x->account_jwk[0] == '\0') {
		snprintf(x->prep_error, sizeof(x->prep_error), "no ACME "
		    "account key came with the job");
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->started_ms = monotime_ms();
	/* acme_jwk's canonical form: EC keys start with "crv". */
	j->es256 = strncmp(x->account_jwk, "{\"crv\":\"P-256\"", 14) == 0;
	j->alg = j->es256 ? "ES256" : "RS256";
	switch (x->action) {
	case CA_ENROLL:
		j->goal = ST_ORDER_NEW;
		break;
	case CA_LOOKUP:
		if (!acme_url_ok(x->handle)) {
			free(j);
			snprintf(x->prep_error, sizeof(x->prep_error), "the "
			    "order's handle is not an ACME order URL");
			return NULL;
		}
		snprintf(j->order_url, sizeof(j->order_url), "%s", x->handle);
		j->goal = ST_ORDER_GET;
		break;
	case CA_REVOKE:
		j->goal = ST_REVOKE;
		break;
	default:
		/* Validation reads the directory again, whatever is cached. */
		server_of(x)->dir_at = 0;
		j->goal = ST_DIR;
		break;
	}
	x->state = j;
	return j;
}

static int
acme_prepare(struct ca_xfer *x)
{
	struct acme_job		*j = x->state;
	struct acme_server	*s = server_of(x);
	char			*p;
	int			 r;

	if (j == NULL && (j = job_new(x)) == NULL)
		return -1;
	j->step = pick_step(x, j);
	switch (j->step) {
	case ST_DIR:
		return set_request(x, x->conf->url, "application/json", 0);
	case ST_NONCE:
		if (curl_easy_setopt(x->t.easy, CURLOPT_NOBODY, 1L) != CURLE_OK)
			return -1;
		return set_request(x, s->dir.new_nonce, "*/*", 0);
	case ST_ACCOUNT_FIND:
		return post_jws(x, s->dir.new_account, 1,
		    "{\"onlyReturnExisting\":true}", "application/json");
	case ST_ACCOUNT_NEW:
		if (s->dir.eab_required && acme_conf(x)->eab_kid[0] == '\0') {
			snprintf(x->prep_error, sizeof(x->prep_error), "the "
			    "ACME server requires external account binding: "
			    "set eab_kid and eab_hmac_file");
			return -1;
		}
		if ((p = account_payload(x)) == NULL)
			return -1;
		r = post_jws(x, s->dir.new_account, 1, p, "application/json");
		free(p);
		return r;
	case ST_ORDER_NEW:
		if ((p = order_payload(x)) == NULL)
			return -1;
		r = post_jws(x, s->dir.new_order, 0, p, "application/json");
		free(p);
		return r;
	case ST_AUTHZ:
		return post_jws(x, j->order.authz[j->authz_i], 0, "",
		    "application/json");
	case ST_CHALLENGE:
		return post_jws(x, j->authz.http01_url, 0, "{}",
		    "application/json");
	case ST_FINALIZE:
		if ((p = payload_with("csr", pem_to_b64url(x->csr, 1), NULL,
		    0)) == NULL) {
			snprintf(x->prep_error, sizeof(x->prep_error), "the "
			    "order's CSR does not parse");
			return -1;
		}
		/* From here on a certificate may exist for this order. */
		j->finalized = 1;
		r = post_jws(x, j->order.finalize, 0, p, "application/json");
		free(p);
		return r;
	case ST_ORDER_GET:
		return post_jws(x, j->order_url, 0, "", "application/json");
	case ST_CERT:
		return post_jws(x, j->cert_url, 0, "",
		    "application/pem-certificate-chain");
	case ST_REVOKE:
		if ((p = payload_with("certificate", pem_to_b64url(x->csr, 0),
		    "reason", x->reason)) == NULL) {
			snprintf(x->prep_error, sizeof(x->prep_error), "the "
			    "order has no certificate to revoke");
			return -1;
		}
		r = post_jws(x, s->dir.revoke_cert, 0, p, "application/json");
		free(p);
		return r;
	default:
		return -1;
	}
}

/* ---- parsing answers ------------------------------------------------ */

/* What the order's status asks for next. */
static void
order_next(struct ca_xfer *x, struct ipc_ca_result *r)
{
	struct acme_job *j = x->state;

	switch (j->order.status) {
	case ACME_ST_PENDING:
		j->authz_i = 0;
		go(x, ST_AUTHZ, 0);
		break;
	case ACME_ST_READY:
		go(x, ST_FINALIZE, 0);
		break;
	case ACME_ST_PROCESSING:
		poll_again(x, ST_ORDER_GET, r);
		break;
	case ACME_ST_VALID:
		if (j->order.certificate[0] == '\0') {
			finish(r, CA_RETRY, "the ACME order is valid "
			    "without a certificate URL");
			break;
		}
		snprintf(j->cert_url, sizeof(j->cert_url), "%s",
		    j->order.certificate);
		go(x, ST_CERT, 0);
		break;
	default:
		if (j->order.error.type[0] != '\0')
			finish(r, CA_REJECTED, "the ACME order is invalid: "
			    "%s: %s", j->order.error.type,
			    j->order.error.detail);
		else
			finish(r, CA_REJECTED, "the ACME order is invalid");
	}
}

static void
token_drop(struct ca_xfer *x)
{
	struct acme_job *j = x->state;

	if (j->token[0] != '\0') {
		child_http01_token(x->t.child, x->t.id, 0, j->token);
		j->token[0] = '\0';
	}
}

/* An authorization: valid moves on; pending is answered by http-01. */
static void
authz_next(struct ca_xfer *x, struct ipc_ca_result *r)
{
	struct acme_job	*j = x->state;
	struct acme_authz *z = &j->authz;

	switch (z->status) {
	case ACME_ST_VALID:
		token_drop(x);
		j->poll_ms = 0;
		if (++j->authz_i < j->order.nauthz)
			go(x, ST_AUTHZ, 0);
		else
			go(x, ST_FINALIZE, 0);
		return;
	case ACME_ST_PENDING:
		break;
	default:
		token_drop(x);
		finish(r, CA_REJECTED, "the ACME authorization for %s is "
		    "%s", z->ident, z->status == ACME_ST_INVALID ? "invalid "
		    "(validation failed)" : "no longer usable");
		return;
	}
	if (j->token[0] != '\0') {
		/* Our answer is out; the server has not decided yet. */
		poll_again(x, ST_AUTHZ, r);
		return;
	}
	if (!z->has_http01 || !x->t.child->cfg.http01) {
		finish(r, CA_REJECTED, "the ACME authorization for %s "
		    "needs validation%s; this agent answers http-01 only "
		    "(with http01_listen set), dns-01 is not supported",
		    z->ident, z->has_http01 ? "" : " without http-01");
		return;
	}
	/*
	 * The parent answers on its port, with the key authorization of
	 * the account key it holds: the child only names the token. The
	 * message goes before the challenge's signature request, so the
	 * token is there before the CA can ask.
	 */
	if (strlen(z->http01_token) > IPC_MAX_HTTP01_TOKEN) {
		finish(r, CA_REJECTED, "the http-01 token for %s is longer "
		    "than %d characters", z->ident, IPC_MAX_HTTP01_TOKEN);
		return;
	}
	child_http01_token(x->t.child, x->t.id, 1, z->http01_token);
	snprintf(j->token, sizeof(j->token), "%s", z->http01_token);
	go(x, ST_CHALLENGE, 0);
}

/* The common name of the issuer of the topmost certificate in chain. */
static int
chain_top_is(const char *chain, const char *name)
{
	BIO		*b = BIO_new_mem_buf(chain, -1);
	X509		*c, *top = NULL;
	char		 cn[256];
	int		 ok = 0;

	while (b != NULL && (c = PEM_read_bio_X509(b, NULL, NULL, NULL)) !=
	    NULL) {
		X509_free(top);
		top = c;
	}
	if (top != NULL && X509_NAME_get_text_by_NID(
	    X509_get_issuer_name(top), NID_commonName, cn, sizeof(cn)) > 0)
		ok = strcmp(cn, name) == 0;
	X509_free(top);
	BIO_free(b);
	ERR_clear_error();
	return ok;
}

/* Link: <URL>;rel="alternate" headers of the certificate answer. */
static void
read_alternates(struct ca_xfer *x, struct acme_job *j)
{
	struct curl_header	*h;
	size_t			 amount = 1;

	for (size_t i = 0; i < amount && j->nalt < ACME_MAX_ALT; i++) {
		if (curl_easy_header(x->t.easy, "Link", i, CURLH_HEADER, -1,
		    &h) != CURLHE_OK)
			return;
		amount = h->amount;
		if (acme_link_alternate(h->value, j->alt[j->nalt]) == 0)
			j->nalt++;
	}
}

static void
cert_next(struct ca_xfer *x, struct ipc_ca_result *r)
{
	struct acme_job	*j = x->state;
	const char	*want = acme_conf(x)->preferred_chain;
	char		*cert = NULL, *chain = NULL, why[256];

	if (pem_bundle_split((const char *)x->t.body, x->t.body_len, x->csr,
	    &cert, &chain, why, sizeof(why)) == -1) {
		finish(r, CA_REJECTED, "ACME certificate: %s", why);
		return;
	}
	if (j->first_cert == NULL)
		read_alternates(x, j);
	if (want[0] != '\0' && !chain_top_is(chain, want)) {
		if (j->first_cert == NULL) {
			j->first_cert = cert;
			j->first_chain = chain;
		} else {
			free(cert);
			free(chain);
		}
		if (j->alt_i < j->nalt) {
			snprintf(j->cert_url, sizeof(j->cert_url), "%s",
			    j->alt[j->alt_i++]);
			go(x, ST_CERT, 0);
			return;
		}
		/* None matches: the default chain, as RFC 8555 clients do. */
		cert = j->first_cert;
		chain = j->first_chain;
		j->first_cert = j->first_chain = NULL;
		log_info("acme: job %u: no chain ends at \"%s\"; the default "
		    "one is used", x->t.id, want);
	}
	x->cert = cert;
	x->chain = chain;
	r->outcome = CA_ISSUED;
	copy_printable(r->handle, sizeof(r->handle), j->order_url);
}

/* A problem answer: retried here, later, or the order's end. */
static void
on_problem(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	struct acme_job		*j = x->state;
	struct acme_server	*s = server_of(x);
	struct acme_problem	 p;

	acme_parse_problem((const char *)x->t.body, x->t.body_len, &p);
	if (acme_problem_is(&p, "badNonce") &&
	    ++j->bad_nonces <= ACME_MAX_BAD_NONCE) {
		log_info("acme: job %u: badNonce on %s, sent again", x->t.id,
		    step_names[j->step]);
		go(x, j->goal, 0);
		return;
	}
	if (j->step == ST_ACCOUNT_FIND &&
	    acme_problem_is(&p, "accountDoesNotExist")) {
		j->create_account = 1;
		go(x, j->goal, 0);
		return;
	}
	/* An account gone at the server: found (or made) again, once. */
	if (needs_account(j->step) && !j->account_lost &&
	    (acme_problem_is(&p, "accountDoesNotExist") ||
	    (http == 401 && acme_problem_is(&p, "unauthorized")))) {
		j->account_lost = 1;
		s->kid[0] = '\0';
		go(x, j->goal, 0);
		return;
	}
	if (j->step == ST_REVOKE && acme_problem_is(&p, "alreadyRevoked")) {
		finish(r, CA_REVOKED, "already revoked");
		return;
	}
	problem_message(x, &p, http, r);
	r->outcome = http >= 500 || acme_problem_is(&p, "rateLimited") ||
	    acme_problem_is(&p, "serverInternal") || http == 429 ||
	    acme_problem_is(&p, "badNonce") ? CA_RETRY : CA_REJECTED;
	if (r->outcome == CA_RETRY)
		pending_if_finalized(j, r);
}

static void
parse_answer(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	struct acme_job		*j = x->state;
	struct acme_server	*s = server_of(x);
	const char		*body = (const char *)x->t.body;
	const char		*loc;
	char			 why[256];
	enum acme_status	 st;

	keep_nonce(x);
	if (http >= 200 && http < 300)
		j->bad_nonces = 0;
	if (http < 200 || http >= 300) {
		if (j->step == ST_DIR || j->step == ST_NONCE)
			finish(r, http >= 500 || http == 429 ? CA_RETRY :
			    CA_REJECTED, "ACME %s: HTTP %ld from %.300s",
			    step_names[j->step], http, j->step == ST_DIR ?
			    x->conf->url : s->dir.new_nonce);
		else
			on_problem(x, http, r);
		return;
	}
	why[0] = '\0';
	switch (j->step) {
	case ST_DIR:
		if (acme_parse_directory(body, x->t.body_len, &s->dir, why,
		    sizeof(why)) == -1) {
			s->dir_at = 0;
			break;
		}
		s->dir_at = monotime_ms();
		if (j->goal == ST_DIR) {
			if (s->dir.eab_required &&
			    acme_conf(x)->eab_kid[0] == '\0')
				finish(r, CA_REJECTED, "the ACME server "
				    "requires external account binding: set "
				    "eab_kid and eab_hmac_file");
			else
				r->outcome = CA_VALID;
			return;
		}
		go(x, j->goal, 0);
		return;
	case ST_NONCE:
		if (s->nnonce == 0)
			snprintf(why, sizeof(why), "no usable Replay-Nonce");
		else
			go(x, j->goal, 0);
		break;
	case ST_ACCOUNT_FIND:
	case ST_ACCOUNT_NEW:
		if (acme_parse_account(body, x->t.body_len, &st, why,
		    sizeof(why)) == -1)
			break;
		if (st != ACME_ST_VALID) {
			finish(r, CA_REJECTED, "the ACME account is not "
			    "valid (deactivated or revoked at the CA)");
			return;
		}
		if ((loc = header(x, "Location")) == NULL ||
		    !acme_url_ok(loc) || strlen(loc) > ACME_MAX_KID) {
			snprintf(why, sizeof(why), "no account URL");
			break;
		}
		snprintf(s->kid, sizeof(s->kid), "%s", loc);
		snprintf(s->kid_jwk, sizeof(s->kid_jwk), "%s", x->account_jwk);
		log_info("acme: connector %s: account %s%s", x->conf->name,
		    s->kid, j->step == ST_ACCOUNT_NEW ? " created" : "");
		go(x, j->goal, 0);
		return;
	case ST_ORDER_NEW:
		if ((loc = header(x, "Location")) == NULL ||
		    !acme_url_ok(loc) || strlen(loc) > IPC_MAX_HANDLE) {
			snprintf(why, sizeof(why), "no order URL, or one "
			    "longer than %d bytes", IPC_MAX_HANDLE);
			break;
		}
		snprintf(j->order_url, sizeof(j->order_url), "%s", loc);
		/* FALLTHROUGH */
	case ST_FINALIZE:
	case ST_ORDER_GET:
		acme_order_free(&j->order);
		if (acme_parse_order(body, x->t.body_len, &j->order, why,
		    sizeof(why)) == -1)
			break;
		if (j->step != ST_ORDER_GET)
			j->poll_ms = 0;
		order_next(x, r);
		return;
	case ST_AUTHZ:
		if (acme_parse_authz(body, x->t.body_len, &j->authz, why,
		    sizeof(why)) == -1)
			break;
		authz_next(x, r);
		return;
	case ST_CHALLENGE:
		poll_again(x, ST_AUTHZ, r);
		return;
	case ST_CERT:
		cert_next(x, r);
		return;
	case ST_REVOKE:
		r->outcome = CA_REVOKED;
		return;
	default:
		snprintf(why, sizeof(why), "no request in flight");
		break;
	}
	finish(r, CA_RETRY, "ACME %s: %s", step_names[j->step], why);
	pending_if_finalized(j, r);
}

/*
 * A job starts no request past its budget (ACME_JOB_BUDGET_REQUESTS
 * request timeouts): the parent signs
 * nothing for it after that (its signing window), so the order is
 * handed back as it stands: pending under its URL once one exists (the
 * parent looks it up on its schedule), else to be submitted again.
 */
static void
acme_parse(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	struct acme_job *j = x->state;
	int64_t		 budget = (int64_t)ACME_JOB_BUDGET_REQUESTS *
			    x->t.child->cfg.tls_timeout_s * 1000;

	parse_answer(x, http, r);
	if (!x->next || monotime_ms() - j->started_ms < budget)
		return;
	x->next = 0;
	if (j->order_url[0] != '\0') {
		copy_printable(r->handle, sizeof(r->handle), j->order_url);
		finish(r, CA_PENDING, "the ACME order is still in progress "
		    "after %lld s in one job; looked up again later",
		    (long long)budget / 1000);
	} else
		finish(r, x->action == CA_ENROLL ? CA_NOT_TAKEN : CA_RETRY,
		    "the ACME job took over %lld s before its order was made",
		    (long long)budget / 1000);
}

/*
 * No answer: before finalize nothing is lost by starting over (an
 * unfinished order costs nothing and expires); after it, a certificate
 * may exist, so the order is looked up under its URL.
 */
static uint8_t
acme_on_failure(struct ca_xfer *x, struct ipc_ca_result *r)
{
	if (pending_if_finalized(x->state, r))
		return CA_PENDING;
	return x->action == CA_ENROLL ? CA_NOT_TAKEN : CA_RETRY;
}

static void
acme_free_state(struct ca_xfer *x)
{
	struct acme_job *j = x->state;

	token_drop(x);
	acme_order_free(&j->order);
	free(j->first_cert);
	free(j->first_chain);
	free(j);
	x->state = NULL;
}

const struct connector_type acme_connector = {
	.name = "acme",
	.lookup_needs_handle = 1,
	.can_validate = 1,
	.prepare = acme_prepare,
	.parse = acme_parse,
	.on_failure = acme_on_failure,
	.free_state = acme_free_state,
	.conn_state_new = acme_conn_state_new,
};
