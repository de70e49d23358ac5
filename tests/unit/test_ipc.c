/*
 * test_ipc.c - framing and strict decoding of parent <-> child messages:
 * round trips, truncation, oversize, unknown type, wrong reply, bad
 * field values, trailing bytes, and the transport over a real
 * SOCK_SEQPACKET socketpair.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "ipc.h"
#include "tls13_cv.h"
#include "scheme.h"

/* Builds a datagram (header + payload) the way ipc_send would. */
static size_t
frame(uint8_t *out, uint16_t type, uint32_t id, const struct wbuf *b)
{
	size_t plen = b ? b->len : 0;

	out[0] = (uint8_t)(type >> 8);
	out[1] = (uint8_t)type;
	out[2] = out[3] = 0;
	out[4] = (uint8_t)(id >> 24);
	out[5] = (uint8_t)(id >> 16);
	out[6] = (uint8_t)(id >> 8);
	out[7] = (uint8_t)id;
	out[8] = (uint8_t)(plen >> 24);
	out[9] = (uint8_t)(plen >> 16);
	out[10] = (uint8_t)(plen >> 8);
	out[11] = (uint8_t)plen;
	if (plen)
		memcpy(out + IPC_HDR_LEN, b->data, plen);
	return IPC_HDR_LEN + plen;
}

static void
test_sign_request_roundtrip(void **state)
{
	uint8_t			 dg[256], dig[32];
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_sign_request	 in = { 7, SCHEME_ECDSA_SHA256, dig, 32 }, out;
	size_t			 n;

	(void)state;
	memset(dig, 0xab, sizeof(dig));
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_enc_sign_request(&b, &in), 0);
	n = frame(dg, IPC_SIGN_REQUEST, 42, &b);
	assert_int_equal(ipc_parse(dg, n, &m), 0);
	assert_int_equal(m.type, IPC_SIGN_REQUEST);
	assert_int_equal(m.id, 42);
	assert_int_equal(ipc_dec_sign_request(&m, &out), 0);
	assert_int_equal(out.job_id, 7);
	assert_int_equal(out.scheme, SCHEME_ECDSA_SHA256);
	assert_int_equal(out.dlen, 32);
	assert_memory_equal(out.digest, dig, 32);

	/* Every truncation of the payload is rejected by the decoder. */
	for (size_t cut = 0; cut < b.len; cut++) {
		m.len = cut;
		assert_int_equal(ipc_dec_sign_request(&m, &out), -1);
	}
	/* ... and by the header check, since the length field disagrees. */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(ipc_parse(dg, cut, &m), -1);
	wbuf_free(&b);
}

static void
test_jws_sign_request(void **state)
{
	static const char	 input[] = "eyJhbGciOiJFUzI1NiJ9.e30";
	uint8_t			*dg = malloc(IPC_MAX_DGRAM + 16);
	uint8_t			*big = calloc(1, IPC_MAX_JWS_INPUT + 1);
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_jws_sign_request in = { 9, JWS_ACCOUNT, ACME_OP_FINALIZE,
	    (const uint8_t *)input, sizeof(input) - 1 }, out;
	size_t			 n;

	(void)state;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_enc_jws_sign_request(&b, &in), 0);
	n = frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b);
	assert_int_equal(ipc_parse(dg, n, &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), 0);
	assert_int_equal(out.job_id, 9);
	assert_int_equal(out.kind, JWS_ACCOUNT);
	assert_int_equal(out.op, ACME_OP_FINALIZE);
	assert_int_equal(out.len, sizeof(input) - 1);
	assert_memory_equal(out.input, input, out.len);
	assert_string_equal(ipc_type_name(IPC_JWS_SIGN_REQUEST),
	    "jws-sign-request");
	for (size_t cut = 0; cut < b.len; cut++) {
		m.len = cut;
		assert_int_equal(ipc_dec_jws_sign_request(&m, &out), -1);
	}
	/* Another type's decoder does not take it. */
	assert_int_equal(ipc_parse(dg, n, &m), 0);
	assert_int_equal(ipc_dec_sign_request(&m, &(struct ipc_sign_request){ 0 }),
	    -1);
	/*
	 * Unknown kind, unknown op, an EAB for anything but a new account,
	 * empty input, input over the cap.
	 */
	in.kind = 3;
	wbuf_reset(&b);
	ipc_enc_jws_sign_request(&b, &in);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), -1);
	in.kind = JWS_ACCOUNT;
	for (unsigned op = 0; op < 256; op += op == 0 ? ACME_OP_MAX : 1) {
		in.op = (uint8_t)op;
		wbuf_reset(&b);
		ipc_enc_jws_sign_request(&b, &in);
		assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST,
		    5, &b), &m), 0);
		assert_int_equal(ipc_dec_jws_sign_request(&m, &out), -1);
	}
	in.kind = JWS_EAB;
	in.op = ACME_OP_NEW_ORDER;
	wbuf_reset(&b);
	ipc_enc_jws_sign_request(&b, &in);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), -1);
	in.op = ACME_OP_NEW_ACCOUNT;
	wbuf_reset(&b);
	ipc_enc_jws_sign_request(&b, &in);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), 0);
	in.len = 0;
	wbuf_reset(&b);
	ipc_enc_jws_sign_request(&b, &in);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), -1);
	in.input = big;
	in.len = IPC_MAX_JWS_INPUT + 1;
	wbuf_reset(&b);
	assert_int_equal(ipc_enc_jws_sign_request(&b, &in), 0);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), -1);
	in.len = IPC_MAX_JWS_INPUT;
	wbuf_reset(&b);
	assert_int_equal(ipc_enc_jws_sign_request(&b, &in), 0);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JWS_SIGN_REQUEST, 5, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &out), 0);
	wbuf_free(&b);
	free(big);
	free(dg);
}

