/*
 * fuzz_sig_msg.c - libFuzzer target for the signaling message parser (src/signal/msg.c, with
 * jansson): sig_parse on the input, then sig_msg_clear (always, as the contract says).
 * Invariants: on success every string is within its documented limit, on failure the error
 * code and message are set; the error reply built from them is valid JSON text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "signal/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	struct sig_msg m;
	const char *code = NULL;
	char msg[256];
	msg[0] = 0;
	int rc = sig_parse((const char *)data, size, &m, &code, msg, sizeof(msg));
	if (rc == 0) {
		if (strlen(m.room) > SIG_MAX_ROOM || strlen(m.name) > SIG_MAX_NAME ||
		    strlen(m.mid) > 32 || m.mline < -1 || m.mline > 1023)
			abort();
		if (m.type == SIG_OFFER && (!m.sdp || strlen(m.sdp) > SIG_MAX_SDP))
			abort();
		if (m.candidate && (strlen(m.candidate) > SIG_MAX_CANDIDATE ||
		                    strncmp(m.candidate, "candidate:", 10) != 0))
			abort();
	} else {
		if (!code || !memchr(msg, 0, sizeof(msg)))
			abort();
		char *reply = sig_error(code, msg);
		free(reply); /* NULL only on OOM or a message cut inside a UTF-8 sequence */
	}
	sig_msg_clear(&m);
	return 0;
}
