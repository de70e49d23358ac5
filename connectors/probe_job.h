/*
 * probe_job.h - one HTTPS request over mTLS, run by the child: the
 * probe job, and the transfer state shared with the TLS callback.
 */
#ifndef HSMAGENT_PROBE_JOB_H
#define HSMAGENT_PROBE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "ipc.h"

/* Bytes read before a response is abandoned; IPC_MAX_BODY are kept. */
#define PROBE_MAX_READ		(1024 * 1024)

struct child;

struct probe_job {
	uint32_t	 id;
	struct child	*child;
	CURL		*easy;
	EVP_PKEY	*key;		/* proxy key tagged with id */
	uint8_t		*body;		/* IPC_MAX_BODY */
	size_t		 body_len;
	size_t		 read_total;
	int		 truncated;
	char		 tls_version[32];
	char		 errbuf[CURL_ERROR_SIZE];
};

#endif
