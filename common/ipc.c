/*
 * ipc.c - framing, encoders and strict decoders; see ipc.h.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "util.h"
#include "log.h"

int
ipc_send(int fd, uint16_t type, uint32_t id, const struct wbuf *payload)
{
	return ipc_send_fd(fd, type, id, payload, -1);
}

int
ipc_send_fd(int fd, uint16_t type, uint32_t id, const struct wbuf *payload,
    int passfd)
{
	uint8_t		 dgram[IPC_MAX_DGRAM];
	size_t		 plen = payload != NULL ? payload->len : 0;
	ssize_t		 n;
	struct iovec	 iov;
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;

	if ((payload != NULL && payload->failed) || plen > IPC_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	dgram[0] = (uint8_t)(type >> 8);
	dgram[1] = (uint8_t)type;
	dgram[2] = dgram[3] = 0;
	dgram[4] = (uint8_t)(id >> 24);
	dgram[5] = (uint8_t)(id >> 16);
	dgram[6] = (uint8_t)(id >> 8);
	dgram[7] = (uint8_t)id;
	dgram[8] = (uint8_t)(plen >> 24);
	dgram[9] = (uint8_t)(plen >> 16);
	dgram[10] = (uint8_t)(plen >> 8);
	dgram[11] = (uint8_t)plen;
	if (plen > 0)
		memcpy(dgram + IPC_HDR_LEN, payload->data, plen);
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = dgram;
	iov.iov_len = IPC_HDR_LEN + plen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (passfd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &passfd, sizeof(int));
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	explicit_bzero(dgram + IPC_HDR_LEN, plen);
	if (n == -1)
		return -1;
	if ((size_t)n != IPC_HDR_LEN + plen) {
		errno = EPROTO;	/* cannot happen on SOCK_SEQPACKET */
		return -1;
	}
	return 0;
}

int
ipc_parse(const uint8_t *d, size_t n, struct ipc_msg *msg)
{
	uint32_t plen;

	if (n < IPC_HDR_LEN || n > IPC_MAX_DGRAM)
		return -1;
	if (d[2] != 0 || d[3] != 0)
		return -1;
	plen = ((uint32_t)d[8] << 24) | ((uint32_t)d[9] << 16) |
	    ((uint32_t)d[10] << 8) | d[11];
	if (plen != n - IPC_HDR_LEN)
		return -1;
	msg->type = (uint16_t)((d[0] << 8) | d[1]);
	msg->id = ((uint32_t)d[4] << 24) | ((uint32_t)d[5] << 16) |
	    ((uint32_t)d[6] << 8) | d[7];
	msg->payload = d + IPC_HDR_LEN;
	msg->len = plen;
	msg->fd = -1;
	msg->fd_dropped = 0;
	return 0;
}

