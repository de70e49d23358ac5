/*
 * fuzz_note.c - the signed-note, checkpoint, tlog-proof and verifier
 * key parsers on any bytes: what an attacker could leave in a checkpoint
 * file, a receipt, or a key-rotation record of the log.
 */
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "signed_note.h"
#include "tlog_proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note	n;
	struct checkpoint	c;
	char			err[128];

	if (note_parse((const char *)data, size, &n, err, sizeof(err)) == 0)
		(void)checkpoint_parse(n.text, n.textlen, &c, err,
		    sizeof(err));
	(void)checkpoint_parse((const char *)data, size, &c, err, sizeof(err));
	{
		struct tlog_proof t;

		if (tlog_proof_parse((const char *)data, size, &t, err,
		    sizeof(err)) == 0)
			tlog_proof_free(&t);
	}
	{
		char		 name[NOTE_MAX_NAME + 1];
		uint8_t		 id[4];
		EVP_PKEY	*k;

		if (note_vkey_parse((const char *)data, size, name, id, &k,
		    err, sizeof(err)) == 0)
			EVP_PKEY_free(k);
	}
	return 0;
}
