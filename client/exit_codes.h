/*
 * exit_codes.h - what the client's exit status means (hsmagent(1),
 * "hsmagent --help"); scripts and certmonger's helper read them.
 */
#ifndef HSMAGENT_EXIT_CODES_H
#define HSMAGENT_EXIT_CODES_H

enum {
	EX_DONE = 0, EX_ERROR = 1, EX_USAGE = 2, EX_NOAGENT = 3,
	EX_PENDING = 10, EX_DENIED = 11, EX_REJECTED = 12, EX_RETRY = 13,
	EX_UNCHANGED = 14,
};

#endif
