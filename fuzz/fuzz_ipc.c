/*
 * fuzz_ipc.c - libFuzzer target for the IPC framing and every payload
 * decoder, in both directions. The input is one datagram; after the
 * header check, each decoder is run on the payload as if the header
 * had named its type, so the decoders are reached whatever the type.
 * A CA result's certificate also goes through the hash its record names
 * (cert_pem_sha256), as the parent takes it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert_hash.h"
#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
hash_cert(const struct ipc_ca_result *r)
{
	char	cert[IPC_MAX_CERT + 1], hex[65];

	memcpy(cert, r->cert, r->cert_len);
	cert[r->cert_len] = '\0';
	(void)cert_pem_sha256(cert, hex);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t			*copy;
	struct ipc_msg		 m;
	union {
		struct ipc_cfg_blob	blob;
		struct ipc_cfg_done	done;
		struct ipc_job_probe	probe;
		struct ipc_sign_reply	srep;
		struct ipc_selftest	st;
		struct ipc_ready	ready;
		struct ipc_sign_request	sreq;
		struct ipc_job_result	jr;
		struct ipc_log		log;
		struct ipc_cfg_connector conn;
		struct ipc_job_ca	jca;
		struct ipc_ca_result	car;
		struct ipc_jws_sign_request jws;
		struct ipc_http01_token h01;
	} u;

	/* An exact-size copy lets ASan see any read past the datagram. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (ipc_parse(copy, size, &m) == 0) {
		m.type = IPC_CFG_BLOB;	 (void)ipc_dec_cfg_blob(&m, &u.blob);
		m.type = IPC_CFG_DONE;	 (void)ipc_dec_cfg_done(&m, &u.done);
		m.type = IPC_JOB_PROBE;	 (void)ipc_dec_job_probe(&m, &u.probe);
		m.type = IPC_SIGN_REPLY; (void)ipc_dec_sign_reply(&m, &u.srep);
		m.type = IPC_SELFTEST;	 (void)ipc_dec_selftest(&m, &u.st);
		m.type = IPC_READY;	 (void)ipc_dec_ready(&m, &u.ready);
		m.type = IPC_SIGN_REQUEST; (void)ipc_dec_sign_request(&m, &u.sreq);
		m.type = IPC_JOB_RESULT; (void)ipc_dec_job_result(&m, &u.jr);
		m.type = IPC_LOG;	 (void)ipc_dec_log(&m, &u.log);
		m.type = IPC_CFG_CONNECTOR; (void)ipc_dec_cfg_connector(&m, &u.conn);
		m.type = IPC_JOB_CA;	 (void)ipc_dec_job_ca(&m, &u.jca);
		m.type = IPC_CA_RESULT;
		if (ipc_dec_ca_result(&m, &u.car) == 0)
			hash_cert(&u.car);
		m.type = IPC_JWS_SIGN_REQUEST;
		(void)ipc_dec_jws_sign_request(&m, &u.jws);
		m.type = IPC_TLS13_SIGN_REQUEST;
		(void)ipc_dec_tls13_sign_request(&m, &u.sreq);
		m.type = IPC_HTTP01_TOKEN;
		(void)ipc_dec_http01_token(&m, &u.h01);
	}
	free(copy);
	return 0;
}
