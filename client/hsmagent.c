/*
 * hsmagent.c - the command-line client of hsmagentd's local API.
 *
 * One subcommand per operation. It sends one JSON line, reads reply
 * lines, prints them readably (or as they came with --json) and exits
 * with a code a script can branch on (see usage() and README.md):
 *   0 done / issued        10 pending (approval or CA)
 *   11 denied by policy    12 rejected (approver or CA)
 *   13 retry later         14 fetch: nothing new
 *   1 other error          2 usage         3 no agent
 * "hsmagent audit verify FILE" checks an audit log offline;
 * "hsmagent certmonger-helper" is certmonger's CA helper (certmonger.c),
 * with certmonger's exit codes.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent_conn.h"
#include "audit_cmd.h"
#include "exit_codes.h"
#include "deliver.h"
#include "tools.h"
#include "util.h"
#include "version.h"

#ifndef HSMAGENT_SOCKET
#define HSMAGENT_SOCKET	"/run/hsmagent/hsmagent.sock"
#endif

#define MAX_CSR_FILE	(48 * 1024)


static const char	*socket_path = HSMAGENT_SOCKET;

/* Each command's synopsis: "hsmagent --help", "hsmagent CMD --help". */
static const struct {
	const char	*cmd;
	const char	*text;
} synopsis[] = {
	{ "enroll", "  enroll --connector NAME --profile NAME --csr FILE [--san TYPE:VALUE]...\n"
	    "         [--validity DAYS] [--wait] [--out CERT] [--chain-out CHAIN]\n"
	    "         [--receipt FILE]\n" },
	{ "status", "  status ORDER [--out CERT] [--chain-out CHAIN] [--receipt FILE]\n" },
	{ "list", "  list [--all | --awaiting]   (--awaiting: orders you may approve)\n" },
	{ "revoke", "  revoke (--order ORDER | --serial SERIAL) [--reason NAME] [--comment TEXT]\n"
	    "         (SERIAL as openssl prints it: 0A1B, 0a:1b or serial=0A1B)\n" },
	{ "approve", "  approve ORDER\n" },
	{ "reject", "  reject ORDER [--comment TEXT]\n" },
	{ "track", "  track NAME (--order ORDER | --connector NAME --profile NAME --csr FILE\n"
	    "         [--san TYPE:VALUE]... [--validity DAYS])\n" },
	{ "untrack", "  untrack NAME\n" },
	{ "fetch", "  fetch NAME --out CERT [--chain-out CHAIN] [--exec CMD]\n" },
	{ "tracked", "  tracked [--all | NAME]\n" },
	{ "renew", "  renew NAME       (now, not at the renewal window: getcert resubmit)\n" },
	{ "credential", "  credential new --csr-out FILE [--rsa BITS] [--subject CN]\n"
	    "  credential new --role checkpoint --pub-out FILE\n"
	    "  credential retire [--key-id HEX]\n" },
	{ "offers", "  offers           (the connectors and profiles you may ask for)\n" },
	{ "health", "  health\n" },
	{ "metrics", "  metrics\n" },
	{ "version", "  version          (the agent's; hsmagent --version: this client's)\n" },
	{ "audit", "  audit verify FILE [--no-head] [--key PEM | --vkey LINE]...\n"
	    "         [--checkpoint FILE]\n"
	    "  audit receipt FILE ORDER\n"
	    "  audit prove FILE INDEX\n"
	    "  audit verify-receipt RECEIPT CERT (--key PEM | --vkey LINE)\n"
	    "  audit vkey --key PEM --origin NAME\n" },
	{ "receipt", "  receipt ORDER [--out FILE]   (C2SP tlog-proof; audit "
	    "verify-receipt checks it)\n" },
	{ "certmonger-helper", "  certmonger-helper [--socket PATH] [--connector NAME --profile NAME]\n"
	    "         (run by certmonger: getcert add-ca -e '...'; README.md)\n" },
};

static const char *current_cmd;	/* the subcommand being parsed, or NULL */
static int	   list_all;	/* list --all */
static int	   list_awaiting;	/* list --awaiting */
static const char *receipt_out;		/* enroll, status --receipt FILE */

static void
print_usage(FILE *f, const char *cmd)
{
	size_t	i, n = sizeof(synopsis) / sizeof(synopsis[0]);

	for (i = 0; cmd != NULL && i < n; i++)
		if (strcmp(synopsis[i].cmd, cmd) == 0) {
			fprintf(f, "usage: hsmagent [--socket PATH] [--json] "
			    "%s ...\n%s", cmd, synopsis[i].text);
			if (f == stderr)
				fprintf(f, "(hsmagent --help: every command "
				    "and the exit codes)\n");
			return;
		}
	fprintf(f, "usage: hsmagent [--socket PATH] [--json] COMMAND [ARGS]\n"
	    "       hsmagent --help | --version | COMMAND --help\n");
	for (i = 0; i < n; i++)
		fputs(synopsis[i].text, f);
	fprintf(f,
	    "--json (anywhere on the line): the agent's replies as they came.\n"
	    "The socket: --socket, else $HSMAGENT_SOCKET, else %s.\n"
	    "exit: 0 done/issued/written, 10 pending, 11 denied by policy,\n"
	    "      12 rejected, 13 retry later, 14 fetch: nothing new, 1 error,\n"
	    "      2 usage, 3 agent not reachable\n"
	    "health: 0 ok, 1 degraded, 2 down, 3 agent not reachable\n"
	    "certmonger-helper: certmonger's codes (0 issued, 2 rejected,\n"
	    "      3 unreachable, 4 underconfigured, 5 wait, 6 not supported)\n",
	    HSMAGENT_SOCKET);
}

