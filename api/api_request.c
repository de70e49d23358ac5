/*
 * api_request.c - strict parsing of one local API request line.
 *
 * Local clients are trusted for their uid and nothing else, so the line
 * is untrusted input: size-capped before jansson sees it, decoded with
 * duplicate keys refused, and every member checked for presence, type
 * and range per operation. Anything unexpected is a bad_request rather
 * than ignored: a typo must not turn into a default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_request.h"
#include "util.h"

#define MAX_SANS	100
#define MAX_VALIDITY	825		/* days; policy caps it further */

struct op_spec {
	enum api_op	 op;
	const char	*name;
	const char	*members;	/* allowed besides "op", space-separated */
	int		(*parse)(json_t *, struct api_request *, char *err,
			    size_t errlen);
};

/* RFC 5280 5.3.1 codes a subscriber may give; the CA-only ones are not. */
static const struct {
	const char	*name;
	int		 code;
} reasons[] = {
	{ "unspecified", 0 },
	{ "keyCompromise", 1 },
	{ "affiliationChanged", 3 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
	{ "privilegeWithdrawn", 9 },
};

int
api_reason_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].code;
	return -1;
}

const char *
api_reason_name(int code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return "?";
}

static int
member_allowed(const struct op_spec *s, const char *key)
{
	size_t		 n = strlen(key);
	const char	*m = s->members;

	while (*m != '\0') {
		size_t w = strcspn(m, " ");

		if (w == n && strncmp(m, key, n) == 0)
			return 1;
		m += w;
		m += strspn(m, " ");
	}
	return 0;
}

/* A printable-ASCII string member of at most max bytes. */
static int
get_str(json_t *obj, const char *key, char *dst, size_t max, int required,
    char *err, size_t errlen)
{
	json_t		*v = json_object_get(obj, key);
	const char	*s;
	size_t		 n;

	if (v == NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "\"%s\" is required", key);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max || strlen(s) != n) {
		snprintf(err, errlen, "\"%s\" must be 1 to %zu characters",
		    key, max);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e) {
			snprintf(err, errlen, "\"%s\" must be printable ASCII",
			    key);
			return -1;
		}
	}
	memcpy(dst, s, n + 1);
	return 1;
}

static int
is_lower_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int
get_name(json_t *obj, const char *key, char *dst, char *err, size_t errlen)
{
	if (get_str(obj, key, dst, API_MAX_NAME, 1, err, errlen) == -1)
		return -1;
	if (!name_ok(dst, API_MAX_NAME)) {
		snprintf(err, errlen, "\"%s\" must be [a-z0-9_-]", key);
		return -1;
	}
	return 0;
}

static int
get_order(json_t *obj, char *dst, int required, char *err, size_t errlen)
{
	int r = get_str(obj, "order", dst, API_ORDER_ID_LEN, required, err,
	    errlen);

	if (r == 1 && (strlen(dst) != API_ORDER_ID_LEN || !is_lower_hex(dst))) {
		snprintf(err, errlen, "\"order\" must be %d lowercase hex "
		    "digits", API_ORDER_ID_LEN);
		return -1;
	}
	return r;
}

