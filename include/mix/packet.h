/*
 * packet.h - a refcounted encoded media packet (one VP8 frame or one Opus packet).
 *
 * Encoders allocate packets; every recipient that shares the encoder gets a reference to the
 * same packet. The refcount is atomic, so a reference may be handed to another thread.
 * Data is immutable once the packet has been handed out.
 */
#ifndef MIX_PACKET_H
#define MIX_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mix_kind { MIX_AUDIO = 0, MIX_VIDEO = 1 };

struct mix_packet {
	uint8_t *data;
	size_t size;
	int64_t pts_us;      /* presentation time on the engine's media clock */
	int64_t duration_us; /* 20000 for an audio tick, 1e6/fps for video */
	enum mix_kind kind;
	bool keyframe;
	int refs_; /* private: use mix_packet_ref/unref */
};

/* Allocates a packet with `size` bytes of uninitialised data and one reference. NULL on OOM. */
struct mix_packet *mix_packet_alloc(size_t size);
/* Allocates a packet holding a copy of data. NULL on OOM. */
struct mix_packet *mix_packet_copy(const uint8_t *data, size_t size);
struct mix_packet *mix_packet_ref(struct mix_packet *p);
/* Drops one reference and sets *p to NULL; frees on the last one. NULL-safe. */
void mix_packet_unref(struct mix_packet **p);

#endif
