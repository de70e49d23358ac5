/*
 * peer_ident.h - the user name and groups of a local client's uid.
 */
#ifndef HSMAGENT_PEER_IDENT_H
#define HSMAGENT_PEER_IDENT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define PEER_IDENT_TTL_MS	5000
#define PEER_IDENT_SLOTS	64

/*
 * Name ("" if the uid has none) and groups (gid first, at most max) of
 * uid, from the user and group databases, or from what they said at
 * most PEER_IDENT_TTL_MS ago.
 */
void	peer_ident(uid_t uid, gid_t gid, int64_t now_ms, char *user,
	    size_t userlen, gid_t *groups, size_t max, size_t *ngroups);

#endif