/* A tracked certificate's name: also safe as a file name. */
static int
get_track_name(json_t *obj, char *dst, char *err, size_t errlen)
{
	size_t n;

	if (get_str(obj, "name", dst, API_MAX_TRACK_NAME, 1, err, errlen) == -1)
		return -1;
	n = strlen(dst);
	if (strchr("abcdefghijklmnopqrstuvwxyz0123456789", dst[0]) == NULL ||
	    strspn(dst, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n) {
		snprintf(err, errlen, "\"name\" must be [a-z0-9][a-z0-9._-]*");
		return -1;
	}
	return 0;
}

static int
get_bool(json_t *obj, const char *key, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static int
get_csr(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	json_t	*v = json_object_get(obj, "csr");
	size_t	 n;

	if (v == NULL || !json_is_string(v)) {
		snprintf(err, errlen, "\"csr\" (PEM text) is required");
		return -1;
	}
	n = json_string_length(v);
	if (n == 0 || n > API_MAX_CSR || strlen(json_string_value(v)) != n) {
		snprintf(err, errlen, "\"csr\" must be 1 to %d bytes of PEM",
		    API_MAX_CSR);
		return -1;
	}
	r->csr = xstrdup(json_string_value(v));
	return 0;
}

static int
get_sans(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	json_t	*v = json_object_get(obj, "sans"), *e;
	size_t	 i;
	char	 e2[200];

	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > MAX_SANS) {
		snprintf(err, errlen, "\"sans\" must be an array of 1 to %d "
		    "strings like \"dns:host.example.com\"", MAX_SANS);
		return -1;
	}
	r->sans = xcalloc(json_array_size(v), sizeof(*r->sans));
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || strlen(json_string_value(e)) !=
		    json_string_length(e)) {
			snprintf(err, errlen, "\"sans\"[%zu] must be a string",
			    i);
			return -1;
		}
		if (san_parse(json_string_value(e), &r->sans[i], e2,
		    sizeof(e2)) == -1) {
			snprintf(err, errlen, "\"sans\"[%zu]: %s", i, e2);
			return -1;
		}
		r->nsans++;
	}
	return 0;
}

static int
get_validity(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "validity_days");

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > MAX_VALIDITY) {
		snprintf(err, errlen, "\"validity_days\" must be an integer "
		    "from 1 to %d", MAX_VALIDITY);
		return -1;
	}
	r->validity_days = (uint32_t)json_integer_value(v);
	return 0;
}

static int
get_reason(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	char name[32];
	int  got = get_str(obj, "reason", name, sizeof(name) - 1, 0, err,
	    errlen);

	if (got == -1)
		return -1;
	r->reason = 0;
	if (got == 1 && (r->reason = api_reason_from_name(name)) == -1) {
		snprintf(err, errlen, "\"reason\" must be one of unspecified, "
		    "keyCompromise, affiliationChanged, superseded, "
		    "cessationOfOperation, privilegeWithdrawn");
		return -1;
	}
	return 0;
}

/* A new gateway key: EC P-256 (default) or RSA 2048/3072/4096. */
static int
get_credential_new(json_t *obj, struct api_request *r, char *err,
    size_t errlen)
{
	json_t	*v = json_object_get(obj, "bits");
	int	 got;

	if ((got = get_str(obj, "key_type", r->key_type,
	    sizeof(r->key_type) - 1, 0, err, errlen)) == -1)
		return -1;
	if (got == 0)
		snprintf(r->key_type, sizeof(r->key_type), "ec");
	if (strcmp(r->key_type, "ec") != 0 && strcmp(r->key_type, "rsa") != 0) {
		snprintf(err, errlen, "\"key_type\" must be ec or rsa");
		return -1;
	}
	if (v != NULL && (!json_is_integer(v) || strcmp(r->key_type, "rsa") !=
	    0 || (json_integer_value(v) != 2048 && json_integer_value(v) !=
	    3072 && json_integer_value(v) != 4096))) {
		snprintf(err, errlen, "\"bits\" is for rsa: 2048, 3072 or 4096");
		return -1;
	}
	r->bits = v != NULL ? (uint32_t)json_integer_value(v) :
	    strcmp(r->key_type, "rsa") == 0 ? 3072 : 256;
	if ((got = get_str(obj, "subject", r->subject, sizeof(r->subject) - 1,
	    0, err, errlen)) == -1)
		return -1;
	if ((got = get_str(obj, "role", r->role, sizeof(r->role) - 1, 0, err,
	    errlen)) == -1)
		return -1;
	if (got == 0)
		snprintf(r->role, sizeof(r->role), "tls");
	if (strcmp(r->role, "tls") != 0 && strcmp(r->role, "checkpoint") != 0) {
		snprintf(err, errlen, "\"role\" must be tls or checkpoint");
		return -1;
	}
	if (strcmp(r->role, "checkpoint") == 0 && (strcmp(r->key_type, "ec") !=
	    0 || r->subject[0] != '\0')) {
		snprintf(err, errlen, "a checkpoint key is EC P-256 (signed "
		    "notes of type 0x02) and has no subject");
		return -1;
	}
	return 0;
}

