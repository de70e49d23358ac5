/*
 * certmonger.c - the client as a certmonger external CA helper.
 *
 * certmonger (getcert add-ca -c NAME -e 'hsmagent certmonger-helper
 * --connector C --profile P') makes the key and the CSR and runs this
 * with CERTMONGER_OPERATION and the other CERTMONGER_* variables:
 *
 *   SUBMIT       the CSR becomes an enroll request of the helper's uid,
 *                so the policy and the audit apply as to any client;
 *                "reuse_pending" makes the agent answer the caller's live
 *                order for the same CSR instead of enrolling twice
 *                (certmonger may abandon a helper and run it again)
 *   POLL         CERTMONGER_CA_COOKIE is that order's id: its status
 *   IDENTIFY     a version line, no agent call (run at every start)
 *   FETCH-ROOTS  the root certificates the connector's orders came with
 *
 * Every other operation (the GET-* and SCEP ones certmonger asks every
 * CA at start) is "not supported". certmonger scrubs the environment,
 * so the configuration comes from argv. The variables are untrusted
 * input: each is capped and checked before it is used, and nothing from
 * them or from the agent reaches stdout except checked PEM and one-line
 * messages without control characters.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent_conn.h"
#include "api_limits.h"
#include "certmonger.h"
#include "util.h"
#include "version.h"

#define MAX_OPERATION	40
#define SUBMIT_WAIT_S	30	/* then a cookie: certmonger polls */
#define DELAY_MIN_S	5
#define DELAY_MAX_S	3600
#define DELAY_APPROVAL_S 300	/* a person decides: no need to hurry */
#define MAX_ROOTS	16

struct helper {
	const char	*socket;
	const char	*connector;
	const char	*profile;
};

/* One line on stdout: certmonger shows it as the request's ca-error. */
static void
say(const char *prefix, const char *msg)
{
	fputs(prefix, stdout);
	for (; msg != NULL && *msg != '\0'; msg++)
		putchar(*msg >= 0x20 && *msg < 0x7f ? *msg : ' ');
	putchar('\n');
}

/*
 * A CERTMONGER_* variable of at most max bytes: 1 and *out, 0 unset or
 * empty, -1 longer than max.
 */
static int
env_get(const char *name, size_t max, const char **out)
{
	const char *v = getenv(name);

	*out = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	if (strnlen(v, max + 1) > max)
		return -1;
	*out = v;
	return 1;
}

static int
all_in(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

/* PEM text of one PKCS#10 request: printable ASCII and line ends only. */
static int
csr_ok(const char *csr)
{
	for (const char *p = csr; *p != '\0'; p++)
		if ((*p < 0x20 || *p > 0x7e) && *p != '\n' && *p != '\r')
			return 0;
	return strstr(csr, "-----BEGIN CERTIFICATE REQUEST-----") != NULL ||
	    strstr(csr, "-----BEGIN NEW CERTIFICATE REQUEST-----") != NULL;
}

/* An agent error reply: rejected (2) or try again later (3). */
static int
error_status(json_t *reply)
{
	json_t		*e = json_object_get(reply, "error");
	const char	*code = agent_str(e, "code");
	static const char *const permanent[] = { "policy_denied", "rejected",
	    "ca_rejected", "bad_request", "not_found", "conflict" };

	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
		if (strcmp(code, permanent[i]) == 0) {
			printf("hsmagent: %s: ", strcmp(code, "policy_denied")
			    == 0 ? "denied by policy" : code);
			say("", agent_str(e, "message"));
			return CM_REJECTED;
		}
	}
	printf("hsmagent: %s: ", code);
	say("", agent_str(e, "message"));
	return CM_UNREACHABLE;
}

/* When certmonger should ask again: just after the agent asks the CA. */
static long
poll_delay(json_t *o)
{
	json_int_t	next = json_integer_value(json_object_get(o,
			    "next_poll"));
	json_int_t	now = (json_int_t)time(NULL);
	long		d = 10;

	if (strcmp(agent_str(o, "state"), "awaiting_approval") == 0)
		return DELAY_APPROVAL_S;
	if (next > now)
		d = next - now > DELAY_MAX_S ? DELAY_MAX_S :
		    (long)(next - now) + 1;
	return d < DELAY_MIN_S ? DELAY_MIN_S : d;
}

static int
wait_with_cookie(json_t *o)
{
	printf("%ld\n%s\n", poll_delay(o), agent_str(o, "id"));
	return CM_WAIT_WITH_DELAY;
}

