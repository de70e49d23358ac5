/*
 * acme_account_probe.c - a test tool, not part of hsmagent: registers an
 * ACME account whose key is in the HSM, with External Account Binding,
 * against a real server (Pebble in test_acme_account.sh), using the
 * pieces the ACME connector and the parent will use: acme_msg for the
 * directory and problems, acme_jws for the JWS, acme_sign_policy for
 * the parent's checks, hsm_account for the signature and acme_eab for
 * the MAC. It proves their formats against a peer nobody on this
 * project wrote, before the connector exists. One process, no sandbox:
 * the agent does this across the privilege boundary.
 *
 * usage: acme_account_probe DIRECTORY_URL CA_FILE MODULE KEY_URI
 *            ACCOUNT_KEY_URI CERT PIN_FILE EAB_KID EAB_KEY_FILE
 *            new|existing
 * Prints "account URL" and the HTTP status on success (exit 0); on an
 * ACME error prints "problem TYPE: DETAIL" and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "acme_eab.h"
#include "acme_jws.h"
#include "acme_msg.h"
#include "acme_sign_policy.h"
#include "hsm.h"
#include "hsm_account.h"
#include "log.h"

struct reply {
	long	 status;
	char	*body;
	size_t	 len;
	char	 nonce[ACME_MAX_NONCE + 1];
	char	 location[ACME_MAX_URL + 1];
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct reply	*r = arg;

	if (r->len + sz * n > ACME_MAX_BODY)
		return 0;
	r->body = realloc(r->body, r->len + sz * n + 1);
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

/* Copies the value of header name (case-insensitive) into dst. */
static void
header_value(const char *line, size_t n, const char *name, char *dst,
    size_t dstlen)
{
	size_t	 nl = strlen(name), vl;

	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 ||
	    line[nl] != ':')
		return;
	line += nl + 1;
	n -= nl + 1;
	while (n > 0 && *line == ' ')
		line++, n--;
	for (vl = n; vl > 0 && (line[vl - 1] == '\r' || line[vl - 1] == '\n');)
		vl--;
	if (vl < dstlen) {
		memcpy(dst, line, vl);
		dst[vl] = '\0';
	}
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct reply	*r = arg;

	header_value(p, sz * n, "Replay-Nonce", r->nonce, sizeof(r->nonce));
	header_value(p, sz * n, "Location", r->location, sizeof(r->location));
	return sz * n;
}