/*
 * The members of each operation: one function per operation (or per
 * family that takes the same members), named in its row of ops[].
 */
static int
parse_enroll(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	if (get_name(obj, "connector", r->connector, err, errlen) ||
	    get_name(obj, "profile", r->profile, err, errlen) ||
	    get_csr(obj, r, err, errlen) ||
	    get_sans(obj, r, err, errlen) ||
	    get_validity(obj, r, err, errlen) ||
	    get_bool(obj, "wait", &r->wait, err, errlen) ||
	    get_bool(obj, "reuse_pending", &r->reuse_pending, err, errlen))
		return -1;
	return 0;
}

/* status, approve: the order. */
static int
parse_order(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	return get_order(obj, r->order, 1, err, errlen) == -1 ? -1 : 0;
}

static int
parse_reject(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	if (get_order(obj, r->order, 1, err, errlen) == -1 ||
	    get_str(obj, "comment", r->comment, API_MAX_COMMENT, 0, err,
	    errlen) == -1)
		return -1;
	return 0;
}

static int
parse_list(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	return get_bool(obj, "all", &r->all, err, errlen) ||
	    get_bool(obj, "awaiting", &r->awaiting, err, errlen) ? -1 : 0;
}

static int
parse_revoke(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	int got;

	if ((got = get_order(obj, r->order, 0, err, errlen)) == -1 ||
	    get_str(obj, "serial", r->serial, API_MAX_SERIAL, 0, err,
	    errlen) == -1 || get_reason(obj, r, err, errlen) == -1 ||
	    get_str(obj, "comment", r->comment, API_MAX_COMMENT, 0, err,
	    errlen) == -1)
		return -1;
	if ((got == 1) == (r->serial[0] != '\0')) {
		snprintf(err, errlen, "revoke takes exactly one of \"order\" "
		    "and \"serial\"");
		return -1;
	}
	if (r->serial[0] != '\0' && !is_lower_hex(r->serial)) {
		snprintf(err, errlen, "\"serial\" must be lowercase hex");
		return -1;
	}
	return 0;
}

static int
parse_track(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	int got;

	if (get_track_name(obj, r->name, err, errlen) == -1 ||
	    (got = get_order(obj, r->order, 0, err, errlen)) == -1)
		return -1;
	/* An issued order of the caller's, or what enroll takes. */
	if (got == 1) {
		if (json_object_size(obj) != 3) {
			snprintf(err, errlen, "track takes \"order\" or the "
			    "members of enroll, not both");
			return -1;
		}
		return 0;
	}
	if (get_name(obj, "connector", r->connector, err, errlen) ||
	    get_name(obj, "profile", r->profile, err, errlen) ||
	    get_csr(obj, r, err, errlen) ||
	    get_sans(obj, r, err, errlen) ||
	    get_validity(obj, r, err, errlen))
		return -1;
	return 0;
}

/* untrack, fetch, renew: the tracked name. */
static int
parse_name(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	return get_track_name(obj, r->name, err, errlen);
}

static int
parse_tracked(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	return get_bool(obj, "all", &r->all, err, errlen);
}

static int
parse_retire(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	if (get_str(obj, "key_id", r->key_id, sizeof(r->key_id) - 1, 0, err,
	    errlen) == -1)
		return -1;
	if (r->key_id[0] != '\0' && (strlen(r->key_id) % 2 != 0 ||
	    !is_lower_hex(r->key_id))) {
		snprintf(err, errlen, "\"key_id\" must be lowercase hex (a "
		    "CKA_ID)");
		return -1;
	}
	return 0;
}

static int
parse_ca_chain(json_t *obj, struct api_request *r, char *err, size_t errlen)
{
	return get_name(obj, "connector", r->connector, err, errlen);
}

