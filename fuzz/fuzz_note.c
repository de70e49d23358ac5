/*
 * fuzz_note.c - the signed-note and checkpoint parsers on any bytes:
 * what an attacker could leave in a checkpoint file or a receipt.
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
	return 0;
}
