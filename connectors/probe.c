/*
 * probe.c - the probe job: GET a URL over mTLS with the proxy key, and
 * report status, TLS version and (capped) body to the parent. It proves
 * the whole path (child -> parent -> HSM) and checks a CA endpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "keyproxy.h"
#include "log.h"
#include "probe_job.h"
#include "util.h"

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct probe_job	*j = arg;
	size_t			 n = size * nmemb, keep;

	if (n > PROBE_MAX_READ - j->read_total) {
		j->oversized = 1;
		return 0;		/* abandons the transfer: too large */
	}
	j->read_total += n;
	keep = j->body_cap - j->body_len;
	if (n < keep)
		keep = n;
	else
		j->truncated = 1;
	memcpy(j->body + j->body_len, data, keep);
	j->body_len += keep;
	return n;
}

static void
job_free(struct probe_job *j)
{
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	EVP_PKEY_free(j->key);
	free(j->body);
	free(j);
}

static void
send_result(struct child *c, struct probe_job *j, uint8_t status,
    long http, CURLcode cc, const char *error)
{
	struct ipc_job_result	 r;
	struct wbuf		 b;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.truncated = (uint8_t)j->truncated;
	r.http_status = http >= 0 && http <= 999 ? (uint32_t)http : 0;
	r.curl_code = (uint32_t)cc;
	snprintf(r.tls_version, sizeof(r.tls_version), "%s", j->tls_version);
	copy_printable(r.error, sizeof(r.error), error);
	r.body = j->body;
	r.body_len = j->body_len;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_job_result(&b, &r);
	child_send(c, IPC_JOB_RESULT, j->id, &b);
	wbuf_free(&b);
}

#define SETOPT(h, o, v) do {						\
	if (curl_easy_setopt((h), (o), (v)) != CURLE_OK)		\
		goto fail;						\
} while (0)

/*
 * The host and port of the request being made (its URL as set last), for
 * the parent to connect to. 0, or -1 if it cannot be read.
 */