static void
test_trailing_bytes_rejected(void **state)
{
	uint8_t			 dg[256], dig[32] = { 0 };
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_sign_request	 in = { 1, 1, dig, 32 }, out;
	size_t			 n;

	(void)state;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &in);
	wbuf_put_u8(&b, 0);		/* one byte too many */
	n = frame(dg, IPC_SIGN_REQUEST, 1, &b);
	assert_int_equal(ipc_parse(dg, n, &m), 0);
	assert_int_equal(ipc_dec_sign_request(&m, &out), -1);
	wbuf_free(&b);
}

static void
test_oversized_digest_rejected(void **state)
{
	uint8_t			 dg[512], dig[IPC_MAX_DIGEST + 1] = { 0 };
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_sign_request	 in = { 1, 1, dig, sizeof(dig) }, out;

	(void)state;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &in);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_SIGN_REQUEST, 1, &b), &m), 0);
	assert_int_equal(ipc_dec_sign_request(&m, &out), -1);
	wbuf_free(&b);
}

static void
test_header_checks(void **state)
{
	uint8_t		dg[IPC_HDR_LEN + 4] = { 0 };
	struct ipc_msg	m;

	(void)state;
	assert_int_equal(ipc_parse(dg, IPC_HDR_LEN, &m), 0);
	dg[2] = 1;			/* reserved bits must be zero */
	assert_int_equal(ipc_parse(dg, IPC_HDR_LEN, &m), -1);
	dg[2] = 0;
	dg[11] = 4;			/* claims 4 payload bytes, has 0 */
	assert_int_equal(ipc_parse(dg, IPC_HDR_LEN, &m), -1);
	assert_int_equal(ipc_parse(dg, IPC_HDR_LEN + 4, &m), 0);
	assert_int_equal(ipc_parse(dg, IPC_HDR_LEN - 1, &m), -1);
}

static void
test_wrong_type_for_decoder(void **state)
{
	uint8_t			 dg[256], sig[64] = { 1 };
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_sign_reply	 in = { SIGN_OK, sig, 64 }, out;
	struct ipc_job_result	 jr;

	(void)state;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_reply(&b, &in);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_LOG, 3, &b), &m), 0);
	/* A reply must decode only as what it claims to be. */
	assert_int_equal(ipc_dec_sign_reply(&m, &out), -1);
	m.type = IPC_SIGN_REPLY;
	assert_int_equal(ipc_dec_sign_reply(&m, &out), 0);
	assert_int_equal(ipc_dec_job_result(&m, &jr), -1);
	assert_string_equal(ipc_type_name(999), "unknown");
	wbuf_free(&b);
}

