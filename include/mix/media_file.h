/*
 * media_file.h - reading participant files and writing mixed recordings with libavformat.
 *
 * Reader: demuxes WebM, MKV, Ogg and IVF and hands out VP8 frames and Opus packets with
 * presentation times in microseconds relative to the file's start (the first stream start is 0).
 * Only the first VP8 and the first Opus stream are used; other streams are ignored.
 * For Opus, pts is the time of the packet's first sample AFTER the pre-skip has been removed,
 * and `preskip` tells how many leading decoded samples of the stream to discard.
 *
 * Writer: muxes VP8 + Opus (either optional) into WebM or Matroska, or H.264 + AAC into MP4.
 * Packets may arrive interleaved in any order between the two streams but increasing within
 * each. With `live` (WebM/Matroska only), clusters are closed every 500 ms and the file is
 * flushed so that a killed process leaves a playable file. An MP4 is playable only once closed
 * (its index is written by mix_writer_close); callers write it under a temporary name.
 * H.264 packets are Annex B with SPS/PPS in every keyframe (the muxer builds the avcC from the
 * first one, which must be a keyframe); AAC needs its AudioSpecificConfig in the config.
 *
 * Errors are negative errno-style codes; a human message (naming the file) is written to the
 * caller's err buffer. Each object is single-threaded and owns its libavformat context.
 */
#ifndef MIX_MEDIA_FILE_H
#define MIX_MEDIA_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"

struct mix_reader;

struct mix_reader_packet {
	enum mix_kind kind;
	const uint8_t *data; /* borrowed: valid until the next read or close */
	size_t size;
	int64_t pts_us;
	bool keyframe; /* video only */
};

/*
 * Opens a file. Errors: -ENOENT (missing), -EACCES, -EINVAL (not a media file / corrupt header),
 * -ENOTSUP (neither VP8 video nor Opus audio). err gets a message naming the path.
 */
int mix_reader_open(struct mix_reader **out, const char *path, char *err, size_t errlen);
void mix_reader_close(struct mix_reader **r);

bool mix_reader_has_video(const struct mix_reader *r);
bool mix_reader_has_audio(const struct mix_reader *r);
int mix_reader_preskip(const struct mix_reader *r); /* Opus pre-skip samples, 0 if none */
int mix_reader_width(const struct mix_reader *r);   /* from the container, 0 if unknown */
int mix_reader_height(const struct mix_reader *r);
int64_t mix_reader_duration_us(const struct mix_reader *r); /* -1 if unknown */

/*
 * Reads the next packet of a used stream, in file order. Returns 0 and fills pkt, 1 at the end
 * of the file, or a negative code for a read error (err gets a message; truncated files end
 * with 1 after the last complete packet).
 */
int mix_reader_read(struct mix_reader *r, struct mix_reader_packet *pkt, char *err, size_t errlen);

struct mix_writer_cfg {
	const char *path;
	const char *format; /* "webm", "matroska" or "mp4"; NULL: from the path's extension */
	bool video;         /* has a video track: VP8, or H.264 in MP4 */
	int width, height, fps;
	bool audio;       /* has a mono 48 kHz audio track: Opus, or AAC in MP4 */
	int opus_preskip; /* encoder delay in samples: the OpusHead pre-skip, or AAC's priming */
	bool live;        /* WebM/Matroska: cluster every 500 ms and flush (crash-safe) */
	/* MP4 only: the AAC encoder's AudioSpecificConfig (borrowed for the open call). */
	const uint8_t *aac_config;
	size_t aac_config_size;
};

struct mix_writer;

/* Creates the file and writes the header. -EACCES/-ENOENT/-EIO etc., err names the path. */
int mix_writer_open(struct mix_writer **out, const struct mix_writer_cfg *cfg, char *err,
                    size_t errlen);

/* Writes one packet (borrowed). Audio pts are on the same clock as video pts. 0 or -errno. */
int mix_writer_write(struct mix_writer *w, const struct mix_packet *p, char *err, size_t errlen);

/* Writes the trailer (duration, cues) and closes. Returns the first error seen, if any. */
int mix_writer_close(struct mix_writer **w, char *err, size_t errlen);

/* Bytes written so far. */
int64_t mix_writer_bytes(const struct mix_writer *w);

#endif
