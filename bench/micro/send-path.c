/*
 * send-path.c - CPU per packet per recipient of the server's send path, in isolation: P
 * recipients each send every frame of a 4000..5800-byte video frame stream as peer_out.c does
 * (vp8_packetize_parts, rtx_pkt_write straight from the shared frame, rtx_history_put of a
 * reference, SRTP protect in place). Prints nanoseconds of process CPU per packet per recipient.
 * A measuring tool, not part of the build (one thread, no sockets: sending is not counted).
 *
 * Build and run from the repository root after `make`:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc bench/micro/send-path.c build/libmcu.a \
 *      build/libmix.a $(pkg-config --libs libsrtp2 nice) -lssl -lcrypto -lvpx -lopus \
 *      -lavformat -lavcodec -lavutil -lswscale -lm -lpthread -o build/send-path
 *   build/send-path            (SRTP AEAD_AES_128_GCM, the profile the server prefers)
 *   build/send-path cm         (SRTP AES128_CM_SHA1_80)
 *   build/send-path none       (no SRTP: packetize, write and history only)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mix/packet.h"
#include "net/srtp.h"
#include "rtp/nack.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"

#define RECIPIENTS 100
#define FRAMES     300

struct recipient {
	struct rtx_history *h;
	struct srtp_sess *srtp; /* NULL: no SRTP */
	uint16_t seq;
};

struct ctx {
	struct recipient *r;
	struct rtx_pkt rp;
	uint64_t bytes;
};

static int emit(void *opaque, const uint8_t *desc, size_t desc_len, size_t off, size_t n,
                bool marker)
{
	struct ctx *c = opaque;
	uint8_t buf[RTP_MAX_PACKET + SRTP_MAX_TRAILER];
	memcpy(c->rp.prefix, desc, desc_len);
	c->rp.prefix_len = (uint8_t)desc_len;
	c->rp.offset = (uint32_t)off;
	c->rp.len = (uint16_t)n;
	c->rp.marker = marker;
	uint16_t seq = c->r->seq++;
	int len = rtx_pkt_write(&c->rp, seq, buf, RTP_MAX_PACKET);
	if (len < 0)
		return len;
	rtx_history_put(c->r->h, seq, &c->rp, 0);
	size_t l = (size_t)len;
	if (c->r->srtp)
		srtp_sess_protect_rtp(c->r->srtp, buf, &l, sizeof(buf));
	c->bytes += l + buf[l - 1]; /* keeps the work observable */
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "gcm";
	struct srtp_keys k = {.profile = SRTP_PROFILE_AEAD_AES_128_GCM, .master_len = 28};
	if (strcmp(mode, "cm") == 0)
		k = (struct srtp_keys){.profile = SRTP_PROFILE_AES128_CM_SHA1_80, .master_len = 30};
	static struct recipient rs[RECIPIENTS];
	for (int i = 0; i < RECIPIENTS; i++) {
		if (rtx_history_alloc(&rs[i].h, 1024) < 0 ||
		    (strcmp(mode, "none") != 0 && srtp_sess_new(&rs[i].srtp, &k) < 0))
			return 1;
	}
	struct timespec a, b;
	uint64_t packets = 0, bytes = 0;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (int f = 0; f < FRAMES; f++) {
		struct mix_packet *frame = mix_packet_alloc(4000 + (size_t)(f % 7) * 300);
		if (!frame)
			return 1;
		memset(frame->data, f, frame->size);
		for (int i = 0; i < RECIPIENTS; i++) {
			struct ctx c = {&rs[i],
			                {.frame = frame,
			                 .pt = 96,
			                 .ts = (uint32_t)f * 3000,
			                 .ssrc = 5,
			                 .ext_id = 3,
			                 .ext_len = 3,
			                 .ext = {1, 2, 3}},
			                0};
			int n = vp8_packetize_parts(frame->size, 1150, (uint16_t)f, emit, &c);
			packets += n > 0 ? (uint64_t)n : 0;
			bytes += c.bytes;
		}
		mix_packet_unref(&frame);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("%s: %llu packets, %.0f ns per packet per recipient (%llu)\n", mode,
	       (unsigned long long)packets, ns / (double)packets, (unsigned long long)bytes);
	for (int i = 0; i < RECIPIENTS; i++) {
		rtx_history_free(&rs[i].h);
		srtp_sess_free(&rs[i].srtp);
	}
	return 0;
}
