/*
 * audit_cmd.h - "hsmagent audit ...": the audit log checked offline.
 */
#ifndef HSMAGENT_AUDIT_CMD_H
#define HSMAGENT_AUDIT_CMD_H

#define AUDIT_CMD_USAGE	(-1)	/* the caller prints the synopsis */

/* argv[0] is "audit". An exit code, or AUDIT_CMD_USAGE. */
int	audit_cmd(int argc, char *argv[]);

#endif