static int
request_target(struct probe_job *j, char *host, size_t hostlen,
    uint16_t *port)
{
	CURLU		*u = curl_url();
	char		*url = NULL, *h = NULL, *p = NULL;
	size_t		 n;
	int		 r = -1;

	if (u == NULL || curl_easy_getinfo(j->easy, CURLINFO_EFFECTIVE_URL,
	    &url) != CURLE_OK || url == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	/* An IPv6 literal comes in brackets. */
	n = strlen(h);
	if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
		h[n - 1] = '\0';
		memmove(h, h + 1, n - 1);
	}
	if (strlen(h) < hostlen && atoi(p) > 0 && atoi(p) < 65536) {
		snprintf(host, hostlen, "%s", h);
		*port = (uint16_t)atoi(p);
		r = 0;
	}
 out:
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return r;
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: the connection comes from the parent, to
 * the job's CA (or its proxy). curl was told a placeholder address
 * (CONNECT_PLACEHOLDER), so it never resolved a name; it is ignored here.
 */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct probe_job	*j = arg;
	char			 host[IPC_MAX_HOST + 1];
	uint16_t		 port;
	int			 fd;

	(void)addr;
	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (j->proxy_port != 0) {
		snprintf(host, sizeof(host), "%s", j->proxy_host);
		port = j->proxy_port;
	} else if (request_target(j, host, sizeof(host), &port) == -1) {
		snprintf(j->connect_error, sizeof(j->connect_error), "cannot "
		    "tell where the request goes");
		return CURL_SOCKET_BAD;
	}
	fd = child_connect(j->child, j->id, host, port, j->connect_error,
	    sizeof(j->connect_error));
	if (fd != -1)
		j->child->kick = 1;
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

/* The socket is connected already: curl must not connect it again. */
static int
socket_ready(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	(void)fd;
	(void)purpose;
	return CURL_SOCKOPT_ALREADY_CONNECTED;
}

void
transfer_error(const struct probe_job *j, CURLcode cc, char *buf, size_t len)
{
	const char *e = j->errbuf[0] ? j->errbuf : curl_easy_strerror(cc);

	if (j->connect_error[0] != '\0' && (cc == CURLE_COULDNT_CONNECT ||
	    cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY))
		snprintf(buf, len, "%s", j->connect_error);
	else if (cc == CURLE_WRITE_ERROR && j->oversized)
		snprintf(buf, len, "the %s answer exceeded %d bytes; "
		    "abandoned", j->kind == XFER_CA ? "CA's" : "server's",
		    PROBE_MAX_READ);
	else if (!j->allow_tls12 && (cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_SSL_CERTPROBLEM) && (strstr(e, "protocol version") ||
	    strstr(e, "unsupported protocol") || strstr(e, "wrong version")))
		snprintf(buf, len, "%.200s: the server does not speak TLS 1.3, "
		    "which this connector requires (allow_tls12 = yes allows "
		    "TLS 1.2; see SECURITY.md)", e);
	else
		snprintf(buf, len, "%s", e);
}

int
transfer_setup(struct child *c, struct probe_job *j, const char *url)
{
	if ((j->key = keyproxy_new(c->leaf, j->id, j->allow_tls12)) == NULL ||
	    (j->easy = curl_easy_init()) == NULL)
		return -1;
	SETOPT(j->easy, CURLOPT_URL, url);
	SETOPT(j->easy, CURLOPT_PROTOCOLS_STR, "https");
	SETOPT(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(j->easy, CURLOPT_NOSIGNAL, 1L);
	/* Ignore *_proxy variables: the child's egress is configured, not inherited. */
	SETOPT(j->easy, CURLOPT_PROXY, "");
	/*
	 * Every connection is the parent's; curl resolves nothing. Behind
	 * a proxy the proxy's address is the placeholder already, and the
	 * CONNECT must name the CA's host: no connect-to rewrite then.
	 */
	if (j->proxy_port == 0)
		SETOPT(j->easy, CURLOPT_CONNECT_TO, c->connect_to);
	SETOPT(j->easy, CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V4);
	SETOPT(j->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SETOPT(j->easy, CURLOPT_OPENSOCKETDATA, j);
	SETOPT(j->easy, CURLOPT_SOCKOPTFUNCTION, socket_ready);
	SETOPT(j->easy, CURLOPT_SOCKOPTDATA, j);
	SETOPT(j->easy, CURLOPT_SSLVERSION, (long)(j->allow_tls12 ?
	    CURL_SSLVERSION_TLSv1_2 : CURL_SSLVERSION_TLSv1_3));
	SETOPT(j->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(j->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(j->easy, CURLOPT_CAINFO, NULL);
	SETOPT(j->easy, CURLOPT_CAPATH, NULL);
	SETOPT(j->easy, CURLOPT_SSL_CTX_FUNCTION, tls_ctx_callback);
	SETOPT(j->easy, CURLOPT_SSL_CTX_DATA, j);
	/* Every request proves the full handshake: no reuse, no resumption. */
	SETOPT(j->easy, CURLOPT_FORBID_REUSE, 1L);
	SETOPT(j->easy, CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(j->easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SETOPT(j->easy, CURLOPT_TIMEOUT, (long)c->cfg.tls_timeout_s);
	SETOPT(j->easy, CURLOPT_CONNECTTIMEOUT, (long)c->cfg.tls_timeout_s);
	SETOPT(j->easy, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(j->easy, CURLOPT_WRITEDATA, j);
	SETOPT(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
	SETOPT(j->easy, CURLOPT_PRIVATE, j);
	/*
	 * curl allocates an upload buffer for every transfer, 64 KiB by
	 * default, and the child clears every block it frees (wipe_alloc.c).
	 * Most of those pages were never written: clearing them faulted them
	 * in first, 17 % of the child's CPU while it polled (bench/README.md).
	 * Our requests are a few KiB, and a larger one only goes in more
	 * pieces; 16 KiB is curl's least.
	 */
	SETOPT(j->easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	return 0;
 fail:
	return -1;
}

int
probe_start(struct child *c, uint32_t job_id, const char *url,
    int allow_tls12)
{
	struct probe_job *j = xcalloc(1, sizeof(*j));

	j->kind = XFER_PROBE;
	j->id = job_id;
	j->allow_tls12 = allow_tls12;
	j->child = c;
	j->body_cap = IPC_MAX_BODY;
	j->body = xmalloc(j->body_cap);
	if (c->njobs >= CHILD_MAX_JOBS) {
		send_result(c, j, JOB_FAILED, 0, CURLE_OK, "child busy");
		job_free(j);
		return -1;
	}
	if (transfer_setup(c, j, url) == -1 ||
	    curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "hsmagent-probe") !=
	    CURLE_OK ||
	    curl_multi_add_handle(c->multi, j->easy) != CURLM_OK)
		goto fail;
	c->njobs++;
	return 0;
 fail:
	send_result(c, j, JOB_FAILED, 0, CURLE_FAILED_INIT,
	    "cannot set up the transfer");
	job_free(j);
	return -1;
}

void
probe_done(struct child *c, CURL *easy, CURLcode cc)
{
	struct probe_job	*j = NULL;
	long			 http = 0;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	curl_multi_remove_handle(c->multi, easy);
	c->njobs--;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
	if (cc == CURLE_OK)
		send_result(c, j, JOB_OK, http, cc, "");
	else {
		char why[IPC_MAX_STR];

		transfer_error(j, cc, why, sizeof(why));
		send_result(c, j, JOB_FAILED, http, cc, why);
	}
	job_free(j);
}
