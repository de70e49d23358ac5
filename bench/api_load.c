/*
 * api_load.c - concurrent clients of the agent's local socket, for the
 * benchmarks. Each request is what `hsmagent` sends: connect, one JSON
 * line, the reply line(s), close.
 *
 *   api-load status SOCKET ORDER CLIENTS SECONDS [RATE [keep|poisson]]
 *       CLIENTS threads ask for the status of ORDER for SECONDS: back to
 *       back (RATE 0), or RATE times a second each on a fixed schedule
 *       (open loop: a late request counts its latency from when it was
 *       due, so a stall is not hidden). "keep": each client sends its
 *       requests over one connection, as a long-lived local service
 *       would; else a connection per request, as the CLI does. Prints
 *       "status: N requests, F failed, p50 X us, p99 Y us, max Z us,
 *       R per second"; with a RATE, a second line splits that latency
 *       into the client's own lateness in sending (its wake-up on a busy
 *       machine) and the time from sending to the answer.
 *   api-load enroll SOCKET CONNECTOR PROFILE CSR_FILE CLIENTS COUNT WAIT
 *       COUNT enrollments (WAIT 1: each waits for its outcome) from
 *       CLIENTS threads; prints "enroll: N requests, K issued, P pending,
 *       F failed in T us". CSR_FILE "-": a new P-256 key and CSR for each
 *       request (CN and DNS name bN.b.example.com), so that no two orders
 *       are alike.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "util.h"

#define MAX_CLIENTS	256
#define MAX_SAMPLES	(4 * 1024 * 1024)

static const char	*sock_path;
static char		*request;	/* the JSON line, with its newline */
static size_t		 request_len;
static int64_t		 until_us, start_us;
static int64_t		 period_us;	/* status RATE: 1e6 / RATE, or 0 */
static int		 keep_alive;	/* status: one connection per client */
static int		 poisson;	/* status: exponential gaps, mean 1/RATE */
static long		 remaining;	/* enroll: requests left to send */
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t		*samples;
static size_t		 nsamples;
/*
 * Beside each sample, nsamples of them too: how late the client itself
 * sent, past when it was due (its own wake-up on a busy machine), and
 * the time from sending to the answer (the agent's queue and work).
 */
static int64_t		*lates;
static int64_t		*served;
static long		 issued, pending, failed;
static json_t		*enroll_tmpl;	/* CSR_FILE "-": the request sans csr */
static long		 next_name;

/* A fresh P-256 key's CSR for bN.b.example.com, PEM (malloc'd). */
static char *
make_csr(long n)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509_REQ	*req = X509_REQ_new();
	X509_NAME	*name = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION	*san;
	BIO		*b = BIO_new(BIO_s_mem());
	char		 cn[64], alt[80], *pem, *data;
	long		 len;

	snprintf(cn, sizeof(cn), "b%ld.b.example.com", n);
	snprintf(alt, sizeof(alt), "DNS:%s", cn);
	if (k == NULL || req == NULL || name == NULL || exts == NULL ||
	    b == NULL || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, k) != 1 ||
	    (san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    alt)) == NULL || sk_X509_EXTENSION_push(exts, san) <= 0 ||
	    X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(b, req) != 1 ||
	    (len = BIO_get_mem_data(b, &data)) <= 0)
		fatalx("cannot make a CSR");
	pem = xmalloc((size_t)len + 1);
	memcpy(pem, data, (size_t)len);
	pem[len] = '\0';
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	BIO_free(b);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return pem;
}