int
ipc_recv(int fd, uint8_t *buf, size_t buflen, struct ipc_msg *msg)
{
	ssize_t		 n;
	int		 passed = -1;
	struct iovec	 iov = { buf, IPC_MAX_DGRAM + 1 };
	struct msghdr	 mh;
	struct cmsghdr	*c;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;

	if (buflen < IPC_MAX_DGRAM + 1) {
		errno = EINVAL;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	/* MSG_TRUNC makes an oversized datagram report its real size. */
	n = recvmsg(fd, &mh, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && passed == -1)
			memcpy(&passed, CMSG_DATA(c), sizeof(int));
	if (n == 0) {
		if (passed != -1)
			close(passed);
		return 0;
	}
	/*
	 * More than one descriptor, or a datagram we cannot take: none kept.
	 * MSG_CTRUNC with no descriptor at all is the kernel failing to
	 * install the one sent (EMFILE at our RLIMIT_NOFILE): the message
	 * is whole and is delivered, marked fd_dropped.
	 */
	if ((size_t)n > IPC_MAX_DGRAM || ((mh.msg_flags & MSG_CTRUNC) &&
	    passed != -1) || ipc_parse(buf, (size_t)n, msg) == -1) {
		if (passed != -1)
			close(passed);
		errno = (size_t)n > IPC_MAX_DGRAM ? EMSGSIZE : EPROTO;
		return -1;
	}
	msg->fd = passed;
	msg->fd_dropped = (mh.msg_flags & MSG_CTRUNC) != 0;
	return 1;
}

const char *
ipc_type_name(uint16_t type)
{
	switch (type) {
	case IPC_CFG_BLOB:	return "cfg-blob";
	case IPC_CFG_DONE:	return "cfg-done";
	case IPC_JOB_PROBE:	return "job-probe";
	case IPC_SIGN_REPLY:	return "sign-reply";
	case IPC_SELFTEST:	return "selftest";
	case IPC_READY:		return "ready";
	case IPC_SIGN_REQUEST:	return "sign-request";
	case IPC_JOB_RESULT:	return "job-result";
	case IPC_LOG:		return "log";
	case IPC_CFG_CONNECTOR:	return "cfg-connector";
	case IPC_JOB_CA:	return "job-ca";
	case IPC_CA_RESULT:	return "ca-result";
	case IPC_JWS_SIGN_REQUEST: return "jws-sign-request";
	case IPC_HTTP01_TOKEN: return "http01-token";
	case IPC_TLS13_SIGN_REQUEST: return "tls13-sign-request";
	case IPC_CONNECT_REQUEST: return "connect-request";
	case IPC_CONNECT_REPLY:	return "connect-reply";
	default:		return "unknown";
	}
}

/* A host name of letters, digits, dots and dashes. */
static int
valid_hostname(const char *h)
{
	if (*h == '\0' || *h == '.' || *h == '-')
		return 0;
	for (; *h != '\0'; h++) {
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || *h == '.' || *h == '-'))
			return 0;
	}
	return 1;
}

/* A connection target: a host name, or an IPv4 or IPv6 literal. */
static int
valid_target(const char *h)
{
	unsigned char tmp[16];

	return valid_hostname(h) || inet_pton(AF_INET, h, tmp) == 1 ||
	    inet_pton(AF_INET6, h, tmp) == 1;
}

static int
begin(const struct ipc_msg *msg, uint16_t type, struct rbuf *r)
{
	if (msg->type != type)
		return -1;
	rbuf_init(r, msg->payload, msg->len);
	return 0;
}

int
ipc_enc_cfg_blob(struct wbuf *b, const struct ipc_cfg_blob *m)
{
	wbuf_put_u8(b, m->kind);
	wbuf_put_u32(b, m->total);
	wbuf_put_u32(b, m->offset);
	return wbuf_put_bytes(b, m->data, m->len);
}