/* What an order's state means to certmonger. */
static int
order_status(json_t *o)
{
	const char	*st = agent_str(o, "state");
	const char	*cert;

	if (strcmp(st, "issued") == 0) {
		cert = json_string_value(json_object_get(o, "certificate"));
		if (cert == NULL || strstr(cert, "-----BEGIN CERTIFICATE-----")
		    == NULL) {
			say("hsmagent: issued, but the agent sent no "
			    "certificate for order ", agent_str(o, "id"));
			return CM_UNREACHABLE;
		}
		fputs(cert, stdout);
		if (cert[strlen(cert) - 1] != '\n')
			putchar('\n');
		return CM_ISSUED;
	}
	if (strcmp(st, "rejected") == 0 || strcmp(st, "failed") == 0 ||
	    strcmp(st, "revoked") == 0) {
		printf("hsmagent: order %s %s: ", agent_str(o, "id"), st);
		say("", json_object_get(o, "last_error") != NULL ?
		    agent_str(o, "last_error") : "no reason given");
		return CM_REJECTED;
	}
	return wait_with_cookie(o);
}

static int
cm_submit(const struct helper *h)
{
	const char	*csr;
	json_t		*req, *r, *o, *last = NULL;
	FILE		*f;
	enum agent_fail	 fail;
	struct timeval	 tv = { SUBMIT_WAIT_S, 0 };
	int		 got, rc;

	if ((got = env_get("CERTMONGER_CSR", API_MAX_CSR, &csr)) == -1) {
		printf("hsmagent: the CSR is larger than the agent's %d-byte "
		    "limit\n", API_MAX_CSR);
		return CM_REJECTED;
	}
	if (got == 0 || !csr_ok(csr)) {
		say("hsmagent: ", got == 0 ? "no CSR in CERTMONGER_CSR" :
		    "CERTMONGER_CSR is not a PEM certificate request");
		return CM_REJECTED;
	}
	req = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "op", "enroll",
	    "connector", h->connector, "profile", h->profile, "csr", csr,
	    "wait", 1, "reuse_pending", 1);
	if ((f = agent_open(h->socket, req, &fail)) == NULL) {
		say("hsmagent: cannot reach the agent at ", h->socket);
		return CM_UNREACHABLE;
	}
	/* A CA that takes its time: after a while, a cookie instead. */
	(void)setsockopt(fileno(f), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((r = agent_next(f, &fail)) != NULL) {
		o = json_object_get(r, "order");
		if (!json_is_true(json_object_get(r, "ok")))
			rc = error_status(r);
		else if (!json_is_object(o)) {
			say("hsmagent: ", "the agent's reply has no order");
			rc = CM_UNREACHABLE;
		} else if (json_is_true(json_object_get(r, "progress")) &&
		    (strcmp(agent_str(o, "state"), "received") == 0 ||
		    strcmp(agent_str(o, "state"), "submitting") == 0)) {
			/* Not at the CA yet: the next line says more. */
			json_decref(last);
			last = json_incref(o);
			json_decref(r);
			continue;
		} else
			rc = order_status(o);
		json_decref(r);
		json_decref(last);
		fclose(f);
		return rc;
	}
	fclose(f);
	if (last != NULL) {
		/* The order is the agent's to finish: come back for it. */
		rc = wait_with_cookie(last);
		json_decref(last);
		return rc;
	}
	say("hsmagent: ", "the agent closed the connection without an answer");
	return CM_UNREACHABLE;
}

static int
cm_poll(const struct helper *h)
{
	const char	*cookie;
	json_t		*r;
	enum agent_fail	 fail;
	int		 rc;

	if (env_get("CERTMONGER_CA_COOKIE", API_ORDER_ID_LEN, &cookie) != 1 ||
	    strlen(cookie) != API_ORDER_ID_LEN ||
	    !all_in(cookie, "0123456789abcdef")) {
		say("hsmagent: ", "CERTMONGER_CA_COOKIE is not an hsmagent "
		    "order id; getcert resubmit starts a new request");
		return CM_REJECTED;
	}
	if ((r = agent_call(h->socket, json_pack("{s:s,s:s}", "op", "status",
	    "order", cookie), &fail)) == NULL) {
		say("hsmagent: cannot reach the agent at ", h->socket);
		return CM_UNREACHABLE;
	}
	if (!json_is_true(json_object_get(r, "ok")))
		rc = error_status(r);
	else if (!json_is_object(json_object_get(r, "order"))) {
		say("hsmagent: ", "the agent's reply has no order");
		rc = CM_UNREACHABLE;
	} else
		rc = order_status(json_object_get(r, "order"));
	json_decref(r);
	return rc;
}