static void
test_sign_reply_consistency(void **state)
{
	uint8_t			 dg[256], sig[8] = { 1 };
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_sign_reply	 bad1 = { SIGN_OK, sig, 0 };
	struct ipc_sign_reply	 bad2 = { SIGN_REFUSED, sig, 8 };
	struct ipc_sign_reply	 bad3 = { 9, NULL, 0 };
	struct ipc_sign_reply	 out;
	const struct ipc_sign_reply *bad[] = { &bad1, &bad2, &bad3 };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_sign_reply(&b, bad[i]);
		assert_int_equal(ipc_parse(dg, frame(dg, IPC_SIGN_REPLY, 1, &b),
		    &m), 0);
		assert_int_equal(ipc_dec_sign_reply(&m, &out), -1);
		wbuf_free(&b);
	}
}

static void
test_cfg_checks(void **state)
{
	uint8_t			 dg[4096];
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_cfg_blob	 bl = { BLOB_TRUST_PEM, 10, 8, (const uint8_t *)"abcd", 4 },
				 blo;
	struct ipc_cfg_done	 d, dout;

	(void)state;
	/* Blob chunk past the announced total. */
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_blob(&b, &bl);
	ipc_parse(dg, frame(dg, IPC_CFG_BLOB, 0, &b), &m);
	assert_int_equal(ipc_dec_cfg_blob(&m, &blo), -1);
	wbuf_free(&b);

	memset(&d, 0, sizeof(d));
	d.uid = 65534;
	d.gid = 65534;
	strcpy(d.chroot_dir, "/var/empty");
	d.tls_timeout_s = 30;
	d.sign_timeout_ms = 5000;
	d.key_type = IPC_KEY_EC;
	d.nports = 2;
	d.ports[0] = 443;
	d.ports[1] = 8443;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_done(&b, &d);
	ipc_parse(dg, frame(dg, IPC_CFG_DONE, 0, &b), &m);
	assert_int_equal(ipc_dec_cfg_done(&m, &dout), 0);
	assert_int_equal(dout.ports[1], 8443);
	assert_int_equal(dout.http01, 0);
	wbuf_free(&b);
	d.http01 = 1;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_done(&b, &d);
	ipc_parse(dg, frame(dg, IPC_CFG_DONE, 0, &b), &m);
	assert_int_equal(ipc_dec_cfg_done(&m, &dout), 0);
	assert_int_equal(dout.http01, 1);
	wbuf_free(&b);
	/* A flag, strictly: fd 4 is the listener or there is none. */
	d.http01 = 2;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_done(&b, &d);
	ipc_parse(dg, frame(dg, IPC_CFG_DONE, 0, &b), &m);
	assert_int_equal(ipc_dec_cfg_done(&m, &dout), -1);
	wbuf_free(&b);
	/* Without the flag (an older parent's message): too short. */
	d.http01 = 0;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_done(&b, &d);
	b.len--;
	ipc_parse(dg, frame(dg, IPC_CFG_DONE, 0, &b), &m);
	assert_int_equal(ipc_dec_cfg_done(&m, &dout), -1);
	wbuf_free(&b);
	d.tls_timeout_s = 0;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_done(&b, &d);
	ipc_parse(dg, frame(dg, IPC_CFG_DONE, 0, &b), &m);
	assert_int_equal(ipc_dec_cfg_done(&m, &dout), -1);
	wbuf_free(&b);
}

static void
test_strings_must_be_printable(void **state)
{
	uint8_t		dg[256];
	struct wbuf	b;
	struct ipc_msg	m;
	struct ipc_log	out;

	(void)state;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	wbuf_put_u8(&b, 2);
	wbuf_put_bytes(&b, "line\nforged: error", 18);
	ipc_parse(dg, frame(dg, IPC_LOG, 0, &b), &m);
	assert_int_equal(ipc_dec_log(&m, &out), -1);
	wbuf_free(&b);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	wbuf_put_u8(&b, 9);		/* level out of range */
	wbuf_put_bytes(&b, "x", 1);
	ipc_parse(dg, frame(dg, IPC_LOG, 0, &b), &m);
	assert_int_equal(ipc_dec_log(&m, &out), -1);
	wbuf_free(&b);
}

