/*
 * child_limits.h - how many connections the child holds at once, shared
 * by the curl multi handle (connector_main.c) and the descriptor limit
 * the sandbox sets (sandbox_linux.c), which must leave room for them.
 */
#ifndef HSMAGENT_CHILD_LIMITS_H
#define HSMAGENT_CHILD_LIMITS_H

#include "ipc.h"

/* Idle connections curl keeps for reuse (CURLMOPT_MAXCONNECTS). */
#define CHILD_IDLE_CONNECTIONS	32
/*
 * All open at once (CURLMOPT_MAX_TOTAL_CONNECTIONS): one per job the
 * parent may run at once, and the idle ones. A transfer past it waits.
 */
#define CHILD_MAX_CONNECTIONS	(IPC_MAX_JOBS + CHILD_IDLE_CONNECTIONS)

#endif