/* "Nickname\nPEM" for one root; certmonger shows the nickname. */
static void
print_root(X509 *x, BIO *out, const char *connector)
{
	char	cn[128];
	int	n;

	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn));
	if (n <= 0 || !all_in(cn, " abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,_-()'/:@"))
		snprintf(cn, sizeof(cn), "hsmagent %s root", connector);
	(void)BIO_printf(out, "%s\n", cn);
	(void)PEM_write_bio_X509(out, x);
}

/*
 * The roots (self-issued certificates) of the chain the agent has for
 * the connector. certmonger reads nickname/PEM pairs and takes a blank
 * line as the end of the roots, so intermediates, which it would file as
 * further roots, are left out. Nothing issued yet: no output, status 0,
 * and certmonger asks again at its next start.
 */
static int
cm_fetch_roots(const struct helper *h)
{
	json_t		*r;
	enum agent_fail	 fail;
	const char	*chain;
	BIO		*in, *out;
	X509		*x;
	int		 rc = CM_ISSUED, n = 0;

	if ((r = agent_call(h->socket, json_pack("{s:s,s:s}", "op",
	    "ca_chain", "connector", h->connector), &fail)) == NULL) {
		say("hsmagent: cannot reach the agent at ", h->socket);
		return CM_UNREACHABLE;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		rc = error_status(r) == CM_REJECTED ? CM_UNCONFIGURED :
		    CM_UNREACHABLE;
		json_decref(r);
		return rc;
	}
	if ((chain = json_string_value(json_object_get(r, "chain"))) == NULL) {
		json_decref(r);
		return CM_ISSUED;
	}
	in = BIO_new_mem_buf(chain, -1);
	out = BIO_new_fp(stdout, BIO_NOCLOSE);
	while (in != NULL && out != NULL && n < MAX_ROOTS &&
	    (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (X509_check_issued(x, x) == X509_V_OK) {
			print_root(x, out, h->connector);
			n++;
		}
		X509_free(x);
	}
	BIO_free(out);
	BIO_free(in);
	json_decref(r);
	return rc;
}

static int
underconfigured(const char *why)
{
	say("hsmagent certmonger-helper: ", why);
	return CM_UNCONFIGURED;
}

int
certmonger_helper(int argc, char *argv[], const char *socket_path)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "connector", required_argument, NULL, 'c' },
		{ "profile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct helper	 h = { socket_path, NULL, NULL };
	const char	*op, *profile;
	int		 ch, got;

	/* stdout is certmonger's: never the raw replies (--json). */
	agent_echo = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'S': h.socket = optarg; break;
		case 'c': h.connector = optarg; break;
		case 'p': h.profile = optarg; break;
		default:
			return underconfigured("usage: certmonger-helper "
			    "[--socket PATH] [--connector C --profile P]");
		}
	}
	if (optind != argc)
		return underconfigured("usage: certmonger-helper "
		    "[--socket PATH] [--connector C --profile P]");
	/* Unset means SUBMIT, as certmonger's older daemons assumed. */
	if ((got = env_get("CERTMONGER_OPERATION", MAX_OPERATION, &op)) == 0)
		op = "SUBMIT";
	if (got == -1 || !all_in(op, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-"))
		return CM_UNSUPPORTED;
	if (strcmp(op, "IDENTIFY") == 0) {
		printf("hsmagent %s (certmonger helper for hsmagentd%s%s)\n",
		    HSMAGENT_VERSION, h.connector ? ", connector " : "",
		    h.connector ? h.connector : "");
		return CM_ISSUED;
	}
	if (strcmp(op, "SUBMIT") != 0 && strcmp(op, "POLL") != 0 &&
	    strcmp(op, "FETCH-ROOTS") != 0)
		return CM_UNSUPPORTED;
	if (h.connector == NULL || !name_ok(h.connector, API_MAX_NAME))
		return underconfigured("--connector NAME ([a-z0-9_-]) is "
		    "needed");
	if (strcmp(op, "FETCH-ROOTS") == 0)
		return cm_fetch_roots(&h);
	/* getcert request -T PROFILE overrides --profile; policy decides. */
	if ((got = env_get("CERTMONGER_CA_PROFILE", API_MAX_NAME,
	    &profile)) == -1 || (got == 1 && !name_ok(profile, API_MAX_NAME)))
		return underconfigured("CERTMONGER_CA_PROFILE (getcert -T) "
		    "must be 1 to 64 of [a-z0-9_-]");
	if (got == 1)
		h.profile = profile;
	if (h.profile == NULL || !name_ok(h.profile, API_MAX_NAME))
		return underconfigured("--profile NAME ([a-z0-9_-]) is needed");
	return strcmp(op, "POLL") == 0 ? cm_poll(&h) : cm_submit(&h);
}