static void
test_transport_socketpair(void **state)
{
	int		 sv[2];
	uint8_t		*rx = malloc(IPC_MAX_DGRAM + 1), *big;
	struct wbuf	 b;
	struct ipc_msg	 m;

	(void)state;
	assert_non_null(rx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int sz = IPC_SOCKBUF;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	wbuf_put_u8(&b, 1);
	wbuf_put_cstr(&b, "hello");
	assert_int_equal(ipc_send(sv[0], IPC_LOG, 5, &b), 0);
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), 1);
	assert_int_equal(m.type, IPC_LOG);
	assert_int_equal(m.id, 5);
	wbuf_free(&b);

	/* A writer cap stops an oversized payload before it is sent. */
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	big = calloc(1, IPC_MAX_DGRAM + 1);	/* also the raw datagram below */
	assert_int_equal(wbuf_put(&b, big, IPC_MAX_PAYLOAD + 1), -1);
	assert_int_equal(ipc_send(sv[0], IPC_LOG, 0, &b), -1);
	wbuf_free(&b);

	/* A raw oversized datagram is detected by the receiver. */
	assert_true(send(sv[0], big, IPC_MAX_DGRAM + 1, 0) > 0);
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), -1);
	assert_int_equal(errno, EMSGSIZE);

	/* Garbage shorter than a header. */
	assert_int_equal(send(sv[0], "abc", 3, 0), 3);
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), -1);
	assert_int_equal(errno, EPROTO);

	/* Nothing queued: EAGAIN, not a violation. */
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), -1);
	assert_int_equal(errno, EAGAIN);

	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), 0);
	close(sv[1]);
	free(big);
	free(rx);
}

/*
 * A descriptor the receiver has no room for (RLIMIT_NOFILE reached): the
 * kernel drops it and flags MSG_CTRUNC. The message still arrives, whole,
 * marked fd_dropped: the child's connection limit is not the parent's
 * protocol violation (it was, and a busy child restarted over it).
 */
static void
test_fd_past_nofile(void **state)
{
	int		 sv[2], fill[256], nfill = 0, nul, r;
	uint8_t		*rx = malloc(IPC_MAX_DGRAM + 1);
	struct wbuf	 b;
	struct ipc_msg	 m;
	struct rlimit	 old, low;

	(void)state;
	assert_non_null(rx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_true((nul = open("/dev/null", O_RDONLY)) >= 0);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	wbuf_put_u8(&b, 7);
	assert_int_equal(ipc_send_fd(sv[0], IPC_CONNECT_REPLY, 3, &b, nul), 0);
	assert_int_equal(ipc_send_fd(sv[0], IPC_CONNECT_REPLY, 4, &b, nul), 0);
	wbuf_free(&b);
	/* Every descriptor below a low limit in use. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 200;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 256 && (r = dup(nul)) != -1)
		fill[nfill++] = r;
	assert_int_equal(errno, EMFILE);
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), 1);
	assert_int_equal(m.type, IPC_CONNECT_REPLY);
	assert_int_equal(m.id, 3);
	assert_int_equal(m.len, 1);
	assert_int_equal(m.fd, -1);
	assert_int_equal(m.fd_dropped, 1);
	/* With room again, the next one arrives with its descriptor. */
	while (nfill > 0)
		close(fill[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ipc_recv(sv[1], rx, IPC_MAX_DGRAM + 1, &m), 1);
	assert_int_equal(m.id, 4);
	assert_true(m.fd >= 0);
	assert_int_equal(m.fd_dropped, 0);
	close(m.fd);
	close(nul);
	close(sv[0]);
	close(sv[1]);
	free(rx);
}

static void
test_buf_bounds(void **state)
{
	struct wbuf	 b;
	struct rbuf	 r;
	uint8_t		 d[4] = { 0, 0, 0, 9 };
	const uint8_t	*p;
	size_t		 n;
	char		 s[4];

	(void)state;
	wbuf_init(&b, 3);
	assert_int_equal(wbuf_put_u16(&b, 1), 0);
	assert_int_equal(wbuf_put_u16(&b, 1), -1);
	assert_true(b.failed);
	assert_int_equal(wbuf_put_u8(&b, 1), -1);	/* sticky */
	wbuf_free(&b);
	rbuf_init(&r, d, sizeof(d));
	/* Length 9 with no bytes behind it. */
	assert_int_equal(rbuf_get_bytes(&r, &p, &n, 100), -1);
	assert_int_equal(r.off, 0);
	/* Destination too small for the max is a caller error. */
	assert_int_equal(rbuf_get_cstr(&r, s, sizeof(s), 4), -1);
}

/* Encodes r as a CA_RESULT message and decodes it again. */
static int
ca_result_roundtrip(const struct ipc_ca_result *r, struct ipc_ca_result *out)
{
	static uint8_t	dg[IPC_MAX_DGRAM];
	struct wbuf	b;
	struct ipc_msg	m;
	int		rc;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_ca_result(&b, r);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_CA_RESULT, 9, &b), &m), 0);
	rc = ipc_dec_ca_result(&m, out);
	wbuf_free(&b);
	return rc;
}

