/*
 * child_limits.h - how many connections the child holds at once, shared
 * by the curl multi handle (connector_main.c) and the descriptor limit
 * the sandbox sets (sandbox_linux.c), which must leave room for them.
 */
#ifndef HSMAGENT_CHILD_LIMITS_H
#define HSMAGENT_CHILD_LIMITS_H

#include "ipc.h"

/*
 * Idle connections curl keeps for reuse (CURLMOPT_MAXCONNECTS): as many
 * as jobs run at once, so a busy tick's connections all stay for the
 * next. With fewer, curl closed the rest as they went idle and each new
 * request past them paid a TLS handshake, so an HSM signature: with 1,000
 * orders pending, nearly one per poll (test_many_pending.sh counts them).
 */
#define CHILD_IDLE_CONNECTIONS	64
/*
 * All open at once (CURLMOPT_MAX_TOTAL_CONNECTIONS): one per job the
 * parent may run at once, and the idle ones. A transfer past it waits.
 */
#define CHILD_MAX_CONNECTIONS	(IPC_MAX_JOBS + CHILD_IDLE_CONNECTIONS)

#endif
