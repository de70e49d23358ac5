/*
 * tools.h - the client's two commands that need libcrypto: "audit" (an
 * offline check of the log and its proofs) and "certmonger-helper". The
 * hsmagent binary does not link libcrypto, which took half of its start
 * (bench/README.md, "The CLI's start"): it runs them by executing
 * hsmagent-tools, the same client linked whole (tools_exec.c), which runs
 * them in its own process (tools_inproc.c). Same arguments, same output,
 * same exit codes either way.
 */
#ifndef HSMAGENT_TOOLS_H
#define HSMAGENT_TOOLS_H

/*
 * argc/argv from the command on; whole is the command line as given
 * (what hsmagent-tools is run with). Each returns the exit code, or
 * AUDIT_CMD_USAGE (audit_cmd.h) for a usage error.
 */
int	tools_certmonger(int argc, char *argv[], const char *socket_path,
	    char *whole[]);
int	tools_audit(int argc, char *argv[], char *whole[]);

#endif
