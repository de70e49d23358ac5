/*
 * stub_child.c - see stub_child.h.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "stub_child.h"

static uint8_t	 rx[IPC_MAX_DGRAM + 1];
static char	 chain[IPC_MAX_BLOB];
static size_t	 chain_len;

/* Work that came while a signature was awaited, in order. */
#define STUB_QUEUE	16
static struct {
	uint16_t	 type;
	uint32_t	 id;
	uint8_t		*data;
	size_t		 len;
}		 queue[STUB_QUEUE];
static size_t	 nqueue;
static uint8_t	*held;		/* the message stub_recv last returned */

void
stub_recv(struct ipc_msg *m)
{
	struct pollfd p = { STUB_FD, POLLIN, 0 };

	free(held);
	held = NULL;
	if (nqueue > 0) {
		m->type = queue[0].type;
		m->id = queue[0].id;
		m->payload = held = queue[0].data;
		m->len = queue[0].len;
		memmove(&queue[0], &queue[1], --nqueue * sizeof(queue[0]));
		return;
	}
	for (;;) {
		if (poll(&p, 1, 20000) != 1)
			exit(10);
		int r = ipc_recv(STUB_FD, rx, sizeof(rx), m);
		if (r == 1)
			return;
		if (r == 0)
			exit(0);
	}
}

void
stub_send(uint16_t type, uint32_t id, const struct wbuf *b)
{
	if (ipc_send(STUB_FD, type, id, b) == -1)
		exit(11);
}

void
stub_configure(const char *sandbox)
{
	struct ipc_msg		 m;
	struct ipc_cfg_blob	 cb;
	struct ipc_ready	 ready;
	struct wbuf		 b;

	for (;;) {
		stub_recv(&m);
		if (m.type == IPC_CFG_BLOB && ipc_dec_cfg_blob(&m, &cb) == 0 &&
		    cb.kind == BLOB_CHAIN_PEM && cb.offset + cb.len <=
		    sizeof(chain)) {
			memcpy(chain + cb.offset, cb.data, cb.len);
			chain_len = cb.offset + cb.len;
		}
		if (m.type == IPC_CFG_DONE)
			break;
	}
	memset(&ready, 0, sizeof(ready));
	strncpy(ready.sandbox, sandbox, sizeof(ready.sandbox) - 1);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_ready(&b, &ready);
	stub_send(IPC_READY, 0, &b);
	wbuf_free(&b);
}

X509 *
stub_leaf(void)
{
	BIO	*bio = BIO_new_mem_buf(chain, (int)chain_len);
	X509	*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	return x;
}

int
stub_sign(uint16_t type, uint32_t req, const struct wbuf *b, uint8_t *sig,
    size_t *siglen)
{
	struct ipc_sign_reply	 rp;
	struct ipc_msg		 m;

	stub_send(type, req, b);
	for (;;) {
		struct pollfd p = { STUB_FD, POLLIN, 0 };

		if (poll(&p, 1, 20000) != 1)
			exit(10);
		int r = ipc_recv(STUB_FD, rx, sizeof(rx), &m);
		if (r == 0)
			exit(0);
		if (r != 1)
			continue;
		if (m.type == IPC_SIGN_REPLY)
			break;
		/* A job meanwhile: kept for stub_recv. */
		if (nqueue == STUB_QUEUE)
			exit(13);
		queue[nqueue].type = m.type;
		queue[nqueue].id = m.id;
		queue[nqueue].len = m.len;
		queue[nqueue].data = malloc(m.len ? m.len : 1);
		memcpy(queue[nqueue].data, m.payload, m.len);
		nqueue++;
	}
	if (m.id != req || ipc_dec_sign_reply(&m, &rp) == -1)
		exit(12);
	if (rp.status == SIGN_OK) {
		memcpy(sig, rp.sig, rp.siglen);
		*siglen = rp.siglen;
	}
	return rp.status;
}

const char *
stub_verdict(int status)
{
	return status == SIGN_OK ? "granted" : status == SIGN_REFUSED ?
	    "refused" : "failed";
}