static void
test_ca_messages(void **state)
{
	static const char	 pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n";
	static uint8_t		 dg[IPC_MAX_DGRAM];
	struct ipc_job_ca	 j, jo;
	struct ipc_ca_result	 r, ro;
	struct ipc_msg		 m;
	struct wbuf		 b;
	size_t			 n;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.action = CA_ENROLL;
	snprintf(j.connector, sizeof(j.connector), "entrust");
	snprintf(j.ref, sizeof(j.ref), "0123456789abcdef");
	snprintf(j.profile, sizeof(j.profile), "server");
	j.validity_days = 90;
	j.csr = (const uint8_t *)pem;
	j.csr_len = strlen(pem);
	j.sans_json = (const uint8_t *)"[\"dns:a.example.com\"]";
	j.sans_len = strlen((const char *)j.sans_json);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_enc_job_ca(&b, &j), 0);
	n = frame(dg, IPC_JOB_CA, 3, &b);
	assert_int_equal(ipc_parse(dg, n, &m), 0);
	assert_int_equal(ipc_dec_job_ca(&m, &jo), 0);
	assert_string_equal(jo.ref, j.ref);
	assert_int_equal(jo.csr_len, j.csr_len);
	for (size_t cut = 0; cut < b.len; cut++) {
		m.len = cut;
		assert_int_equal(ipc_dec_job_ca(&m, &jo), -1);
	}
	wbuf_free(&b);
	/* A reference that is not 16 hex digits is refused. */
	snprintf(j.ref, sizeof(j.ref), "0123456789ABCDEF");
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_job_ca(&b, &j);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JOB_CA, 3, &b), &m), 0);
	assert_int_equal(ipc_dec_job_ca(&m, &jo), -1);
	wbuf_free(&b);
	/* A password: one header value, so no line breaks, no end spaces. */
	snprintf(j.ref, sizeof(j.ref), "0123456789abcdef");
	j.secret = (const uint8_t *)"s3cret pass";
	j.secret_len = 11;
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_job_ca(&b, &j);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_JOB_CA, 3, &b), &m), 0);
	assert_int_equal(ipc_dec_job_ca(&m, &jo), 0);
	assert_int_equal(jo.secret_len, 11);
	assert_memory_equal(jo.secret, "s3cret pass", 11);
	wbuf_free(&b);
	for (int bad = 0; bad < 3; bad++) {
		static const char *const v[] = { "a\r\nX-Evil: 1", " lead",
		    "trail " };

		j.secret = (const uint8_t *)v[bad];
		j.secret_len = strlen(v[bad]);
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_job_ca(&b, &j);
		assert_int_equal(ipc_parse(dg, frame(dg, IPC_JOB_CA, 3, &b),
		    &m), 0);
		assert_int_equal(ipc_dec_job_ca(&m, &jo), -1);
		wbuf_free(&b);
	}
	j.secret_len = 0;
	/* The ACME account's JWK: JSON with nothing to escape, or nothing. */
	for (int k = 0; k < 4; k++) {
		static const char *const v[] = { "{\"e\":\"AQAB\"}",
		    "{\"e\":\"a\\b\"}", "{\"e\": 1}", "[1]" };

		snprintf(j.account_jwk, sizeof(j.account_jwk), "%s", v[k]);
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_job_ca(&b, &j);
		assert_int_equal(ipc_parse(dg, frame(dg, IPC_JOB_CA, 3, &b),
		    &m), 0);
		assert_int_equal(ipc_dec_job_ca(&m, &jo), k == 0 ? 0 : -1);
		if (k == 0)
			assert_string_equal(jo.account_jwk, v[0]);
		wbuf_free(&b);
	}
	j.account_jwk[0] = '\0';

	/* Results: what the parent will store is checked here. */
	memset(&r, 0, sizeof(r));
	r.outcome = CA_ISSUED;
	snprintf(r.serial, sizeof(r.serial), "1a2b");
	r.cert = (const uint8_t *)pem;
	r.cert_len = strlen(pem);
	assert_int_equal(ca_result_roundtrip(&r, &ro), 0);
	assert_string_equal(ro.serial, "1a2b");
	snprintf(r.serial, sizeof(r.serial), "1A2B");
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);
	snprintf(r.serial, sizeof(r.serial), "01a2");
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);
	snprintf(r.serial, sizeof(r.serial), "1a2b");
	r.cert = (const uint8_t *)"bin\001ary";
	r.cert_len = 7;
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);
	r.cert_len = 0;
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);	/* no cert */
	r.outcome = CA_PENDING;
	r.serial[0] = '\0';
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);	/* no handle */
	snprintf(r.handle, sizeof(r.handle), "ca-77");
	snprintf(r.renew_id, sizeof(r.renew_id), "gu03sW6WENt7GTvDTuOP");
	assert_int_equal(ca_result_roundtrip(&r, &ro), 0);
	assert_string_equal(ro.renew_id, "gu03sW6WENt7GTvDTuOP");
	r.cert = (const uint8_t *)pem;
	r.cert_len = strlen(pem);
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);	/* cert, pending */
	r.cert_len = 0;
	r.outcome = 42;
	assert_int_equal(ca_result_roundtrip(&r, &ro), -1);
}

