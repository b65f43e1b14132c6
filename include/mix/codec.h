/*
 * codec.h - the codecs an output can be encoded with: VP8 + Opus (what WebRTC peers and
 * WebM/Matroska recordings get) or H.264 + AAC (MP4 recordings, where this FFmpeg has the
 * libx264 and native aac encoders; see mix/h264.h and mix/aac.h).
 *
 * Zero is the default of each enum, so a zeroed options struct means VP8 + Opus.
 * Constants only: any thread.
 */
#ifndef MIX_CODEC_H
#define MIX_CODEC_H

enum mix_video_codec { MIX_VCODEC_VP8 = 0, MIX_VCODEC_H264 = 1 };
enum mix_audio_codec { MIX_ACODEC_OPUS = 0, MIX_ACODEC_AAC = 1 };

#endif
