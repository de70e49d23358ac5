/*
 * peer_ident.c - who a local client is, beyond the uid, gid and pid the
 * kernel reports for the socket (SO_PEERCRED): the user's name and group
 * memberships, as the policy's callers name them.
 *
 * Asking NSS costs two file reads (passwd, group) per connection, which
 * was a quarter of the agent's work for a status request. The answer is
 * kept PEER_IDENT_TTL_MS per uid and gid, so a change in the group
 * database reaches the agent within seconds (nscd keeps such answers
 * ten minutes). The cache is small and fixed: the oldest slot goes.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "api_server.h"
#include "peer_ident.h"

struct ident {
	int		 used;
	uid_t		 uid;
	gid_t		 gid;
	int64_t		 at_ms;
	char		 user[API_USER_MAX + 1];
	gid_t		 groups[API_MAX_GROUPS];
	size_t		 ngroups;
};

static struct ident	cache[PEER_IDENT_SLOTS];

static void
look_up(struct ident *e)
{
	struct passwd	 pw, *pwp = NULL;
	char		 buf[4096];
	int		 ng = API_MAX_GROUPS;

	e->user[0] = '\0';
	e->groups[0] = e->gid;
	e->ngroups = 1;
	if (getpwuid_r(e->uid, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL) {
		snprintf(e->user, sizeof(e->user), "%s", pw.pw_name);
		/* Membership as the group database says, primary included. */
		if (getgrouplist(pw.pw_name, e->gid, e->groups, &ng) != -1)
			e->ngroups = (size_t)ng;
	}
}

void
peer_ident(uid_t uid, gid_t gid, int64_t now_ms, char *user, size_t userlen,
    gid_t *groups, size_t max, size_t *ngroups)
{
	struct ident	*e = NULL, *oldest = &cache[0];
	size_t		 i, n;

	for (i = 0; i < PEER_IDENT_SLOTS; i++) {
		struct ident *c = &cache[i];

		if (c->used && c->uid == uid && c->gid == gid &&
		    now_ms - c->at_ms < PEER_IDENT_TTL_MS &&
		    now_ms >= c->at_ms) {
			e = c;
			break;
		}
		if (!c->used || (oldest->used && c->at_ms < oldest->at_ms))
			oldest = c;
	}
	if (e == NULL) {
		e = oldest;
		memset(e, 0, sizeof(*e));
		e->used = 1;
		e->uid = uid;
		e->gid = gid;
		e->at_ms = now_ms;
		look_up(e);
	}
	snprintf(user, userlen, "%s", e->user);
	n = e->ngroups < max ? e->ngroups : max;
	memcpy(groups, e->groups, n * sizeof(*groups));
	*ngroups = n;
}
