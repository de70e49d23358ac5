/*
 * api_limits.h - the limits of the local API's wire format, shared by
 * both ends of the socket: the parent's strict parser (api_request.c)
 * and the client's certmonger helper, which checks what certmonger hands
 * it before it asks. One definition, so the two cannot drift apart.
 */
#ifndef HSMAGENT_API_LIMITS_H
#define HSMAGENT_API_LIMITS_H

#define API_MAX_LINE		(64 * 1024)	/* bytes, newline excluded */
#define API_MAX_NAME		64		/* connector, profile */
#define API_MAX_CSR		(48 * 1024)
#define API_ORDER_ID_LEN	16
#define API_MAX_SERIAL		64		/* hex digits */
#define API_MAX_COMMENT		256

#endif