static int
cfg_connector_rt(const struct ipc_cfg_connector *c,
    struct ipc_cfg_connector *o)
{
	static uint8_t	 dg[IPC_MAX_DGRAM];
	struct ipc_msg	 m;
	struct wbuf	 b;
	int		 r;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_enc_cfg_connector(&b, c), 0);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_CFG_CONNECTOR, 0, &b),
	    &m), 0);
	r = ipc_dec_cfg_connector(&m, o);
	wbuf_free(&b);
	return r;
}

/* A connector's settings, Sectigo's included; header-unsafe ones refused. */
static void
test_cfg_connector(void **state)
{
	struct ipc_cfg_connector	 c, o;
	struct ipc_cfg_sectigo		*scm = &c.kind.sectigo;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "scm");
	snprintf(c.type, sizeof(c.type), "sectigo");
	snprintf(c.url, sizeof(c.url), "https://cert-manager.com/private/api");
	snprintf(scm->customer_uri, sizeof(scm->customer_uri), "InCommon");
	snprintf(scm->login, sizeof(scm->login), "api@example.org");
	scm->org_id = 1234;
	scm->cert_type = 423;
	scm->term = 365;
	c.auth = IPC_AUTH_PASSWORD;
	assert_int_equal(cfg_connector_rt(&c, &o), 0);
	assert_string_equal(o.kind.sectigo.login, "api@example.org");
	assert_int_equal(o.kind.sectigo.org_id, 1234);
	assert_int_equal(o.kind.sectigo.cert_type, 423);
	assert_int_equal(o.auth, IPC_AUTH_PASSWORD);
	snprintf(scm->login, sizeof(scm->login), "x: y");
	assert_int_equal(cfg_connector_rt(&c, &o), -1);
	snprintf(scm->login, sizeof(scm->login), "api");
	c.auth = 7;
	assert_int_equal(cfg_connector_rt(&c, &o), -1);
	c.auth = IPC_AUTH_CERT;
	scm->term = 3651;
	assert_int_equal(cfg_connector_rt(&c, &o), -1);
	/* Entrust's part, and a type with none (a test CA's). */
	memset(&c.kind, 0, sizeof(c.kind));
	snprintf(c.type, sizeof(c.type), "entrust");
	snprintf(c.kind.entrust.ca_id, sizeof(c.kind.entrust.ca_id), "ca~1");
	assert_int_equal(cfg_connector_rt(&c, &o), 0);
	assert_string_equal(o.kind.entrust.ca_id, "ca~1");
	snprintf(c.type, sizeof(c.type), "testca");
	assert_int_equal(cfg_connector_rt(&c, &o), 0);
	assert_string_equal(o.kind.entrust.ca_id, "");
	assert_int_equal(ipc_cfg_part_of("testca"), IPC_PART_NONE);
}