/* A usage error: the command's own synopsis on stderr, exit 2. */
static __attribute__((noreturn)) void
usage(void)
{
	print_usage(stderr, current_cmd);
	exit(EX_USAGE);
}

/* A bad option value: named, with what was expected; exit 2. */
static __attribute__((noreturn)) void
bad_value(const char *opt, const char *got, const char *expected)
{
	fprintf(stderr, "hsmagent: %s%s: expected %s, got \"%.80s\"\n",
	    current_cmd ? current_cmd : "", opt, expected, got);
	exit(EX_USAGE);
}

/*
 * A serial as openssl and browsers print it ("serial=0A1B", "0a:1b",
 * "0x0A1B") in the agent's form: lower-case hex, no leading zeros.
 */
static char *
normalize_serial(const char *in)
{
	char	*out = xmalloc(strlen(in) + 2), *p = out;

	if (strncasecmp(in, "serial=", 7) == 0)
		in += 7;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in != '\0'; in++) {
		if (*in == ':' || *in == ' ')
			continue;
		if (!isxdigit((unsigned char)*in) || p - out >= 128)
			bad_value(" --serial", in, "a serial in hex, such as "
			    "0A1B, 0a:1b or serial=0A1B");
		if (p == out && *in == '0')
			continue;
		*p++ = (char)tolower((unsigned char)*in);
	}
	if (p == out)
		*p++ = '0';
	*p = '\0';
	return out;
}

/* "DNS:x", "Ip:1.2.3.4": the agent's lower-case type, the value as given. */
static json_t *
san_arg(const char *in)
{
	const char	*colon = strchr(in, ':');
	char		*v = xstrdup(in);
	json_t		*j;

	if (colon == NULL)
		bad_value(" --san", in, "TYPE:VALUE, TYPE dns, ip or email");
	for (char *q = v; q < v + (colon - in); q++)
		*q = (char)tolower((unsigned char)*q);
	j = json_string(v);
	free(v);
	return j;
}

/* The CLI's exit for a failure to talk to the agent at all. */
static int
fail_exit(enum agent_fail fail)
{
	switch (fail) {
	case AGENT_BAD_PATH:
		return EX_USAGE;
	case AGENT_BAD_REPLY:
		return EX_ERROR;
	case AGENT_CLOSED:
		return EX_RETRY;
	default:
		return EX_NOAGENT;
	}
}

static int
error_exit(json_t *reply)
{
	json_t		*e = json_object_get(reply, "error");
	const char	*code = json_string_value(json_object_get(e, "code"));
	const char	*msg = json_string_value(json_object_get(e, "message"));

	if (code == NULL)
		code = "internal";
	if (!agent_echo)
		fprintf(stderr, "hsmagent: %s: %s\n", code, msg ? msg : "");
	if (strcmp(code, "policy_denied") == 0)
		return EX_DENIED;
	if (strcmp(code, "not_issued") == 0)
		return EX_PENDING;
	if (strcmp(code, "ca_rejected") == 0 || strcmp(code, "rejected") == 0)
		return EX_REJECTED;
	if (strcmp(code, "ca_unavailable") == 0 || strcmp(code, "busy") == 0 ||
	    strcmp(code, "unavailable") == 0)
		return EX_RETRY;
	return EX_ERROR;
}

static void
print_order(json_t *o)
{
	printf("order %s: %s  %s/%s  uid %lld", agent_str(o, "id"), agent_str(o, "state"),
	    agent_str(o, "connector"), agent_str(o, "profile"),
	    (long long)json_integer_value(json_object_get(o, "uid")));
	if (json_object_get(o, "serial") != NULL)
		printf("  serial %s", agent_str(o, "serial"));
	if (json_array_size(json_object_get(o, "sans")) > 0) {
		size_t	 i;
		json_t	*v;

		printf("  sans");
		json_array_foreach(json_object_get(o, "sans"), i, v)
			printf("%s%s", i ? "," : " ", json_string_value(v) ?
			    json_string_value(v) : "?");
	}
	if (json_object_get(o, "last_error") != NULL)
		printf("  (%s)", agent_str(o, "last_error"));
	printf("\n");
}