/*
 * The operations: name, the members each takes besides "op" (an
 * unknown member is refused before its parser runs), and its parser
 * (NULL: no members). The handler of each is api_ops.c's handlers[].
 */
static const struct op_spec ops[] = {
	{ OP_ENROLL, "enroll",
	    "connector profile csr sans validity_days wait reuse_pending",
	    parse_enroll },
	{ OP_STATUS, "status", "order", parse_order },
	{ OP_LIST, "list", "all awaiting", parse_list },
	{ OP_REVOKE, "revoke", "order serial reason comment", parse_revoke },
	{ OP_APPROVE, "approve", "order", parse_order },
	{ OP_REJECT, "reject", "order comment", parse_reject },
	{ OP_HEALTH, "health", "", NULL },
	{ OP_METRICS, "metrics", "", NULL },
	{ OP_VERSION, "version", "", NULL },
	{ OP_TRACK, "track",
	    "name order connector profile csr sans validity_days",
	    parse_track },
	{ OP_UNTRACK, "untrack", "name", parse_name },
	{ OP_FETCH, "fetch", "name", parse_name },
	{ OP_TRACKED, "tracked", "all", parse_tracked },
	{ OP_CREDENTIAL_NEW, "credential_new", "key_type bits subject role",
	    get_credential_new },
	{ OP_CREDENTIAL_RETIRE, "credential_retire", "key_id", parse_retire },
	{ OP_CA_CHAIN, "ca_chain", "connector", parse_ca_chain },
	{ OP_OFFERS, "offers", "", NULL },
	{ OP_RENEW, "renew", "name", parse_name },
	{ OP_RECEIPT, "receipt", "order", parse_order },
};
#define NOPS	(sizeof(ops) / sizeof(ops[0]))
_Static_assert(NOPS == OP_LAST, "an operation without its row in ops[]");

const char *
api_op_name(enum api_op op)
{
	for (size_t i = 0; i < NOPS; i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

/* "unknown op; expected enroll, status, ... or renew", from the table. */
static void
unknown_op(char *err, size_t errlen)
{
	size_t n = (size_t)snprintf(err, errlen, "unknown op; expected ");

	for (size_t i = 0; i < NOPS && n < errlen; i++)
		n += (size_t)snprintf(err + n, errlen - n, "%s%s",
		    i == 0 ? "" : i + 1 == NOPS ? " or " : ", ", ops[i].name);
}

int
api_request_parse(const char *line, size_t len, struct api_request *r,
    char *err, size_t errlen)
{
	const struct op_spec	*spec = NULL;
	json_error_t		 jerr;
	json_t			*obj, *opv, *v;
	const char		*key;

	memset(r, 0, sizeof(*r));
	if (len > API_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes",
		    API_MAX_LINE);
		return -1;
	}
	/* Duplicate keys could mean different things to different readers. */
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		snprintf(err, errlen, "not a JSON object: %s (column %d)",
		    jerr.text, jerr.column);
		return -1;
	}
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "a request is a JSON object");
		goto bad;
	}
	opv = json_object_get(obj, "op");
	if (opv == NULL || !json_is_string(opv)) {
		snprintf(err, errlen, "\"op\" (a string) is required");
		goto bad;
	}
	for (size_t i = 0; i < NOPS; i++)
		if (strcmp(ops[i].name, json_string_value(opv)) == 0)
			spec = &ops[i];
	if (spec == NULL) {
		unknown_op(err, errlen);
		goto bad;
	}
	r->op = spec->op;
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "op") != 0 && !member_allowed(spec, key)) {
			snprintf(err, errlen, "unknown member \"%.40s\" for "
			    "%s", key, spec->name);
			goto bad;
		}
	}
	if (spec->parse != NULL && spec->parse(obj, r, err, errlen) == -1)
		goto bad;
	json_decref(obj);
	return 0;
 bad:
	json_decref(obj);
	api_request_free(r);
	return -1;
}

void
api_request_free(struct api_request *r)
{
	free(r->csr);
	free(r->sans);
	memset(r, 0, sizeof(*r));
}