/* ACME's settings: carried whole, unsafe ones refused. */
static void
test_cfg_connector_acme(void **state)
{
	struct ipc_cfg_connector	 c, o;
	struct ipc_cfg_acme		*ac = &c.kind.acme;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "acme");
	snprintf(c.type, sizeof(c.type), "acme");
	snprintf(c.url, sizeof(c.url), "https://acme.example:14000/dir");
	snprintf(ac->contact, sizeof(ac->contact), "mailto:a@b.org,mailto:c@d");
	snprintf(ac->preferred_chain, sizeof(ac->preferred_chain), "Root X1");
	snprintf(ac->eab_kid, sizeof(ac->eab_kid), "kid-1");
	assert_int_equal(cfg_connector_rt(&c, &o), 0);
	assert_string_equal(o.kind.acme.contact, "mailto:a@b.org,mailto:c@d");
	assert_string_equal(o.kind.acme.preferred_chain, "Root X1");
	assert_string_equal(o.kind.acme.eab_kid, "kid-1");
	/* A full-length key id fits. */
	memset(ac->eab_kid, 'k', IPC_MAX_STR);
	assert_int_equal(cfg_connector_rt(&c, &o), 0);
	assert_int_equal(strlen(o.kind.acme.eab_kid), IPC_MAX_STR);
	snprintf(ac->eab_kid, sizeof(ac->eab_kid), "k\"");
	assert_int_equal(cfg_connector_rt(&c, &o), -1);
	snprintf(ac->eab_kid, sizeof(ac->eab_kid), "kid-1");
	snprintf(ac->contact, sizeof(ac->contact), "tel:+1");
	assert_int_equal(cfg_connector_rt(&c, &o), -1);
	snprintf(ac->contact, sizeof(ac->contact), "%s", "");
	snprintf(ac->preferred_chain, sizeof(ac->preferred_chain), "a\\b");
	assert_int_equal(cfg_connector_rt(&c, &o), -1);
}

/*
 * A kind's part travels only for its own type: an ACME part under type
 * entrust (what a confused or hostile encoder would send) is refused,
 * as is an unknown tag or a part cut short.
 */