static void
print_time(const char *label, json_t *o, const char *key)
{
	time_t		t = (time_t)json_integer_value(json_object_get(o, key));
	struct tm	tm;
	char		buf[32];

	if (t <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return;
	printf("  %s %s", label, buf);
}

static void
print_tracked(json_t *t)
{
	printf("%s: %s  %s/%s  uid %lld", agent_str(t, "name"), agent_str(t, "status"),
	    agent_str(t, "connector"), agent_str(t, "profile"),
	    (long long)json_integer_value(json_object_get(t, "uid")));
	print_time("expires", t, "not_after");
	print_time("renews", t, "renew_at");
	if (json_object_get(t, "last_error") != NULL)
		printf("  (%s)", agent_str(t, "last_error"));
	printf("\n");
}

/* offers: a header and a line per connector and profile, or none. */
static void
print_offers(json_t *v)
{
	size_t	 i;
	json_t	*e;

	if (json_array_size(v) == 0)
		printf("no rule of the policy names you\n");
	else
		printf("CONNECTOR (TYPE)  PROFILE  MAX DAYS  APPROVAL  RULE\n");
	json_array_foreach(v, i, e) {
		char		days[24] = "-";
		json_int_t	d = json_integer_value(json_object_get(e,
				    "max_validity_days"));

		if (d > 0)
			snprintf(days, sizeof(days), "%lld", (long long)d);
		printf("%s (%s)  %s  %s  %s  %s\n", agent_str(e, "connector"),
		    agent_str(e, "type"), agent_str(e, "profile"), days,
		    json_is_true(json_object_get(e, "approval")) ?
		    "second-person" : "no", agent_str(e, "rule"));
	}
}

/* Certificates go out atomically (deliver.c); -1 after saying why. */
static int
write_pem(const char *path, const char *pem)
{
	char err[512];

	if (path == NULL || pem == NULL)
		return 0;
	if (deliver_file(path, pem, err, sizeof(err)) == -1) {
		fprintf(stderr, "hsmagent: %s\n", err);
		return -1;
	}
	return 0;
}

static json_t *ask(json_t *, int *);

/*
 * The order's receipt (C2SP tlog-proof) into path, or to stdout for
 * NULL. The agent signs a checkpoint for it if none covers it yet.
 */
static int
receipt_to(const char *order, const char *path)
{
	json_t	*r;
	int	 rc;
	char	 err[512];

	if ((r = ask(json_pack("{s:s,s:s}", "op", "receipt", "order", order),
	    &rc)) == NULL)
		return rc;
	rc = EX_DONE;
	if (path == NULL)
		fputs(agent_str(r, "receipt"), stdout);
	else if (deliver_file(path, agent_str(r, "receipt"), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "hsmagent: %s\n", err);
		rc = EX_ERROR;
	}
	json_decref(r);
	return rc;
}

/* Exit code for an order in a final or waiting state. */
static int
order_exit(json_t *o, const char *out, const char *chain_out)
{
	const char *st = agent_str(o, "state");

	if (strcmp(st, "issued") == 0) {
		if (write_pem(out, json_string_value(json_object_get(o,
		    "certificate"))) == -1 || write_pem(chain_out,
		    json_string_value(json_object_get(o, "chain"))) == -1)
			return EX_ERROR;
		if (receipt_out != NULL && receipt_to(agent_str(o, "id"),
		    receipt_out) != EX_DONE) {
			fprintf(stderr, "hsmagent: order %s is issued%s%s; its "
			    "receipt is not written (hsmagent receipt %s --out "
			    "%s asks again)\n", agent_str(o, "id"), out ?
			    " and its certificate is in " : "", out ? out : "",
			    agent_str(o, "id"), receipt_out);
			return EX_ERROR;
		}
		return EX_DONE;
	}
	if (strcmp(st, "rejected") == 0)
		return EX_REJECTED;
	if (strcmp(st, "failed") == 0)
		return EX_ERROR;
	if (strcmp(st, "revoked") == 0)
		return EX_DONE;
	return EX_PENDING;
}

/* What a waiting terminal is told: the order as last heard of. */
struct wait_view {
	time_t	 start;
	char	 id[40];
	char	 state[32];
	char	 said[32];		/* the state last printed */
	time_t	 said_at;		/* when something was last printed */
	time_t	 next_poll;
};

/*
 * Waits for the agent's next line, saying every 30 s how long the order
 * has waited and when the agent asks the CA next. 1 when there is
 * something to read (or the connection ended).
 */
static int
wait_quietly(FILE *f, struct wait_view *w)
{
	struct pollfd	 p = { fileno(f), POLLIN, 0 };
	/* Room for the longer "; the CA is being asked (due HH:MM:SS)". */
	char		 next[64] = "";
	struct tm	 tm;
	time_t		 now;
	int		 n;

	for (;;) {
		/* 30 s after anything was last said, lines or not. */
		now = time(NULL);
		n = w->said_at + 30 > now ? (int)(w->said_at + 30 - now) : 0;
		if ((n = poll(&p, 1, n * 1000)) > 0 || (n == -1 &&
		    errno != EINTR))
			return 1;
		if (n == -1)
			continue;
		now = time(NULL);
		next[0] = '\0';
		/* Past its time: the agent is asking the CA (or about to). */
		if (w->next_poll > 0 && localtime_r(&w->next_poll, &tm) != NULL)
			strftime(next, sizeof(next), w->next_poll > now ?
			    "; next CA poll at %H:%M:%S" :
			    "; the CA is being asked (due %H:%M:%S)", &tm);
		fprintf(stderr, "hsmagent: order %s: %s, waiting %lldm%02llds%s\n",
		    w->id[0] ? w->id : "(new)", w->state[0] ? w->state :
		    "submitted", (long long)(now - w->start) / 60,
		    (long long)(now - w->start) % 60, next);
		w->said_at = now;
	}
}

/*
 * Sends req and handles the replies: progress lines (enroll --wait)
 * go to stderr, the last line decides the exit code.
 */
static int
transact(json_t *req, const char *out, const char *chain_out)
{
	enum agent_fail	 fail;
	FILE		*f;
	json_t		*r, *o;
	int		 rc = EX_DONE;
	/* A person waiting at a terminal hears from us every 30 s. */
	int		 tell = json_is_true(json_object_get(req, "wait")) &&
			    isatty(STDERR_FILENO) && !agent_echo;
	struct wait_view w = { time(NULL), "", "", "", time(NULL), 0 };

	if ((f = agent_open(socket_path, req, &fail)) == NULL)
		return fail_exit(fail);
	/* Unbuffered, so poll() on the descriptor sees every byte. */
	if (tell)
		setvbuf(f, NULL, _IONBF, 0);
	while ((!tell || wait_quietly(f, &w)) &&
	    (r = agent_next(f, &fail)) != NULL) {
		if (json_is_true(json_object_get(r, "progress"))) {
			o = json_object_get(r, "order");
			snprintf(w.id, sizeof(w.id), "%s", agent_str(o, "id"));
			snprintf(w.state, sizeof(w.state), "%s",
			    agent_str(o, "state"));
			w.next_poll = (time_t)json_integer_value(
			    json_object_get(o, "next_poll"));
			/* A new state is news; a new poll time is not. */
			if (strcmp(w.said, w.state) != 0) {
				fprintf(stderr, "hsmagent: order %s: %s\n", w.id,
				    w.state);
				w.said_at = time(NULL);
			}
			snprintf(w.said, sizeof(w.said), "%s", w.state);
			json_decref(r);
			continue;
		}
		if (!json_is_true(json_object_get(r, "ok"))) {
			rc = error_exit(r);
		} else if ((o = json_object_get(r, "order")) != NULL) {
			if (!agent_echo)
				print_order(o);
			rc = order_exit(o, out, chain_out);
		} else if (!agent_echo) {
			json_t *v;

			if ((v = json_object_get(r, "orders")) != NULL) {
				size_t i;
				json_t *e;

				if (json_array_size(v) == 0)
					printf("no orders%s\n", list_awaiting ?
					    " await your approval" : list_all ?
					    "" : " of yours (--all: everyone's, "
					    "for admins)");
				else
					printf("ORDER: STATE  CONNECTOR/PROFILE  "
					    "UID  [SERIAL] [SANS] [(LAST ERROR)]\n");
				json_array_foreach(v, i, e)
					print_order(e);
			} else if ((v = json_object_get(r, "offers")) != NULL &&
			    json_is_array(v)) {
				print_offers(v);
			} else if ((v = json_object_get(r, "tracked")) != NULL &&
			    json_is_array(v)) {
				size_t i;
				json_t *e;

				json_array_foreach(v, i, e)
					print_tracked(e);
			} else if (v != NULL && json_is_string(
			    json_object_get(v, "name")))
				print_tracked(v);
			else if ((v = json_object_get(r, "text")) != NULL)
				fputs(json_string_value(v), stdout);
			else {
				char *s = json_dumps(r, JSON_INDENT(2) |
				    JSON_SORT_KEYS);

				if (s != NULL)
					puts(s);
				free(s);
			}
		}
		json_decref(r);
		fclose(f);
		return rc;
	}
	fclose(f);
	if (fail == AGENT_CLOSED)
		fprintf(stderr, "hsmagent: the agent closed the connection\n");
	return fail_exit(fail);
}

static char *
read_csr(const char *path)
{
	char	*buf;
	size_t	 len;

	if (read_file_capped(path, MAX_CSR_FILE, &buf, &len) == -1) {
		fprintf(stderr, "hsmagent: %s: %s\n", path, errno == EFBIG ?
		    "larger than 48 KiB" : strerror(errno));
		exit(EX_USAGE);
	}
	/* DER starts with a SEQUENCE tag; PEM with text. */
	if (len > 0 && (unsigned char)buf[0] == 0x30) {
		fprintf(stderr, "hsmagent: %s is a DER (binary) CSR; the agent "
		    "takes PEM: openssl req -inform DER -in %s -out %s.pem\n",
		    path, path, path);
		free(buf);
		exit(EX_USAGE);
	}
	if (strstr(buf, "-----BEGIN CERTIFICATE REQUEST-----") == NULL &&
	    strstr(buf, "-----BEGIN NEW CERTIFICATE REQUEST-----") == NULL) {
		fprintf(stderr, "hsmagent: %s: no PEM CSR in it (no line "
		    "\"-----BEGIN CERTIFICATE REQUEST-----\")\n", path);
		free(buf);
		exit(EX_USAGE);
	}
	return buf;
}

static int
cmd_enroll(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "connector", required_argument, NULL, 'c' },
		{ "profile", required_argument, NULL, 'p' },
		{ "csr", required_argument, NULL, 'r' },
		{ "san", required_argument, NULL, 's' },
		{ "validity", required_argument, NULL, 'v' },
		{ "wait", no_argument, NULL, 'w' },
		{ "out", required_argument, NULL, 'o' },
		{ "chain-out", required_argument, NULL, 'C' },
		{ "receipt", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*connector = NULL, *profile = NULL, *csr = NULL;
	const char	*out = NULL, *chain_out = NULL;
	json_t		*req, *sans = json_array();
	long		 validity = 0;
	int		 ch, wait = 0;
	char		*pem, *end;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': connector = optarg; break;
		case 'p': profile = optarg; break;
		case 'r': csr = optarg; break;
		case 's': json_array_append_new(sans, san_arg(optarg)); break;
		case 'v':
			validity = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || validity < 1 ||
			    validity > 825)
				bad_value(" --validity", optarg, "whole days, 1 to "
				    "825");
			break;
		case 'w': wait = 1; break;
		case 'o': out = optarg; break;
		case 'C': chain_out = optarg; break;
		case 'R': receipt_out = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || connector == NULL || profile == NULL ||
	    csr == NULL)
		usage();
	pem = read_csr(csr);
	req = json_pack("{s:s,s:s,s:s,s:s,s:b}", "op", "enroll", "connector",
	    connector, "profile", profile, "csr", pem, "wait", wait);
	free(pem);
	if (json_array_size(sans) > 0)
		json_object_set(req, "sans", sans);
	json_decref(sans);
	if (validity > 0)
		json_object_set_new(req, "validity_days", json_integer(validity));
	return transact(req, out, chain_out);
}

