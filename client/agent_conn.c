/*
 * agent_conn.c - one connection to hsmagentd's local API.
 *
 * The request is one compact JSON line (ASCII-escaped, so no byte of it
 * can end the line early); replies are read a line at a time, capped,
 * and must each be a JSON object.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent_conn.h"

int	agent_echo;

static int
connect_path(const char *path, enum agent_fail *fail)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "hsmagent: socket path too long\n");
		*fail = AGENT_BAD_PATH;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "hsmagent: cannot reach the agent at %s: %s\n",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		*fail = AGENT_DOWN;
		return -1;
	}
	return fd;
}

static int
send_line(int fd, json_t *req)
{
	char	*s = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t	 len, off = 0;

	json_decref(req);
	if (s == NULL) {
		fprintf(stderr, "hsmagent: cannot encode the request\n");
		return -1;
	}
	/* json_dumps' buffer holds len + 1 bytes: the NUL becomes '\n'. */
	len = strlen(s);
	s[len++] = '\n';
	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "hsmagent: write: %s\n", strerror(errno));
			free(s);
			return -1;
		}
		off += (size_t)n;
	}
	free(s);
	return 0;
}

FILE *
agent_open(const char *path, json_t *req, enum agent_fail *fail)
{
	FILE	*f;
	int	 fd;

	*fail = AGENT_OK;
	if ((fd = connect_path(path, fail)) == -1) {
		json_decref(req);
		return NULL;
	}
	if (send_line(fd, req) == -1 || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		*fail = AGENT_DOWN;
		return NULL;
	}
	return f;
}

json_t *
agent_next(FILE *f, enum agent_fail *fail)
{
	static char	*line;
	static size_t	 cap;
	ssize_t		 n;
	json_error_t	 e;
	json_t		*j;

	if ((n = getline(&line, &cap, f)) <= 0) {
		*fail = AGENT_CLOSED;
		return NULL;
	}
	if ((size_t)n > AGENT_MAX_REPLY) {
		fprintf(stderr, "hsmagent: reply too large\n");
		*fail = AGENT_BAD_REPLY;
		return NULL;
	}
	if (agent_echo)
		fputs(line, stdout);
	if ((j = json_loadb(line, (size_t)n, 0, &e)) == NULL ||
	    !json_is_object(j)) {
		fprintf(stderr, "hsmagent: malformed reply: %s\n", j == NULL ?
		    e.text : "not an object");
		json_decref(j);
		*fail = AGENT_BAD_REPLY;
		return NULL;
	}
	*fail = AGENT_OK;
	return j;
}

json_t *
agent_call(const char *path, json_t *req, enum agent_fail *fail)
{
	FILE	*f;
	json_t	*r;

	if ((f = agent_open(path, req, fail)) == NULL)
		return NULL;
	r = agent_next(f, fail);
	fclose(f);
	if (r == NULL && *fail == AGENT_CLOSED)
		fprintf(stderr, "hsmagent: the agent closed the connection\n");
	return r;
}

const char *
agent_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}
