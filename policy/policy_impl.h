/*
 * policy_impl.h - the parsed policy, shared by policy_parse.c and
 * policy_eval.c only.
 */
#ifndef HSMAGENT_POLICY_IMPL_H
#define HSMAGENT_POLICY_IMPL_H

#include "policy.h"

enum principal_kind {
	P_UID = 1,
	P_GID,
};

struct principal {
	enum principal_kind	kind;
	uint32_t		id;
};

struct key_type {
	enum csr_key_type	type;
	int			bits;		/* RSA */
	char			curve[8];	/* EC */
};

struct rate_slot {
	uint32_t	uid;
	int64_t		window_start;
	uint32_t	count;
};

struct plist {
	char	*item[POLICY_MAX_LIST];
	size_t	 n;
};

struct rule {
	char			 name[POLICY_MAX_NAME + 1];
	struct principal	 callers[POLICY_MAX_LIST];
	size_t			 ncallers;
	struct plist		 connectors, profiles;
	struct plist		 san_dns, san_ip, san_email;
	int			 allow_wildcard;
	uint32_t		 max_validity;
	struct key_type		 keys[POLICY_MAX_LIST];
	size_t			 nkeys;
	uint32_t		 rate_n, rate_per_s;	/* 0: no limit */
	struct principal	 approvers[POLICY_MAX_LIST];
	size_t			 napprovers;
	/* Rate windows per uid (fixed windows, bounded table). */
	struct rate_slot	*slots;
	size_t			 nslots;
};

struct policy {
	struct principal	 admins[POLICY_MAX_LIST];
	size_t			 nadmins;
	struct rule		*rules;
	size_t			 nrules;
};

/* Is the caller one of these principals (uid, or member of a gid)? */
int	principal_match(const struct principal *, size_t,
	    const struct caller *);

#endif