static int
cmd_order_op(const char *op, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "chain-out", required_argument, NULL, 'C' },
		{ "comment", required_argument, NULL, 'm' },
		{ "receipt", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*out = NULL, *chain_out = NULL, *comment = NULL;
	json_t		*req;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'C': chain_out = optarg; break;
		case 'm': comment = optarg; break;
		case 'R': receipt_out = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if ((strcmp(op, "reject") != 0 && comment != NULL) ||
	    (strcmp(op, "status") != 0 && receipt_out != NULL))
		usage();
	req = json_pack("{s:s,s:s}", "op", op, "order", argv[optind]);
	if (comment != NULL)
		json_object_set_new(req, "comment", json_string(comment));
	return transact(req, out, chain_out);
}

static int
cmd_revoke(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "order", required_argument, NULL, 'o' },
		{ "serial", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "comment", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	json_t	*req = json_pack("{s:s}", "op", "revoke");
	int	 ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': json_object_set_new(req, "order", json_string(optarg)); break;
		case 's': {
			char *sn = normalize_serial(optarg);

			json_object_set_new(req, "serial", json_string(sn));
			free(sn);
			break;
		}
		case 'r': json_object_set_new(req, "reason", json_string(optarg)); break;
		case 'm': json_object_set_new(req, "comment", json_string(optarg)); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	return transact(req, NULL, NULL);
}