int
ipc_dec_cfg_blob(const struct ipc_msg *msg, struct ipc_cfg_blob *m)
{
	struct rbuf r;

	if (begin(msg, IPC_CFG_BLOB, &r) == -1 ||
	    rbuf_get_u8(&r, &m->kind) == -1 ||
	    rbuf_get_u32(&r, &m->total) == -1 ||
	    rbuf_get_u32(&r, &m->offset) == -1 ||
	    rbuf_get_bytes(&r, &m->data, &m->len, IPC_BLOB_CHUNK) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	if (m->kind == 0 || m->kind >= BLOB_KIND_MAX ||
	    m->total == 0 || m->total > IPC_MAX_BLOB ||
	    m->offset > m->total || m->len > m->total - m->offset)
		return -1;
	return 0;
}

int
ipc_enc_cfg_done(struct wbuf *b, const struct ipc_cfg_done *m)
{
	wbuf_put_u32(b, m->uid);
	wbuf_put_u32(b, m->gid);
	wbuf_put_cstr(b, m->chroot_dir);
	wbuf_put_u32(b, m->tls_timeout_s);
	wbuf_put_u32(b, m->sign_timeout_ms);
	wbuf_put_u8(b, m->key_type);
	wbuf_put_u16(b, m->nports);
	for (size_t i = 0; i < m->nports && i < IPC_MAX_PORTS; i++)
		wbuf_put_u16(b, m->ports[i]);
	wbuf_put_u8(b, m->http01);
	return b->failed ? -1 : 0;
}

int
ipc_dec_cfg_done(const struct ipc_msg *msg, struct ipc_cfg_done *m)
{
	struct rbuf r;

	if (begin(msg, IPC_CFG_DONE, &r) == -1 ||
	    rbuf_get_u32(&r, &m->uid) == -1 ||
	    rbuf_get_u32(&r, &m->gid) == -1 ||
	    rbuf_get_cstr(&r, m->chroot_dir, sizeof(m->chroot_dir),
	    IPC_MAX_PATH) == -1 ||
	    rbuf_get_u32(&r, &m->tls_timeout_s) == -1 ||
	    rbuf_get_u32(&r, &m->sign_timeout_ms) == -1 ||
	    rbuf_get_u8(&r, &m->key_type) == -1 ||
	    rbuf_get_u16(&r, &m->nports) == -1)
		return -1;
	if (m->nports > IPC_MAX_PORTS)
		return -1;
	for (size_t i = 0; i < m->nports; i++) {
		if (rbuf_get_u16(&r, &m->ports[i]) == -1 || m->ports[i] == 0)
			return -1;
	}
	if (rbuf_get_u8(&r, &m->http01) == -1 || rbuf_end(&r) == -1)
		return -1;
	if (m->chroot_dir[0] != '/' || m->http01 > 1 || m->tls_timeout_s < 1 ||
	    m->tls_timeout_s > 600 || m->sign_timeout_ms < 100 ||
	    m->sign_timeout_ms > 60000 ||
	    (m->key_type != IPC_KEY_EC && m->key_type != IPC_KEY_RSA))
		return -1;
	return 0;
}

int
ipc_enc_job_probe(struct wbuf *b, const struct ipc_job_probe *m)
{
	wbuf_put_cstr(b, m->url);
	return wbuf_put_u8(b, m->allow_tls12);
}

int
ipc_dec_job_probe(const struct ipc_msg *msg, struct ipc_job_probe *m)
{
	struct rbuf r;

	if (begin(msg, IPC_JOB_PROBE, &r) == -1 ||
	    rbuf_get_cstr(&r, m->url, sizeof(m->url), IPC_MAX_URL) == -1 ||
	    rbuf_get_u8(&r, &m->allow_tls12) == -1 || rbuf_end(&r) == -1)
		return -1;
	if (strncmp(m->url, "https://", 8) != 0 || m->url[8] == '\0' ||
	    m->allow_tls12 > 1)
		return -1;
	return 0;
}

int
ipc_enc_sign_reply(struct wbuf *b, const struct ipc_sign_reply *m)
{
	wbuf_put_u8(b, m->status);
	return wbuf_put_bytes(b, m->sig, m->siglen);
}

int
ipc_dec_sign_reply(const struct ipc_msg *msg, struct ipc_sign_reply *m)
{
	struct rbuf r;

	if (begin(msg, IPC_SIGN_REPLY, &r) == -1 ||
	    rbuf_get_u8(&r, &m->status) == -1 ||
	    rbuf_get_bytes(&r, &m->sig, &m->siglen, IPC_MAX_SIG) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	/* A signature comes with SIGN_OK and only then. */
	if (m->status > SIGN_FAILED || (m->status == SIGN_OK) != (m->siglen > 0))
		return -1;
	return 0;
}

int
ipc_enc_jws_sign_request(struct wbuf *b, const struct ipc_jws_sign_request *m)
{
	wbuf_put_u32(b, m->job_id);
	wbuf_put_u8(b, m->kind);
	wbuf_put_u8(b, m->op);
	return wbuf_put_bytes(b, m->input, m->len);
}

int
ipc_dec_jws_sign_request(const struct ipc_msg *msg,
    struct ipc_jws_sign_request *m)
{
	struct rbuf r;

	if (begin(msg, IPC_JWS_SIGN_REQUEST, &r) == -1 ||
	    rbuf_get_u32(&r, &m->job_id) == -1 ||
	    rbuf_get_u8(&r, &m->kind) == -1 ||
	    rbuf_get_u8(&r, &m->op) == -1 ||
	    rbuf_get_bytes(&r, &m->input, &m->len, IPC_MAX_JWS_INPUT) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	if ((m->kind != JWS_ACCOUNT && m->kind != JWS_EAB) || m->len == 0 ||
	    m->op == 0 || m->op >= ACME_OP_MAX ||
	    (m->kind == JWS_EAB && m->op != ACME_OP_NEW_ACCOUNT))
		return -1;
	return 0;
}

int
ipc_enc_http01_token(struct wbuf *b, const struct ipc_http01_token *m)
{
	wbuf_put_u32(b, m->job_id);
	wbuf_put_u8(b, m->add);
	return wbuf_put_cstr(b, m->token);
}

int
ipc_dec_http01_token(const struct ipc_msg *msg, struct ipc_http01_token *m)
{
	struct rbuf	r;
	size_t		n;

	if (begin(msg, IPC_HTTP01_TOKEN, &r) == -1 ||
	    rbuf_get_u32(&r, &m->job_id) == -1 ||
	    rbuf_get_u8(&r, &m->add) == -1 ||
	    rbuf_get_cstr(&r, m->token, sizeof(m->token),
	    IPC_MAX_HTTP01_TOKEN) == -1 || rbuf_end(&r) == -1)
		return -1;
	n = strlen(m->token);
	if (m->add > 1 || n == 0 || strspn(m->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		return -1;
	return 0;
}

int
ipc_enc_connect_request(struct wbuf *b, const struct ipc_connect_request *m)
{
	wbuf_put_u32(b, m->job_id);
	wbuf_put_cstr(b, m->host);
	return wbuf_put_u16(b, m->port);
}

int
ipc_dec_connect_request(const struct ipc_msg *msg,
    struct ipc_connect_request *m)
{
	struct rbuf r;

	if (begin(msg, IPC_CONNECT_REQUEST, &r) == -1 ||
	    rbuf_get_u32(&r, &m->job_id) == -1 ||
	    rbuf_get_cstr(&r, m->host, sizeof(m->host), IPC_MAX_HOST) == -1 ||
	    rbuf_get_u16(&r, &m->port) == -1 || rbuf_end(&r) == -1)
		return -1;
	if (m->port == 0 || !valid_target(m->host))
		return -1;
	return 0;
}

int
ipc_enc_connect_reply(struct wbuf *b, const struct ipc_connect_reply *m)
{
	wbuf_put_u8(b, m->status);
	return wbuf_put_cstr(b, m->message);
}

int
ipc_dec_connect_reply(const struct ipc_msg *msg, struct ipc_connect_reply *m)
{
	struct rbuf r;

	if (begin(msg, IPC_CONNECT_REPLY, &r) == -1 ||
	    rbuf_get_u8(&r, &m->status) == -1 ||
	    rbuf_get_cstr(&r, m->message, sizeof(m->message), IPC_MAX_STR) ==
	    -1 || rbuf_end(&r) == -1)
		return -1;
	return m->status > 1 ? -1 : 0;
}

int
ipc_enc_selftest(struct wbuf *b, const struct ipc_selftest *m)
{
	return wbuf_put_u8(b, m->what);
}

int
ipc_dec_selftest(const struct ipc_msg *msg, struct ipc_selftest *m)
{
	struct rbuf r;

	if (begin(msg, IPC_SELFTEST, &r) == -1 ||
	    rbuf_get_u8(&r, &m->what) == -1 || rbuf_end(&r) == -1)
		return -1;
	if (m->what != SELFTEST_OPENAT && m->what != SELFTEST_EXECVE)
		return -1;
	return 0;
}

int
ipc_enc_ready(struct wbuf *b, const struct ipc_ready *m)
{
	wbuf_put_u8(b, m->landlock_abi);
	return wbuf_put_cstr(b, m->sandbox);
}

int
ipc_dec_ready(const struct ipc_msg *msg, struct ipc_ready *m)
{
	struct rbuf r;

	if (begin(msg, IPC_READY, &r) == -1 ||
	    rbuf_get_u8(&r, &m->landlock_abi) == -1 ||
	    rbuf_get_cstr(&r, m->sandbox, sizeof(m->sandbox),
	    IPC_MAX_STR) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	return 0;
}

int
ipc_enc_sign_request(struct wbuf *b, const struct ipc_sign_request *m)
{
	wbuf_put_u32(b, m->job_id);
	wbuf_put_u8(b, m->scheme);
	return wbuf_put_bytes(b, m->digest, m->dlen);
}

static int
dec_sign(const struct ipc_msg *msg, uint16_t type, struct ipc_sign_request *m)
{
	struct rbuf r;

	/*
	 * Scheme and digest length are checked by the signing policy, not
	 * here, so that a well-formed but refused request is counted
	 * rather than treated as a framing violation.
	 */
	if (begin(msg, type, &r) == -1 ||
	    rbuf_get_u32(&r, &m->job_id) == -1 ||
	    rbuf_get_u8(&r, &m->scheme) == -1 ||
	    rbuf_get_bytes(&r, &m->digest, &m->dlen, IPC_MAX_DIGEST) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	return 0;
}

int
ipc_dec_sign_request(const struct ipc_msg *msg, struct ipc_sign_request *m)
{
	return dec_sign(msg, IPC_SIGN_REQUEST, m);
}

int
ipc_dec_tls13_sign_request(const struct ipc_msg *msg,
    struct ipc_sign_request *m)
{
	return dec_sign(msg, IPC_TLS13_SIGN_REQUEST, m);
}

int
ipc_enc_job_result(struct wbuf *b, const struct ipc_job_result *m)
{
	wbuf_put_u8(b, m->status);
	wbuf_put_u8(b, m->truncated);
	wbuf_put_u32(b, m->http_status);
	wbuf_put_u32(b, m->curl_code);
	wbuf_put_cstr(b, m->tls_version);
	wbuf_put_cstr(b, m->error);
	return wbuf_put_bytes(b, m->body, m->body_len);
}

int
ipc_dec_job_result(const struct ipc_msg *msg, struct ipc_job_result *m)
{
	struct rbuf r;

	if (begin(msg, IPC_JOB_RESULT, &r) == -1 ||
	    rbuf_get_u8(&r, &m->status) == -1 ||
	    rbuf_get_u8(&r, &m->truncated) == -1 ||
	    rbuf_get_u32(&r, &m->http_status) == -1 ||
	    rbuf_get_u32(&r, &m->curl_code) == -1 ||
	    rbuf_get_cstr(&r, m->tls_version, sizeof(m->tls_version),
	    sizeof(m->tls_version) - 1) == -1 ||
	    rbuf_get_cstr(&r, m->error, sizeof(m->error), IPC_MAX_STR) == -1 ||
	    rbuf_get_bytes(&r, &m->body, &m->body_len, IPC_MAX_BODY) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	if (m->status > JOB_FAILED || m->truncated > 1 || m->http_status > 999)
		return -1;
	return 0;
}

int
ipc_enc_log(struct wbuf *b, const struct ipc_log *m)
{
	wbuf_put_u8(b, m->level);
	return wbuf_put_cstr(b, m->text);
}

int
ipc_dec_log(const struct ipc_msg *msg, struct ipc_log *m)
{
	struct rbuf r;

	if (begin(msg, IPC_LOG, &r) == -1 ||
	    rbuf_get_u8(&r, &m->level) == -1 ||
	    rbuf_get_cstr(&r, m->text, sizeof(m->text), IPC_MAX_STR) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	if (m->level > LOG_LVL_DEBUG)
		return -1;
	return 0;
}

/* ---- CA work ------------------------------------------------------------- */

static int
is_hex(const char *s, size_t exact)
{
	size_t n = strlen(s);

	if (n == 0 || (exact != 0 && n != exact))
		return 0;
	return strspn(s, "0123456789abcdef") == n;
}

/* PEM text: printable ASCII and newlines only. */
static int
is_pem_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n')
			return 0;
	return 1;
}

enum ipc_cfg_part
ipc_cfg_part_of(const char *type)
{
	if (strcmp(type, "entrust") == 0)
		return IPC_PART_ENTRUST;
	if (strcmp(type, "sectigo") == 0)
		return IPC_PART_SECTIGO;
	if (strcmp(type, "acme") == 0)
		return IPC_PART_ACME;
	return IPC_PART_NONE;
}

static void
enc_part(struct wbuf *b, const struct ipc_cfg_connector *m)
{
	enum ipc_cfg_part part = ipc_cfg_part_of(m->type);

	wbuf_put_u8(b, (uint8_t)part);
	switch (part) {
	case IPC_PART_ENTRUST:
		wbuf_put_cstr(b, m->kind.entrust.ca_id);
		wbuf_put_cstr(b, m->kind.entrust.profile_id);
		break;
	case IPC_PART_SECTIGO:
		wbuf_put_cstr(b, m->kind.sectigo.customer_uri);
		wbuf_put_cstr(b, m->kind.sectigo.login);
		wbuf_put_cstr(b, m->kind.sectigo.external_requester);
		wbuf_put_u32(b, m->kind.sectigo.org_id);
		wbuf_put_u32(b, m->kind.sectigo.cert_type);
		wbuf_put_u32(b, m->kind.sectigo.term);
		break;
	case IPC_PART_ACME:
		wbuf_put_cstr(b, m->kind.acme.contact);
		wbuf_put_cstr(b, m->kind.acme.preferred_chain);
		wbuf_put_cstr(b, m->kind.acme.eab_kid);
		break;
	case IPC_PART_NONE:
		break;
	}
}

int
ipc_enc_cfg_connector(struct wbuf *b, const struct ipc_cfg_connector *m)
{
	wbuf_put_cstr(b, m->name);
	wbuf_put_cstr(b, m->type);
	wbuf_put_cstr(b, m->url);
	wbuf_put_cstr(b, m->spki_pin);
	wbuf_put_cstr(b, m->proxy);
	wbuf_put_u8(b, m->auth);
	wbuf_put_u8(b, m->allow_tls12);
	enc_part(b, m);
	return b->failed ? -1 : 0;
}

static int
dec_entrust(struct rbuf *r, struct ipc_cfg_entrust *e)
{
	return rbuf_get_cstr(r, e->ca_id, sizeof(e->ca_id), IPC_MAX_HANDLE) ==
	    -1 || rbuf_get_cstr(r, e->profile_id, sizeof(e->profile_id),
	    IPC_MAX_HANDLE) == -1 ? -1 : 0;
}

/* They become HTTP header values: no separators a header could split on. */
static int
dec_sectigo(struct rbuf *r, struct ipc_cfg_sectigo *e)
{
	if (rbuf_get_cstr(r, e->customer_uri, sizeof(e->customer_uri),
	    IPC_MAX_NAME) == -1 ||
	    rbuf_get_cstr(r, e->login, sizeof(e->login), IPC_MAX_HANDLE) == -1 ||
	    rbuf_get_cstr(r, e->external_requester,
	    sizeof(e->external_requester), IPC_MAX_STR) == -1 ||
	    rbuf_get_u32(r, &e->org_id) == -1 ||
	    rbuf_get_u32(r, &e->cert_type) == -1 ||
	    rbuf_get_u32(r, &e->term) == -1)
		return -1;
	return strpbrk(e->customer_uri, ":;, ") != NULL ||
	    strpbrk(e->login, ":; ") != NULL || e->term > 3650 ||
	    e->org_id > INT32_MAX || e->cert_type > INT32_MAX ? -1 : 0;
}

/* ACME settings go into JSON the child builds: nothing to escape there. */
static int
dec_acme(struct rbuf *r, struct ipc_cfg_acme *e)
{
	if (rbuf_get_cstr(r, e->contact, sizeof(e->contact), IPC_MAX_STR) ==
	    -1 || rbuf_get_cstr(r, e->preferred_chain,
	    sizeof(e->preferred_chain), IPC_MAX_HANDLE) == -1 ||
	    rbuf_get_cstr(r, e->eab_kid, sizeof(e->eab_kid), IPC_MAX_STR) == -1)
		return -1;
	if (e->contact[0] != '\0' && strncmp(e->contact, "mailto:", 7) != 0)
		return -1;
	return strpbrk(e->contact, "\"\\ ") == NULL &&
	    strpbrk(e->preferred_chain, "\"\\") == NULL &&
	    strpbrk(e->eab_kid, "\"\\ ") == NULL ? 0 : -1;
}

/* The part on the wire must be the one of the connector's type. */
static int
dec_part(struct rbuf *r, struct ipc_cfg_connector *m)
{
	uint8_t part;

	if (rbuf_get_u8(r, &part) == -1 || part != ipc_cfg_part_of(m->type))
		return -1;
	switch (part) {
	case IPC_PART_ENTRUST:	return dec_entrust(r, &m->kind.entrust);
	case IPC_PART_SECTIGO:	return dec_sectigo(r, &m->kind.sectigo);
	case IPC_PART_ACME:	return dec_acme(r, &m->kind.acme);
	default:		return 0;
	}
}

int
ipc_dec_cfg_connector(const struct ipc_msg *msg, struct ipc_cfg_connector *m)
{
	struct rbuf r;

	memset(m, 0, sizeof(*m));
	if (begin(msg, IPC_CFG_CONNECTOR, &r) == -1 ||
	    rbuf_get_cstr(&r, m->name, sizeof(m->name), IPC_MAX_NAME) == -1 ||
	    rbuf_get_cstr(&r, m->type, sizeof(m->type), IPC_MAX_NAME) == -1 ||
	    rbuf_get_cstr(&r, m->url, sizeof(m->url), IPC_MAX_URL) == -1 ||
	    rbuf_get_cstr(&r, m->spki_pin, sizeof(m->spki_pin),
	    IPC_MAX_STR) == -1 ||
	    rbuf_get_cstr(&r, m->proxy, sizeof(m->proxy), IPC_MAX_URL) == -1 ||
	    rbuf_get_u8(&r, &m->auth) == -1 ||
	    rbuf_get_u8(&r, &m->allow_tls12) == -1 ||
	    !name_ok(m->type, IPC_MAX_NAME) || dec_part(&r, m) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	if (m->allow_tls12 > 1 || m->auth > IPC_AUTH_PASSWORD)
		return -1;
	if (m->proxy[0] != '\0' && strncmp(m->proxy, "http://", 7) != 0)
		return -1;
	if (!name_ok(m->name, IPC_MAX_NAME) || strncmp(m->url, "https://", 8) !=
	    0)
		return -1;
	return 0;
}

int
ipc_enc_job_ca(struct wbuf *b, const struct ipc_job_ca *m)
{
	wbuf_put_u8(b, m->action);
	wbuf_put_cstr(b, m->connector);
	wbuf_put_cstr(b, m->ref);
	wbuf_put_cstr(b, m->profile);
	wbuf_put_u32(b, m->validity_days);
	wbuf_put_bytes(b, m->csr, m->csr_len);
	wbuf_put_bytes(b, m->sans_json, m->sans_len);
	wbuf_put_cstr(b, m->handle);
	wbuf_put_cstr(b, m->serial);
	wbuf_put_u8(b, m->reason);
	wbuf_put_bytes(b, m->secret, m->secret_len);
	return wbuf_put_cstr(b, m->account_jwk);
}

int
ipc_dec_job_ca(const struct ipc_msg *msg, struct ipc_job_ca *m)
{
	struct rbuf r;

	if (begin(msg, IPC_JOB_CA, &r) == -1 ||
	    rbuf_get_u8(&r, &m->action) == -1 ||
	    rbuf_get_cstr(&r, m->connector, sizeof(m->connector),
	    IPC_MAX_NAME) == -1 ||
	    rbuf_get_cstr(&r, m->ref, sizeof(m->ref), IPC_ORDER_REF_LEN) == -1 ||
	    rbuf_get_cstr(&r, m->profile, sizeof(m->profile),
	    IPC_MAX_NAME) == -1 ||
	    rbuf_get_u32(&r, &m->validity_days) == -1 ||
	    rbuf_get_bytes(&r, &m->csr, &m->csr_len, IPC_MAX_CSR) == -1 ||
	    rbuf_get_bytes(&r, &m->sans_json, &m->sans_len,
	    IPC_MAX_SANS_JSON) == -1 ||
	    rbuf_get_cstr(&r, m->handle, sizeof(m->handle),
	    IPC_MAX_HANDLE) == -1 ||
	    rbuf_get_cstr(&r, m->serial, sizeof(m->serial),
	    IPC_MAX_SERIAL) == -1 ||
	    rbuf_get_u8(&r, &m->reason) == -1 ||
	    rbuf_get_bytes(&r, &m->secret, &m->secret_len, IPC_MAX_SECRET) ==
	    -1 || rbuf_get_cstr(&r, m->account_jwk, sizeof(m->account_jwk),
	    IPC_MAX_STR) == -1 || rbuf_end(&r) == -1)
		return -1;
	/* JSON the child embeds as is: an object with nothing to escape. */
	if (m->account_jwk[0] != '\0' && (m->account_jwk[0] != '{' ||
	    strpbrk(m->account_jwk, "\\ \n") != NULL ||
	    !is_pem_text((const uint8_t *)m->account_jwk,
	    strlen(m->account_jwk))))
		return -1;
	/* A header value: printable, no spaces at the ends. */
	if (!is_pem_text(m->secret, m->secret_len) ||
	    memchr(m->secret, '\n', m->secret_len) != NULL ||
	    (m->secret_len > 0 && (m->secret[0] == ' ' ||
	    m->secret[m->secret_len - 1] == ' ')))
		return -1;
	if (m->action == CA_REVOKE && (!is_hex(m->serial, 0) ||
	    m->reason > 10 || m->reason == 7))
		return -1;
	if ((m->action < CA_ENROLL || m->action > CA_VALIDATE) ||
	    !name_ok(m->connector, IPC_MAX_NAME) || !is_hex(m->ref, IPC_ORDER_REF_LEN) ||
	    !name_ok(m->profile, IPC_MAX_NAME) || m->validity_days > 825 ||
	    (m->action == CA_ENROLL && (m->csr_len == 0 ||
	    !is_pem_text(m->csr, m->csr_len))))
		return -1;
	return 0;
}

int
ipc_enc_ca_result(struct wbuf *b, const struct ipc_ca_result *m)
{
	wbuf_put_u8(b, m->outcome);
	wbuf_put_u32(b, m->retry_after_s);
	wbuf_put_cstr(b, m->handle);
	wbuf_put_cstr(b, m->renew_id);
	wbuf_put_cstr(b, m->serial);
	wbuf_put_cstr(b, m->message);
	wbuf_put_bytes(b, m->cert, m->cert_len);
	return wbuf_put_bytes(b, m->chain, m->chain_len);
}

int
ipc_dec_ca_result(const struct ipc_msg *msg, struct ipc_ca_result *m)
{
	struct rbuf r;

	if (begin(msg, IPC_CA_RESULT, &r) == -1 ||
	    rbuf_get_u8(&r, &m->outcome) == -1 ||
	    rbuf_get_u32(&r, &m->retry_after_s) == -1 ||
	    rbuf_get_cstr(&r, m->handle, sizeof(m->handle),
	    IPC_MAX_HANDLE) == -1 ||
	    rbuf_get_cstr(&r, m->renew_id, sizeof(m->renew_id),
	    IPC_MAX_HANDLE) == -1 ||
	    rbuf_get_cstr(&r, m->serial, sizeof(m->serial),
	    IPC_MAX_SERIAL) == -1 ||
	    rbuf_get_cstr(&r, m->message, sizeof(m->message), IPC_MAX_STR) == -1 ||
	    rbuf_get_bytes(&r, &m->cert, &m->cert_len, IPC_MAX_CERT) == -1 ||
	    rbuf_get_bytes(&r, &m->chain, &m->chain_len, IPC_MAX_CHAIN) == -1 ||
	    rbuf_end(&r) == -1)
		return -1;
	if (m->outcome < CA_ISSUED || m->outcome > CA_VALID ||
	    m->retry_after_s > 86400 ||
	    !is_pem_text(m->cert, m->cert_len) ||
	    !is_pem_text(m->chain, m->chain_len))
		return -1;
	if (m->outcome == CA_ISSUED) {
		if (m->cert_len == 0 || !is_hex(m->serial, 0) ||
		    m->serial[0] == '0')
			return -1;
	} else if (m->cert_len != 0 || m->chain_len != 0 ||
	    m->serial[0] != '\0')
		return -1;
	if (m->outcome == CA_PENDING && m->handle[0] == '\0')
		return -1;
	return 0;
}

const char *
child_exit_name(int status)
{
	switch (status) {
	case CHILD_EXIT_PARENT_GONE:	return "the parent closed the socket";
	case CHILD_EXIT_SETUP:		return "set-up failed";
	case CHILD_EXIT_PROTOCOL:	return "protocol violation";
	case CHILD_EXIT_USAGE:		return "not started by hsmagentd";
	case CHILD_EXIT_CONFIG:		return "configuration refused";
	default:			return NULL;
	}
}

int
ipc_is_child_work(uint16_t type)
{
	return type == IPC_JOB_PROBE || type == IPC_JOB_CA ||
	    type == IPC_SELFTEST;
}
