/*
 * agent_conn.h - the client's side of the local API: one JSON request
 * line out, reply lines in.
 *
 * Nothing here exits: each caller (the CLI, the certmonger helper) has
 * its own exit codes, so failures come back as values and the reason
 * goes to stderr.
 */
#ifndef HSMAGENT_AGENT_CONN_H
#define HSMAGENT_AGENT_CONN_H

#include <stdio.h>

#include <jansson.h>

#define AGENT_MAX_REPLY	(8 * 1024 * 1024)

enum agent_fail {
	AGENT_OK = 0,
	AGENT_DOWN,		/* cannot connect or write */
	AGENT_CLOSED,		/* EOF where a reply was due */
	AGENT_BAD_PATH,		/* the socket path does not fit */
	AGENT_BAD_REPLY,	/* malformed or oversized reply */
};

/* Set by --json: every reply line is echoed to stdout as it came. */
extern int	agent_echo;

/*
 * Connects to the socket at path and sends req (consumed): the stream
 * the replies come on, or NULL with *fail set.
 */
FILE	*agent_open(const char *path, json_t *req, enum agent_fail *fail);
/* The next reply line as an object; NULL at EOF (*fail AGENT_CLOSED)
 * or on a bad line (*fail AGENT_BAD_REPLY). */
json_t	*agent_next(FILE *, enum agent_fail *fail);
/* One request, its one reply (ok or not), or NULL with *fail set. */
json_t	*agent_call(const char *path, json_t *req, enum agent_fail *fail);
/* A reply's string member, or "-". */
const char *agent_str(json_t *, const char *key);

#endif