/*
 * One request, one reply: the reply if it says ok, else NULL with *rc
 * the exit code (the error already printed).
 */
static json_t *
ask(json_t *req, int *rc)
{
	enum agent_fail	 fail;
	json_t		*r;

	if ((r = agent_call(socket_path, req, &fail)) == NULL) {
		*rc = fail_exit(fail);
		return NULL;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		*rc = error_exit(r);
		json_decref(r);
		return NULL;
	}
	return r;
}

/*
 * fetch: the tracked certificate, written with the caller's rights.
 * Exit 0 if a file changed (then --exec runs), 14 if both were current.
 */
static int
cmd_fetch(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "chain-out", required_argument, NULL, 'C' },
		{ "exec", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*out = NULL, *chain_out = NULL, *cmd = NULL;
	json_t		*r;
	int		 ch, w1 = 0, w2 = 0, rc;
	char		 err[512];

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'C': chain_out = optarg; break;
		case 'x': cmd = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || out == NULL)
		usage();
	if ((r = ask(json_pack("{s:s,s:s}", "op", "fetch", "name",
	    argv[optind]), &rc)) == NULL)
		return rc;
	if ((w1 = deliver_file(out, agent_str(r, "certificate"), err,
	    sizeof(err))) == -1 || (chain_out != NULL && (w2 =
	    deliver_file(chain_out, agent_str(r, "chain"), err, sizeof(err))) ==
	    -1)) {
		fprintf(stderr, "hsmagent: %s\n", err);
		json_decref(r);
		return EX_ERROR;
	}
	if (!agent_echo)
		printf("%s: serial %s, %s\n", argv[optind], agent_str(r, "serial"),
		    w1 || w2 ? "written" : "unchanged");
	json_decref(r);
	if (!w1 && !w2)
		return EX_UNCHANGED;
	if (cmd != NULL && (rc = deliver_exec(cmd)) != 0) {
		fprintf(stderr, "hsmagent: --exec exited with %d\n", rc);
		return EX_ERROR;
	}
	return EX_DONE;
}