static void
test_cfg_connector_part(void **state)
{
	static uint8_t	 dg[IPC_MAX_DGRAM];
	struct ipc_cfg_connector o;
	struct ipc_msg	 m;
	struct wbuf	 b;
	const struct {
		const char	*type;
		uint8_t		 tag;
		int		 cut;
		int		 want;
	} cases[] = {
		{ "acme", IPC_PART_ACME, 0, 0 },
		{ "entrust", IPC_PART_ACME, 0, -1 },
		{ "acme", IPC_PART_NONE, 0, -1 },
		{ "testca", IPC_PART_ACME, 0, -1 },
		{ "acme", 9, 0, -1 },
		{ "acme", IPC_PART_ACME, 1, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		wbuf_put_cstr(&b, "c");
		wbuf_put_cstr(&b, cases[i].type);
		wbuf_put_cstr(&b, "https://ca.test/dir");
		wbuf_put_cstr(&b, "");
		wbuf_put_cstr(&b, "");
		wbuf_put_u8(&b, IPC_AUTH_CERT);
		wbuf_put_u8(&b, 0);
		wbuf_put_u8(&b, cases[i].tag);
		wbuf_put_cstr(&b, "mailto:a@b.org");
		wbuf_put_cstr(&b, "");
		if (!cases[i].cut)
			wbuf_put_cstr(&b, "kid");
		assert_int_equal(ipc_parse(dg, frame(dg, IPC_CFG_CONNECTOR, 0,
		    &b), &m), 0);
		assert_int_equal(ipc_dec_cfg_connector(&m, &o), cases[i].want);
		wbuf_free(&b);
	}
}

/* The TLS 1.3 request carries a transcript hash; the token message a token. */
static void
test_tls13_and_http01_token(void **state)
{
	uint8_t			 dg[IPC_MAX_DGRAM], h[32], cv[TLS13_CV_MAX];
	const uint8_t		*hp;
	size_t			 hl;
	struct wbuf		 b;
	struct ipc_msg		 m;
	struct ipc_sign_request	 rq = { 4, SCHEME_ECDSA_SHA256, h, sizeof(h) }, o;
	struct ipc_http01_token	 t, to;
	int			 n;

	(void)state;
	memset(h, 0xab, sizeof(h));
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &rq);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_TLS13_SIGN_REQUEST, 3, &b),
	    &m), 0);
	assert_int_equal(ipc_dec_tls13_sign_request(&m, &o), 0);
	assert_int_equal(o.dlen, 32);
	/* The two kinds are not interchangeable. */
	assert_int_equal(ipc_dec_sign_request(&m, &o), -1);
	assert_string_equal(ipc_type_name(IPC_TLS13_SIGN_REQUEST),
	    "tls13-sign-request");
	/* The content: 64 spaces, the client context, 0x00, the hash. */
	n = tls13_cv_content(h, sizeof(h), cv, sizeof(cv));
	assert_int_equal(n, 64 + 33 + 1 + 32);
	assert_int_equal(cv[0], 0x20);
	assert_int_equal(cv[63], 0x20);
	assert_memory_equal(cv + 64, "TLS 1.3, client CertificateVerify", 33);
	assert_int_equal(cv[97], 0);
	assert_int_equal(tls13_cv_split(cv, (size_t)n, &hp, &hl), 1);
	assert_int_equal(hl, 32);
	assert_ptr_equal(hp, cv + 98);
	assert_int_equal(tls13_cv_content(h, 20, cv, sizeof(cv)), -1);
	assert_int_equal(tls13_cv_content(h, 32, cv, 100), -1);
	cv[70] = 's';	/* "server" context, or anything else */
	assert_int_equal(tls13_cv_split(cv, (size_t)n, &hp, &hl), 0);
	assert_int_equal(tls13_cv_split(cv, 98 + 31, &hp, &hl), 0);

	memset(&t, 0, sizeof(t));
	t.job_id = 9;
	t.add = 1;
	snprintf(t.token, sizeof(t.token), "tok_EN-123");
	wbuf_reset(&b);
	ipc_enc_http01_token(&b, &t);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_HTTP01_TOKEN, 0, &b), &m),
	    0);
	assert_int_equal(ipc_dec_http01_token(&m, &to), 0);
	assert_int_equal(to.job_id, 9);
	assert_int_equal(to.add, 1);
	assert_string_equal(to.token, "tok_EN-123");
	/* Not base64url, empty, add out of range. */
	snprintf(t.token, sizeof(t.token), "a/b");
	wbuf_reset(&b);
	ipc_enc_http01_token(&b, &t);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_HTTP01_TOKEN, 0, &b), &m),
	    0);
	assert_int_equal(ipc_dec_http01_token(&m, &to), -1);
	t.token[0] = '\0';
	wbuf_reset(&b);
	ipc_enc_http01_token(&b, &t);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_HTTP01_TOKEN, 0, &b), &m),
	    0);
	assert_int_equal(ipc_dec_http01_token(&m, &to), -1);
	snprintf(t.token, sizeof(t.token), "ok");
	t.add = 2;
	wbuf_reset(&b);
	ipc_enc_http01_token(&b, &t);
	assert_int_equal(ipc_parse(dg, frame(dg, IPC_HTTP01_TOKEN, 0, &b), &m),
	    0);
	assert_int_equal(ipc_dec_http01_token(&m, &to), -1);
	wbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_connector),
		cmocka_unit_test(test_cfg_connector_acme),
		cmocka_unit_test(test_cfg_connector_part),
		cmocka_unit_test(test_sign_request_roundtrip),
		cmocka_unit_test(test_jws_sign_request),
		cmocka_unit_test(test_tls13_and_http01_token),
		cmocka_unit_test(test_trailing_bytes_rejected),
		cmocka_unit_test(test_oversized_digest_rejected),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_wrong_type_for_decoder),
		cmocka_unit_test(test_sign_reply_consistency),
		cmocka_unit_test(test_cfg_checks),
		cmocka_unit_test(test_fd_past_nofile),
		cmocka_unit_test(test_strings_must_be_printable),
		cmocka_unit_test(test_transport_socketpair),
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_ca_messages),
	};

	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
