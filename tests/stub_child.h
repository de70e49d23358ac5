/*
 * stub_child.h - the IPC plumbing shared by the test children that
 * stand in for a hijacked connector (rogue_connector.c,
 * hostile_child.c): they talk to the real parent on fd 3, take the
 * configuration (keeping the client certificate chain, to verify what
 * the parent signs) and report ready, without a sandbox.
 */
#ifndef HSMAGENT_STUB_CHILD_H
#define HSMAGENT_STUB_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ipc.h"

#define STUB_FD		3

/* One datagram, 20 s at most (exit 10); the parent gone: exit 0. */
void	stub_recv(struct ipc_msg *);
void	stub_send(uint16_t type, uint32_t id, const struct wbuf *);
/* Reads the configuration to IPC_CFG_DONE, then sends READY. */
void	stub_configure(const char *sandbox);
/* The client certificate (the first of the chain); the caller frees it. */
X509	*stub_leaf(void);
/*
 * Sends type/req (encoded in b) and waits for its IPC_SIGN_REPLY; work
 * that comes meanwhile is kept for stub_recv, in order.
 */
int	stub_sign(uint16_t type, uint32_t req, const struct wbuf *b,
	    uint8_t *sig, size_t *siglen);

/* "granted", "refused" or "failed" for a SIGN_* status. */
const char *stub_verdict(int status);

#endif