static int
cmd_track(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "order", required_argument, NULL, 'O' },
		{ "connector", required_argument, NULL, 'c' },
		{ "profile", required_argument, NULL, 'p' },
		{ "csr", required_argument, NULL, 'r' },
		{ "san", required_argument, NULL, 's' },
		{ "validity", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*order = NULL, *connector = NULL, *profile = NULL;
	const char	*csr = NULL;
	json_t		*req, *sans = json_array();
	long		 validity = 0;
	int		 ch;
	char		*pem, *end;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'O': order = optarg; break;
		case 'c': connector = optarg; break;
		case 'p': profile = optarg; break;
		case 'r': csr = optarg; break;
		case 's': json_array_append_new(sans, san_arg(optarg)); break;
		case 'v':
			validity = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || validity < 1 ||
			    validity > 825)
				bad_value(" --validity", optarg, "whole days, 1 to "
				    "825");
			break;
		default: usage();
		}
	}
	if (optind + 1 != argc || (order != NULL) == (csr != NULL) ||
	    (order != NULL && (connector || profile ||
	    json_array_size(sans) || validity)) ||
	    (order == NULL && (connector == NULL || profile == NULL)))
		usage();
	req = json_pack("{s:s,s:s}", "op", "track", "name", argv[optind]);
	if (order != NULL)
		json_object_set_new(req, "order", json_string(order));
	else {
		pem = read_csr(csr);
		json_object_set_new(req, "connector", json_string(connector));
		json_object_set_new(req, "profile", json_string(profile));
		json_object_set_new(req, "csr", json_string(pem));
		free(pem);
		if (json_array_size(sans) > 0)
			json_object_set(req, "sans", sans);
		if (validity > 0)
			json_object_set_new(req, "validity_days",
			    json_integer(validity));
	}
	json_decref(sans);
	return transact(req, NULL, NULL);
}

/*
 * credential new: a key made in the HSM, its CSR written to --csr-out;
 * with --role checkpoint, the audit log's checkpoint key, its public key
 * written to --pub-out and its verifier key line printed, for auditors;
 * credential retire: the old key destroyed once the new one is in use.
 */
