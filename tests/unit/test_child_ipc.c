/*
 * test_child_ipc.c - the child's signature round trips over a real
 * SOCK_SEQPACKET socketpair, the parent's side played by the test with
 * replies queued in advance: late replies skipped, work messages
 * deferred, refusal and timeout, ES256 DER turned into r||s, and a
 * wrong-shaped answer treated as a violation (exit 2, in a fork).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "acme_jws.h"
#include "child.h"
#include "util.h"

static const char input[] = "eyJhbGciOiJFUzI1NiJ9.e30";

struct pair {
	struct child	 c;
	int		 peer;		/* the parent's end */
};

static int
setup(void **state)
{
	struct pair	*p = calloc(1, sizeof(*p));
	int		 sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	p->c.fd = sv[0];
	p->peer = sv[1];
	p->c.rx = malloc(IPC_MAX_DGRAM + 1);
	p->c.cfg.sign_timeout_ms = 500;
	p->c.next_req = 10;		/* the next request is 11 */
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pair	*p = *state;
	size_t		 i;

	for (i = 0; i < p->c.ndeferred; i++)
		free(p->c.deferred[i].dgram);
	close(p->c.fd);
	close(p->peer);
	free(p->c.rx);
	free(p);
	return 0;
}

static void
reply(struct pair *p, uint32_t id, uint8_t status, const uint8_t *sig,
    size_t len)
{
	struct ipc_sign_reply	 r = { status, sig, len };
	struct wbuf		 b;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_enc_sign_reply(&b, &r), 0);
	assert_int_equal(ipc_send(p->peer, IPC_SIGN_REPLY, id, &b), 0);
	wbuf_free(&b);
}

static void
probe_job(struct pair *p, uint32_t id)
{
	struct ipc_job_probe	 j = { "https://ca.example/", 0 };
	struct wbuf		 b;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_enc_job_probe(&b, &j), 0);
	assert_int_equal(ipc_send(p->peer, IPC_JOB_PROBE, id, &b), 0);
	wbuf_free(&b);
}

/* The request as the parent receives it. */
static void
expect_request(struct pair *p, uint32_t id, uint8_t kind)
{
	static uint8_t			 buf[IPC_MAX_DGRAM + 1];
	struct ipc_msg			 m;
	struct ipc_jws_sign_request	 rq;

	assert_int_equal(ipc_recv(p->peer, buf, sizeof(buf), &m), 1);
	assert_int_equal(m.type, IPC_JWS_SIGN_REQUEST);
	assert_int_equal(m.id, id);
	assert_int_equal(ipc_dec_jws_sign_request(&m, &rq), 0);
	assert_int_equal(rq.job_id, 5);
	assert_int_equal(rq.kind, kind);
	assert_int_equal(rq.op, ACME_OP_NEW_ACCOUNT);
	assert_int_equal(rq.len, strlen(input));
	assert_memory_equal(rq.input, input, rq.len);
}

