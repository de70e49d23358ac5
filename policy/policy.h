/*
 * policy.h - who may ask for what (the format: policy/POLICY.md).
 *
 * Default deny. Rules name callers (users, groups, uids, gids) and what
 * they may request: connectors, profiles, SAN patterns, key types,
 * validity, a rate, and whether a second person must approve.
 */
#ifndef HSMAGENT_POLICY_H
#define HSMAGENT_POLICY_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "csr.h"
#include "san.h"

#define POLICY_MAX_FILE		(256 * 1024)
#define POLICY_MAX_LINE		4096
#define POLICY_MAX_RULES	256
#define POLICY_MAX_LIST		64	/* items in one list */
#define POLICY_MAX_NAME		64

/* The caller as the kernel and the group database see it. */
struct caller {
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	const char	*user;
	const gid_t	*groups;	/* all of the user's groups */
	size_t		 ngroups;
};

struct enroll_request {
	const char		*connector, *profile;
	const struct san	*sans;		/* as requested; may be 0 */
	size_t			 nsans;
	uint32_t		 validity_days;	/* 0: none asked for */
	const struct csr_info	*csr;
};

struct decision {
	int		 allowed;
	char		 rule[POLICY_MAX_NAME + 1];	/* "" if none */
	int		 needs_approval;
	uint32_t	 validity_days;		/* as asked; 0: the connector's */
	const char	*code;			/* policy_denied | bad_request */
	char		 reason[256];
};

struct policy;

struct policy	*policy_load(const char *path, char *err, size_t errlen);
/* buf need not be NUL-terminated; len is authoritative. */
struct policy	*policy_parse(const char *buf, size_t len, const char *name,
		    char *err, size_t errlen);
void		 policy_free(struct policy *);

int	policy_is_admin(const struct policy *, const struct caller *);
/*
 * The first rule (file order) that names the caller, the connector and
 * the profile and whose every check passes allows the request; if none
 * does, the reason from the first rule that named all three (or "no
 * rule for ...") denies it. now (seconds) drives the rate limit, which
 * counts only allowed requests.
 */
int	policy_decide(struct policy *, const struct caller *,
	    const struct enroll_request *, int64_t now, struct decision *);
/*
 * The first connector a rule names that is not among names (the
 * configured connectors), with *rule set to that rule's name; NULL if
 * every rule names only configured ones.
 */
const char *policy_unknown_connector(const struct policy *,
	    const char *const *names, size_t n, const char **rule);
/*
 * What the caller may ask for: fn once per rule naming the caller, per
 * connector and profile it lists, with its maximum validity (0: none)
 * and whether a second person must approve. Checks that depend on the
 * request (SANs, key type, rate) are the rule's and not listed.
 */
void	policy_each_offer(const struct policy *, const struct caller *,
	    void (*fn)(void *arg, const char *rule, const char *connector,
	    const char *profile, uint32_t max_validity, int approval),
	    void *arg);
/* 1 if approver may approve an order that rule allowed for requester. */
int	policy_may_approve(const struct policy *, const char *rule,
	    const struct caller *approver, uid_t requester_uid, char *reason,
	    size_t len);

#endif