static int
cmd_credential(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "csr-out", required_argument, NULL, 'o' },
		{ "rsa", required_argument, NULL, 'r' },
		{ "subject", required_argument, NULL, 's' },
		{ "key-id", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'R' },
		{ "pub-out", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*out = NULL, *pub_out = NULL, *sub;
	json_t		*req, *r, *k;
	int		 ch, rc, is_new, ckpt = 0;
	char		*end, err[512];
	long		 bits;

	if (argc < 2 || (strcmp(argv[1], "new") != 0 &&
	    strcmp(argv[1], "retire") != 0))
		usage();
	is_new = strcmp(argv[1], "new") == 0;
	req = json_pack("{s:s}", "op", is_new ? "credential_new" :
	    "credential_retire");
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'r':
			if (!is_new)
				usage();
			bits = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || (bits != 2048 &&
			    bits != 3072 && bits != 4096))
				bad_value(" new --rsa", optarg, "2048, 3072 or "
				    "4096");
			json_object_set_new(req, "key_type", json_string("rsa"));
			json_object_set_new(req, "bits", json_integer(bits));
			break;
		case 's':
			if (!is_new)
				usage();
			json_object_set_new(req, "subject", json_string(optarg));
			break;
		case 'k':
			if (is_new)
				usage();
			json_object_set_new(req, "key_id", json_string(optarg));
			break;
		case 'R':
			if (!is_new)
				usage();
			if (strcmp(optarg, "tls") != 0 &&
			    strcmp(optarg, "checkpoint") != 0)
				bad_value(" new --role", optarg, "tls or "
				    "checkpoint");
			ckpt = strcmp(optarg, "checkpoint") == 0;
			json_object_set_new(req, "role", json_string(optarg));
			break;
		case 'p': pub_out = optarg; break;
		default: usage();
		}
	}
	/* new: a CSR for the TLS role, a public key for the checkpoint one */
	if (optind != argc || (is_new && ckpt != (pub_out != NULL)) ||
	    (is_new && !ckpt != (out != NULL)) || (!is_new && (out != NULL ||
	    pub_out != NULL)))
		usage();
	if ((r = ask(req, &rc)) == NULL)
		return rc;
	rc = EX_DONE;
	if (is_new && ckpt) {
		k = json_object_get(r, "key");
		if (deliver_file(pub_out, agent_str(r, "public_key"), err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "hsmagent: %s\n", err);
			rc = EX_ERROR;
		} else if (!agent_echo)
			printf("checkpoint key %s (id %s) made in the HSM; public "
			    "key in %s.\n"
			    "Verifier key (for auditors and witnesses):\n"
			    "  %s\n"
			    "Next:\n"
			    "  1. give auditors %s (hsmagent audit verify "
			    "--key) and the line above;\n"
			    "  2. set [state] checkpoint_key_uri = %s;\n"
			    "  3. restart the agent: its checkpoints are then "
			    "signed by this key.\n", agent_str(k, "label"),
			    agent_str(k, "id"), pub_out, agent_str(r, "vkey"),
			    pub_out, agent_str(k, "uri"));
	} else if (is_new) {
		k = json_object_get(r, "key");
		if (deliver_file(out, agent_str(r, "csr"), err, sizeof(err)) == -1) {
			fprintf(stderr, "hsmagent: %s\n", err);
			rc = EX_ERROR;
		} else if (!agent_echo)
			printf("key %s (id %s) made in the HSM; CSR in %s.\n"
			    "Next:\n"
			    "  1. have the CSR certified by the gateway's CA;\n"
			    "  2. install the certificate as the [hsm] "
			    "certificate file: the agent switches to the new "
			    "key at its next handshake;\n"
			    "  3. set [hsm] key_uri = %s so that a restart "
			    "finds it;\n"
			    "  4. hsmagent credential retire (the old key).\n",
			    agent_str(k, "label"), agent_str(k, "id"), out,
			    agent_str(k, "uri"));
	} else if (!agent_echo) {
		k = json_object_get(r, "retired");
		sub = agent_str(k, "label");
		printf("key %s (id %s) destroyed on the token\n", sub,
		    agent_str(k, "id"));
	}
	json_decref(r);
	return rc;
}

/*
 * health: a Nagios plugin's first line ("HSMAGENT OK - summary |
 * perfdata"), then each check on its own line; the exit code is the
 * plugin convention, so monitoring can run it as it is: 0 ok, 1
 * degraded (WARNING), 2 down (CRITICAL), 3 (UNKNOWN) no agent.
 */
static int
cmd_health(void)
{
	static const char *const word[] = { "OK", "WARNING", "CRITICAL" };
	enum agent_fail	 fail;
	json_t		*r, *checks, *v;
	const char	*st, *k, *val;
	int		 rc, nok = 0, nbad = 0, first = 1;

	/* No answer, for whatever reason, is Nagios' 3 (unknown). */
	if ((r = agent_call(socket_path, json_pack("{s:s}", "op", "health"),
	    &fail)) == NULL) {
		if (!agent_echo)
			printf("HSMAGENT UNKNOWN - the agent at %s did not "
			    "answer\n", socket_path);
		return fail == AGENT_BAD_PATH ? EX_USAGE : EX_NOAGENT;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		rc = error_exit(r);
		json_decref(r);
		return rc;
	}
	st = agent_str(r, "status");
	rc = strcmp(st, "ok") == 0 ? EX_DONE : strcmp(st, "degraded") == 0 ?
	    1 : 2;
	if (!agent_echo) {
		checks = json_object_get(r, "checks");
		printf("HSMAGENT %s - ", word[rc]);
		json_object_foreach(checks, k, v) {
			val = json_string_value(v);
			if (val != NULL && strcmp(val, "ok") == 0) {
				nok++;
				continue;
			}
			nbad++;
			printf("%s%s: %s", first ? "" : "; ", k, val ? val : "?");
			first = 0;
		}
		if (nbad == 0)
			printf("all %d checks ok", nok);
		printf(" | checks_ok=%d checks_failing=%d\n%s\n", nok, nbad,
		    st);
		json_object_foreach(checks, k, v)
			printf("  %s: %s\n", k, json_string_value(v));
	}
	json_decref(r);
	return rc;
}

/* tracked NAME: one of the caller's tracked certificates, or exit 1. */
static int
cmd_tracked_one(const char *name)
{
	json_t	*r, *v, *e;
	size_t	 i;
	int	 rc = EX_ERROR;

	if ((r = ask(json_pack("{s:s,s:b}", "op", "tracked", "all", 0), &rc))
	    == NULL)
		return rc;
	rc = EX_ERROR;
	v = json_object_get(r, "tracked");
	json_array_foreach(v, i, e)
		if (strcmp(agent_str(e, "name"), name) == 0) {
			if (!agent_echo)	/* --json: the list came as is */
				print_tracked(e);
			rc = EX_DONE;
		}
	if (rc != EX_DONE)
		fprintf(stderr, "hsmagent: no tracked certificate %s of yours "
		    "(hsmagent tracked lists them)\n", name);
	json_decref(r);
	return rc;
}