static int
connect_agent(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One request; returns the last reply line parsed (progress lines are
 * skipped), or NULL.
 */
static json_t *
exchange(const char *req, size_t req_len)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0, off = 0;
	json_t	*r = NULL;
	int	 fd;

	if ((fd = connect_agent()) == -1)
		return NULL;
	while (off < req_len) {
		ssize_t n = write(fd, req + off, req_len - off);

		if (n <= 0) {
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		json_decref(r);
		if ((r = json_loads(line, 0, NULL)) == NULL ||
		    !json_is_true(json_object_get(r, "progress")))
			break;
	}
	free(line);
	fclose(f);
	return r;
}

/* One request on a kept connection (opened on first use); NULL: failed. */
static json_t *
exchange_kept(int *fd, FILE **f)
{
	char	*line = NULL;
	size_t	 cap = 0, off = 0;
	json_t	*r = NULL;

	if (*f == NULL) {
		if ((*fd = connect_agent()) == -1)
			return NULL;
		if ((*f = fdopen(dup(*fd), "r")) == NULL) {
			close(*fd);
			return NULL;
		}
	}
	while (off < request_len) {
		ssize_t n = write(*fd, request + off, request_len - off);

		if (n <= 0)
			goto drop;
		off += (size_t)n;
	}
	if (getline(&line, &cap, *f) <= 0 ||
	    (r = json_loads(line, 0, NULL)) == NULL)
		goto drop;
	free(line);
	return r;
 drop:
	free(line);
	fclose(*f);
	close(*fd);
	*f = NULL;
	return NULL;
}

static void *
status_client(void *arg)
{
	/* Spread the clients' schedules over one period. */
	int64_t		 due = start_us + (period_us * (int64_t)(intptr_t)arg) / 64;
	FILE		*kf = NULL;
	int		 kfd = -1;
	unsigned int	 seed = (unsigned int)(intptr_t)arg * 2654435761u + 1;

	while (monotime_us() < until_us) {
		int64_t	 t0 = monotime_us();
		int64_t	 sent;
		json_t	*r;
		int	 ok;

		if (period_us > 0) {
			if (t0 < due) {
				usleep((useconds_t)(due - t0));
				t0 = due;
			} else
				t0 = due;	/* late: counted from when due */
			/*
			 * Poisson arrivals: the gap to the next is exponential
			 * with the same mean, so requests bunch up and queue as
			 * independent callers' would.
			 */
			due += poisson ? (int64_t)(-log(((double)rand_r(&seed) +
			    1.0) / ((double)RAND_MAX + 2.0)) * (double)period_us) :
			    period_us;
		}
		sent = monotime_us();
		r = keep_alive ? exchange_kept(&kfd, &kf) :
		    exchange(request, request_len);
		ok = r != NULL && json_is_true(json_object_get(r, "ok"));
		json_decref(r);
		pthread_mutex_lock(&mu);
		if (!ok)
			failed++;
		else if (nsamples < MAX_SAMPLES) {
			int64_t now = monotime_us();

			served[nsamples] = now - sent;
			lates[nsamples] = sent - t0;
			samples[nsamples++] = now - t0;
		}
		pthread_mutex_unlock(&mu);
	}
	if (kf != NULL) {
		fclose(kf);
		close(kfd);
	}
	return NULL;
}

static void *
enroll_client(void *arg)
{
	(void)arg;
	for (;;) {
		json_t		*r, *req;
		const char	*st;
		char		*csr, *line;
		long		 n;

		pthread_mutex_lock(&mu);
		if (remaining == 0) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		remaining--;
		n = next_name++;
		pthread_mutex_unlock(&mu);
		if (enroll_tmpl == NULL)
			r = exchange(request, request_len);
		else {
			csr = make_csr(n);
			req = json_deep_copy(enroll_tmpl);
			json_object_set_new(req, "csr", json_string(csr));
			line = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);
			json_decref(req);
			free(csr);
			if (line == NULL)
				fatalx("cannot encode the request");
			n = (long)strlen(line);
			line[n] = '\n';	/* json_dumps left room for the NUL */
			r = exchange(line, (size_t)n + 1);
			free(line);
		}
		st = json_string_value(json_object_get(json_object_get(r,
		    "order"), "state"));
		pthread_mutex_lock(&mu);
		if (!json_is_true(json_object_get(r, "ok")) || st == NULL)
			failed++;
		else if (strcmp(st, "issued") == 0)
			issued++;
		else
			pending++;
		pthread_mutex_unlock(&mu);
		json_decref(r);
	}
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static long
number(const char *s, long lo, long hi)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		fatalx("%s: want a number in [%ld, %ld]", s, lo, hi);
	return v;
}

static void
set_request(json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(req);
	if (s == NULL)
		fatalx("cannot encode the request");
	request_len = strlen(s) + 1;
	request = xmalloc(request_len + 1);
	memcpy(request, s, request_len - 1);
	request[request_len - 1] = '\n';
	free(s);
}

