/*
 * avenc.h - what the engine's libavcodec encoders (h264_enc.c, aac_enc.c) share: finding an
 * encoder by name with its context, frame and packet, freeing them, and libavcodec errors as
 * ours. Internal to the engine. Pure helpers: any thread; the caller owns what they allocate.
 */
#ifndef MIX_AVENC_H
#define MIX_AVENC_H

#include <errno.h>

#include <libavcodec/avcodec.h>

/*
 * Finds the encoder `name` (*codec) and allocates its context, a frame and a packet, with the
 * encoder's info-level log lines turned down (settings and statistics would fill the server
 * log). 0, -ENOTSUP (this FFmpeg has no such encoder) or -ENOMEM; whatever was allocated is
 * left for avenc_free either way.
 */
int avenc_alloc(const char *name, const AVCodec **codec, AVCodecContext **ctx, AVFrame **frame,
                AVPacket **pkt);
/* Frees what avenc_alloc allocated (any of them may be NULL) and clears the pointers. */
void avenc_free(AVCodecContext **ctx, AVFrame **frame, AVPacket **pkt);

/* A negative libavcodec result as ours: -ENOMEM for AVERROR(ENOMEM), else -EIO. */
static inline int avenc_err(int ret)
{
	return ret == AVERROR(ENOMEM) ? -ENOMEM : -EIO;
}

#endif
