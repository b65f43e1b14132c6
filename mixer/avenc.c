/*
 * avenc.c - shared set-up of the engine's libavcodec encoders (see avenc.h). Any thread.
 */
#include "avenc.h"

int avenc_alloc(const char *name, const AVCodec **codec, AVCodecContext **ctx, AVFrame **frame,
                AVPacket **pkt)
{
	*codec = avcodec_find_encoder_by_name(name);
	if (!*codec)
		return -ENOTSUP;
	*ctx = avcodec_alloc_context3(*codec);
	*frame = av_frame_alloc();
	*pkt = av_packet_alloc();
	if (!*ctx || !*frame || !*pkt)
		return -ENOMEM;
	(*ctx)->log_level_offset = AV_LOG_VERBOSE - AV_LOG_INFO;
	return 0;
}

void avenc_free(AVCodecContext **ctx, AVFrame **frame, AVPacket **pkt)
{
	avcodec_free_context(ctx);
	av_frame_free(frame);
	av_packet_free(pkt);
}