/* GET, HEAD (body NULL, head 1) or POST application/jose+json. */
static int
transfer(const char *url, const char *ca, const char *post, int head,
    struct reply *r)
{
	CURL			*c = curl_easy_init();
	struct curl_slist	*h = NULL;
	CURLcode		 rc;

	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (post != NULL) {
		h = curl_slist_append(h, "Content-Type: application/jose+json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "%s: %s\n", url, curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* The EAB object for the newAccount payload, MACed as the parent would. */
static json_t *
eab_object(const struct acme_sign_rules *rules, const char *kid,
    const char *keyfile, const char *url)
{
	struct acme_jws	 j;
	uint8_t		 mac[ACME_HS256_LEN];
	char		 err[256], *txt = NULL;
	json_t		*o = NULL;

	if (acme_eab_init(&j, kid, url, rules->account_jwk) != 0)
		return NULL;
	if (acme_eab_check(rules, j.signing_input, strlen(j.signing_input)) !=
	    ACME_SIGN_OK)
		fprintf(stderr, "EAB refused by the parent's check\n");
	else if (acme_eab_mac(keyfile, j.signing_input,
	    strlen(j.signing_input), mac, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	else if ((txt = acme_jws_serialize(&j, mac, sizeof(mac))) != NULL)
		o = json_loads(txt, 0, NULL);
	free(txt);
	acme_jws_free(&j);
	return o;
}

/* The flattened JWS of payload, signed by the account key in the HSM. */
static char *
signed_request(struct hsm *h, const struct hsm_account *ak,
    const struct acme_sign_rules *rules, const char *nonce, const char *url,
    const char *payload)
{
	struct acme_jws	 j;
	uint8_t		 sig[HSM_MAX_SIG], raw[ACME_P256_SIG_LEN];
	size_t		 siglen = 0;
	char		 err[256], *out = NULL;

	if (acme_jws_init(&j, rules->alg, rules->account_jwk, NULL, nonce, url,
	    payload, strlen(payload)) != 0)
		return NULL;
	if (acme_sign_check(rules, j.signing_input, strlen(j.signing_input)) !=
	    ACME_SIGN_OK)
		fprintf(stderr, "JWS refused by the parent's check\n");
	else if (hsm_account_sign(h, ak, (const uint8_t *)j.signing_input,
	    strlen(j.signing_input), sig, &siglen, err, sizeof(err)) != 0)
		fprintf(stderr, "sign: %s\n", err);
	else if (strcmp(rules->alg, "ES256") != 0)
		out = acme_jws_serialize(&j, sig, siglen);
	else if (acme_ecdsa_der_to_raw(sig, siglen, raw, sizeof(raw)) > 0)
		out = acme_jws_serialize(&j, raw, sizeof(raw));
	acme_jws_free(&j);
	return out;
}

/* The server's prefix: scheme, host and port of the directory, and '/'. */
static void
origin_of(const char *url, char *dst, size_t dstlen)
{
	const char	*slash = strchr(url + 8, '/');
	size_t		 n = slash ? (size_t)(slash - url) : strlen(url);

	snprintf(dst, dstlen, "%.*s/", (int)n, url);
}

int
main(int argc, char **argv)
{
	struct hsm_params	 hp;
	struct hsm		*h;
	struct hsm_account	*ak;
	struct acme_directory	 dir;
	struct acme_sign_rules	 rules = { .nprefix = 1 };
	struct acme_problem	 prob;
	struct reply		 r = { 0 };
	char			 err[512], prefix[ACME_MAX_URL + 2], *jwk;
	char			*req = NULL;
	char			*payload;
	json_t			*p;
	int			 existing, rc = 2;

	if (argc != 11) {
		fprintf(stderr, "usage: see acme_account_probe.c\n");
		return 2;
	}
	existing = strcmp(argv[10], "existing") == 0;
	log_init("acme-probe", LOG_LVL_INFO);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hp = (struct hsm_params){ argv[3], argv[4], argv[7], argv[6], 0, NULL };
	if ((h = hsm_open(&hp, err, sizeof(err))) == NULL ||
	    (ak = hsm_account_open(h, argv[5], 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hsm: %s\n", err);
		return 2;
	}
	jwk = acme_jwk(hsm_account_pubkey(ak));
	origin_of(argv[1], prefix, sizeof(prefix));
	rules.prefix[0] = prefix;
	rules.alg = hsm_account_alg(ak);
	rules.account_jwk = jwk;
	rules.eab_kid = argv[8];
	if (transfer(argv[1], argv[2], NULL, 0, &r) != 0 ||
	    acme_parse_directory(r.body, r.len, &dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "directory: %s\n", err);
		goto out;
	}
	free(r.body);
	r.body = NULL;
	if (transfer(dir.new_nonce, argv[2], NULL, 1, &r) != 0 ||
	    r.nonce[0] == '\0') {
		fprintf(stderr, "no nonce\n");
		goto out;
	}
	p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (existing)
		json_object_set_new(p, "onlyReturnExisting", json_true());
	else
		json_object_set_new(p, "externalAccountBinding",
		    eab_object(&rules, argv[8], argv[9], dir.new_account));
	payload = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	free(r.body);
	r.body = NULL;
	req = signed_request(h, ak, &rules, r.nonce, dir.new_account, payload);
	free(payload);
	if (req == NULL || transfer(dir.new_account, argv[2], req, 0, &r) != 0)
		goto out;
	if (r.status == 200 || r.status == 201) {
		printf("account %s %ld\n", r.location, r.status);
		rc = 0;
	} else {
		acme_parse_problem(r.body, r.len, &prob);
		printf("problem %s: %s (HTTP %ld)\n", prob.type, prob.detail,
		    r.status);
		rc = 1;
	}
 out:
	free(r.body);
	free(req);
	free(jwk);
	hsm_account_close(ak);
	hsm_close(h);
	curl_global_cleanup();
	return rc;
}