static size_t
es256_der(uint8_t *der, size_t cap)
{
	EVP_PKEY	*k = EVP_EC_gen("prime256v1");
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	size_t		 len = cap;

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k),
	    1);
	assert_int_equal(EVP_DigestSign(md, der, &len, (const uint8_t *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return len;
}

static int
sign_jws(struct pair *p, enum ipc_jws_kind kind, int es256, uint8_t *sig,
    size_t *siglen)
{
	return child_sign_jws(&p->c, 5, kind, ACME_OP_NEW_ACCOUNT, es256,
	    (const uint8_t *)input,
	    strlen(input), sig, siglen, 512);
}

static void
test_es256_late_and_deferred(void **state)
{
	struct pair	*p = *state;
	uint8_t		 der[80], raw[64], sig[512], junk[3] = { 1, 2, 3 };
	size_t		 dl = es256_der(der, sizeof(der)), siglen = 0;

	assert_int_equal(acme_ecdsa_der_to_raw(der, dl, raw, 64), 64);
	reply(p, 9, SIGN_OK, junk, sizeof(junk));	/* late: skipped */
	probe_job(p, 77);				/* kept for later */
	reply(p, 11, SIGN_OK, der, dl);
	assert_int_equal(sign_jws(p, JWS_ACCOUNT, 1, sig, &siglen), 0);
	assert_int_equal(siglen, 64);
	assert_memory_equal(sig, raw, 64);
	assert_int_equal(p->c.ndeferred, 1);
	expect_request(p, 11, JWS_ACCOUNT);
}

static void
test_rsa_and_eab_as_sent(void **state)
{
	struct pair	*p = *state;
	uint8_t		 rsa[256], mac[ACME_HS256_LEN], sig[512];
	size_t		 siglen = 0;

	memset(rsa, 0x5a, sizeof(rsa));
	memset(mac, 0xa5, sizeof(mac));
	reply(p, 11, SIGN_OK, rsa, sizeof(rsa));
	assert_int_equal(sign_jws(p, JWS_ACCOUNT, 0, sig, &siglen), 0);
	assert_int_equal(siglen, sizeof(rsa));
	assert_memory_equal(sig, rsa, sizeof(rsa));
	reply(p, 12, SIGN_OK, mac, sizeof(mac));
	assert_int_equal(sign_jws(p, JWS_EAB, 0, sig, &siglen), 0);
	assert_int_equal(siglen, ACME_HS256_LEN);
	assert_memory_equal(sig, mac, sizeof(mac));
	expect_request(p, 11, JWS_ACCOUNT);
	expect_request(p, 12, JWS_EAB);
}

static void
test_refused_failed_timeout(void **state)
{
	struct pair	*p = *state;
	uint8_t		 sig[512];
	size_t		 siglen = 0;

	/* A refusal (the parent's policy) is told apart from a failure. */
	reply(p, 11, SIGN_REFUSED, NULL, 0);
	assert_int_equal(sign_jws(p, JWS_ACCOUNT, 1, sig, &siglen), -2);
	reply(p, 12, SIGN_FAILED, NULL, 0);
	assert_int_equal(sign_jws(p, JWS_EAB, 0, sig, &siglen), -1);
	p->c.cfg.sign_timeout_ms = 50;
	assert_int_equal(sign_jws(p, JWS_EAB, 0, sig, &siglen), -1);
	/* Its answer, late, is skipped by the next wait. */
	reply(p, 13, SIGN_OK, sig, ACME_HS256_LEN);
	reply(p, 14, SIGN_REFUSED, NULL, 0);
	assert_int_equal(sign_jws(p, JWS_EAB, 0, sig, &siglen), -2);
}

static void
test_too_large_input_not_sent(void **state)
{
	struct pair	*p = *state;
	uint8_t		*big = calloc(1, IPC_MAX_JWS_INPUT + 1), sig[512];
	size_t		 siglen;

	assert_int_equal(child_sign_jws(&p->c, 5, JWS_ACCOUNT, ACME_OP_FETCH,
	    1, big, IPC_MAX_JWS_INPUT + 1, sig, &siglen, sizeof(sig)), -1);
	assert_int_equal(child_sign_jws(&p->c, 5, JWS_ACCOUNT, ACME_OP_FETCH,
	    1, big, 0, sig, &siglen, sizeof(sig)), -1);
	free(big);
	/* Nothing was sent. */
	assert_int_equal(recv(p->peer, sig, sizeof(sig), MSG_DONTWAIT), -1);
}

/* The answer's shape is wrong: the child exits 2 (child_violation). */
static void
expect_violation(struct pair *p, enum ipc_jws_kind kind, int es256,
    const uint8_t *ans, size_t len)
{
	uint8_t	 sig[512];
	size_t	 siglen;
	pid_t	 pid;
	int	 st;

	reply(p, 11, SIGN_OK, ans, len);
	if ((pid = fork()) == 0) {
		sign_jws(p, kind, es256, sig, &siglen);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
}

static void
test_wrong_shapes_are_violations(void **state)
{
	struct pair	*p = *state;
	uint8_t		 b[80];

	memset(b, 0x30, sizeof(b));
	expect_violation(p, JWS_ACCOUNT, 1, b, 64);	/* raw, not DER */
	expect_violation(p, JWS_EAB, 0, b, 31);
	expect_violation(p, JWS_EAB, 0, b, 33);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_es256_late_and_deferred,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa_and_eab_as_sent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_failed_timeout,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_input_not_sent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wrong_shapes_are_violations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