/* receipt ORDER [--out FILE]: the agent builds it; checked offline. */
static int
cmd_receipt(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*out = NULL;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	return receipt_to(argv[optind], out);
}

/* "--json" anywhere before "--" (not certmonger's line): taken out. */
static int
take_json_flag(int argc, char *argv[])
{
	int i, j;

	for (i = 1, j = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			agent_echo = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
}

/* main's copy of its command line (a global: reachable until exit). */
static char **whole;

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*cmd, *env;
	int		 ch;

	/* The command line as given, for hsmagent-tools (tools.h); kept
	 * until exit, which frees it. */
	whole = xcalloc((size_t)argc + 1, sizeof(*whole));
	memcpy(whole, argv, (size_t)argc * sizeof(*whole));
	if ((env = getenv("HSMAGENT_SOCKET")) != NULL && env[0] != '\0')
		socket_path = env;
	/* Global options end at the subcommand ("+": no permuting). */
	while ((ch = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (ch) {
		case 'S': socket_path = optarg; break;
		case 'j': agent_echo = 1; break;
		case 'h':
			print_usage(stdout, NULL);
			return EX_DONE;
		case 'V':
			printf("hsmagent %s\n", HSMAGENT_VERSION);
			return EX_DONE;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "help") == 0) {
		print_usage(stdout, argc > 1 ? argv[1] : NULL);
		return EX_DONE;
	}
	/* 0, not 1: glibc then starts afresh, permuting "NAME --opt" too. */
	optind = 0;
	/* certmonger's line is its own: no --json or --help taken from it. */
	if (strcmp(cmd, "certmonger-helper") == 0)
		return tools_certmonger(argc, argv, socket_path, whole);
	current_cmd = cmd;
	argc = take_json_flag(argc, argv);
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_usage(stdout, cmd);
			return EX_DONE;
		}
	if (strcmp(cmd, "enroll") == 0)
		return cmd_enroll(argc, argv);
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "approve") == 0 ||
	    strcmp(cmd, "reject") == 0)
		return cmd_order_op(cmd, argc, argv);
	if (strcmp(cmd, "revoke") == 0)
		return cmd_revoke(argc, argv);
	if (strcmp(cmd, "list") == 0) {
		int awaiting = argc == 2 && strcmp(argv[1], "--awaiting") == 0;

		if (argc > 2 || (argc == 2 && !awaiting &&
		    strcmp(argv[1], "--all") != 0))
			usage();
		list_all = argc == 2 && !awaiting;
		list_awaiting = awaiting;
		return transact(json_pack("{s:s,s:b,s:b}", "op", "list", "all",
		    list_all, "awaiting", awaiting), NULL, NULL);
	}
	if (strcmp(cmd, "health") == 0) {
		if (argc != 1)
			usage();
		return cmd_health();
	}
	if (strcmp(cmd, "offers") == 0) {
		if (argc != 1)
			usage();
		return transact(json_pack("{s:s}", "op", "offers"), NULL,
		    NULL);
	}
	if (strcmp(cmd, "metrics") == 0 || strcmp(cmd, "version") == 0) {
		if (argc != 1)
			usage();
		return transact(json_pack("{s:s}", "op", cmd), NULL, NULL);
	}
	if (strcmp(cmd, "audit") == 0) {
		int rc = tools_audit(argc, argv, whole);

		if (rc == AUDIT_CMD_USAGE)
			usage();
		return rc;
	}
	if (strcmp(cmd, "receipt") == 0)
		return cmd_receipt(argc, argv);
	if (strcmp(cmd, "fetch") == 0)
		return cmd_fetch(argc, argv);
	if (strcmp(cmd, "credential") == 0)
		return cmd_credential(argc, argv);
	if (strcmp(cmd, "track") == 0)
		return cmd_track(argc, argv);
	if (strcmp(cmd, "untrack") == 0) {
		if (argc != 2)
			usage();
		return transact(json_pack("{s:s,s:s}", "op", "untrack", "name",
		    argv[1]), NULL, NULL);
	}
	if (strcmp(cmd, "tracked") == 0) {
		if (argc > 2)
			usage();
		if (argc == 2 && strcmp(argv[1], "--all") != 0)
			return cmd_tracked_one(argv[1]);
		return transact(json_pack("{s:s,s:b}", "op", "tracked", "all",
		    argc == 2), NULL, NULL);
	}
	if (strcmp(cmd, "renew") == 0) {
		if (argc != 2)
			usage();
		return transact(json_pack("{s:s,s:s}", "op", "renew", "name",
		    argv[1]), NULL, NULL);
	}
	fprintf(stderr, "hsmagent: unknown command \"%.64s\"\n", cmd);
	current_cmd = NULL;
	usage();
}
