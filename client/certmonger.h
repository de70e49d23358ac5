/*
 * certmonger.h - "hsmagent certmonger-helper": the CLI as a certmonger
 * external CA helper (getcert add-ca -e '...').
 *
 * certmonger runs the helper with the operation and its inputs in
 * CERTMONGER_* variables (the rest of the environment scrubbed) and reads
 * the result from stdout and the exit status. The statuses are
 * certmonger's, not the CLI's (certmonger's doc/submit.txt):
 *   0 issued (PEM on stdout)   2 rejected (reason on stdout)
 *   3 unreachable (why)        4 underconfigured (why)
 *   5 wait: "DELAY\nCOOKIE"    6 operation not supported
 */
#ifndef HSMAGENT_CERTMONGER_H
#define HSMAGENT_CERTMONGER_H

enum {
	CM_ISSUED = 0, CM_REJECTED = 2, CM_UNREACHABLE = 3,
	CM_UNCONFIGURED = 4, CM_WAIT_WITH_DELAY = 5, CM_UNSUPPORTED = 6,
};

/*
 * argv: "certmonger-helper" [--socket PATH] [--connector C --profile P];
 * socket_path is the global --socket (or the default). Returns the exit
 * status for certmonger.
 */
int	certmonger_helper(int argc, char *argv[], const char *socket_path);

#endif