static void
run(void *(*fn)(void *), long clients)
{
	pthread_t th[MAX_CLIENTS];

	for (long i = 0; i < clients; i++)
		if (pthread_create(&th[i], NULL, fn, (void *)(intptr_t)(i % 64)) !=
		    0)
			fatalx("pthread_create");
	for (long i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
}

int
main(int argc, char *argv[])
{
	int64_t t0;
	long	clients;

	if (argc >= 6 && argc <= 8 && strcmp(argv[1], "status") == 0) {
		int64_t secs;

		sock_path = argv[2];
		clients = number(argv[4], 1, MAX_CLIENTS);
		set_request(json_pack("{s:s,s:s}", "op", "status", "order",
		    argv[3]));
		samples = xcalloc(MAX_SAMPLES, sizeof(*samples));
		lates = xcalloc(MAX_SAMPLES, sizeof(*lates));
		served = xcalloc(MAX_SAMPLES, sizeof(*served));
		if (argc >= 7 && number(argv[6], 0, 100000) > 0)
			period_us = 1000000 / number(argv[6], 1, 100000);
		if (argc == 8) {
			if (strcmp(argv[7], "keep") == 0)
				keep_alive = 1;
			else if (strcmp(argv[7], "poisson") == 0 &&
			    period_us > 0)
				poisson = 1;
			else
				fatalx("%s: want keep, or poisson with a RATE",
				    argv[7]);
		}
		secs = number(argv[5], 1, 600);
		start_us = monotime_us();
		until_us = start_us + secs * 1000000;
		run(status_client, clients);
		if (nsamples == 0)
			fatalx("status: no request succeeded (%ld failed)",
			    failed);
		qsort(samples, nsamples, sizeof(*samples), cmp64);
		printf("status: %zu requests, %ld failed, p50 %lld us, "
		    "p99 %lld us, max %lld us, %.0f per second\n", nsamples,
		    failed, (long long)samples[nsamples / 2],
		    (long long)samples[nsamples * 99 / 100],
		    (long long)samples[nsamples - 1],
		    (double)nsamples / (double)secs);
		if (period_us > 0) {
			qsort(lates, nsamples, sizeof(*lates), cmp64);
			qsort(served, nsamples, sizeof(*served), cmp64);
			printf("status: split: the clients' own lateness in "
			    "sending p50 %lld us, p99 %lld us; from sending to "
			    "the answer p50 %lld us, p99 %lld us\n",
			    (long long)lates[nsamples / 2],
			    (long long)lates[nsamples * 99 / 100],
			    (long long)served[nsamples / 2],
			    (long long)served[nsamples * 99 / 100]);
		}
		return failed == 0 ? 0 : 1;
	}
	if (argc == 9 && strcmp(argv[1], "enroll") == 0) {
		char	*csr;
		size_t	 len;
		json_t	*req;

		sock_path = argv[2];
		clients = number(argv[6], 1, MAX_CLIENTS);
		remaining = number(argv[7], 1, 1000000);
		req = json_pack("{s:s,s:s,s:s,s:b}", "op", "enroll", "connector",
		    argv[3], "profile", argv[4], "wait",
		    (int)number(argv[8], 0, 1));
		if (strcmp(argv[5], "-") == 0)
			enroll_tmpl = req;
		else {
			if (read_file_capped(argv[5], 64 * 1024, &csr, &len) ==
			    -1)
				fatal("%s", argv[5]);
			json_object_set_new(req, "csr", json_stringn(csr, len));
			free(csr);
			set_request(req);
		}
		t0 = monotime_us();
		run(enroll_client, clients);
		printf("enroll: %ld requests, %ld issued, %ld pending, "
		    "%ld failed in %lld us\n", issued + pending + failed,
		    issued, pending, failed, (long long)(monotime_us() - t0));
		return failed == 0 ? 0 : 1;
	}
	fprintf(stderr, "usage: api-load status SOCKET ORDER CLIENTS SECONDS "
	    "[RATE [keep|poisson]]\n"
	    "       api-load enroll SOCKET CONNECTOR PROFILE CSR_FILE CLIENTS "
	    "COUNT WAIT\n");
	return 2;
}
