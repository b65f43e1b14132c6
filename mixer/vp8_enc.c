/*
 * vp8_enc.c - VP8 encoding with libvpx in realtime CBR with libwebrtc's settings.
 *
 * One thread, no lag, q 2..56, undershoot 100 / overshoot 15, buffer 500/600/1000 ms, max
 * keyframe 900 %, cpu-used -8 above 320x180 and -6 at or below, denoiser off (DESIGN.md 5).
 * Keyframe requests are coalesced: a pending request is honoured at the first encode at least
 * 1 s (of pts) after the previous keyframe. The first frame is always a keyframe. The size is
 * fixed for the encoder's life; only the bitrate changes live (vpx_codec_enc_config_set with
 * only rc_target_bitrate changed). Single-threaded per object; the object owns its libvpx
 * context; input pictures are borrowed for the call, output packets belong to the caller.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "mix/vp8.h"
#include "kf_req.h"

#define US_PER_S      1000000
#define KF_MIN_GAP_US 1000000 /* at most one requested keyframe per second */
#define KF_MAX_DIST   3000    /* libvpx's own keyframes: practically never */
#define ENC_MIN_DIM   16
#define ENC_MAX_DIM   4096
#define ENC_MIN_BPS   10000
#define ENC_MAX_BPS   100000000
#define SMALL_AREA    (320 * 180)

struct mix_vp8_enc {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg; /* live config: only rc_target_bitrate ever changes */
	int width, height;
	int64_t frame_dur_us; /* 1e6 / fps */
	int64_t first_pts_us; /* libvpx pts are relative to this (avoids overflow inside it) */
	int64_t last_pts;     /* last libvpx pts given, in the 1/1e6 timebase */
	bool started;         /* a frame has been submitted */
	struct kf_req kf;
	int keyframes;
};

static int check_cfg(const struct mix_vp8_enc_cfg *c)
{
	if (c->width < ENC_MIN_DIM || c->height < ENC_MIN_DIM || c->width > ENC_MAX_DIM ||
	    c->height > ENC_MAX_DIM || (c->width & 1) || (c->height & 1))
		return -EINVAL;
	if (c->fps < 1 || c->fps > 60)
		return -EINVAL;
	if (c->bitrate_bps < ENC_MIN_BPS || c->bitrate_bps > ENC_MAX_BPS)
		return -EINVAL;
	/* Never positive, never <= -14: libvpx's rate control breaks there (DESIGN.md 5). */
	if (c->cpu_used != 0 && (c->cpu_used < -13 || c->cpu_used > -1))
		return -EINVAL;
	return 0;
}

/* libwebrtc's realtime CBR settings (DESIGN.md 5). */
static int make_vpx_cfg(vpx_codec_enc_cfg_t *vc, const struct mix_vp8_enc_cfg *c)
{
	if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), vc, 0) != VPX_CODEC_OK)
		return -EINVAL;
	vc->g_w = (unsigned)c->width;
	vc->g_h = (unsigned)c->height;
	vc->g_threads = 1;
	vc->g_timebase.num = 1;
	vc->g_timebase.den = US_PER_S;
	vc->g_lag_in_frames = 0;
	vc->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	vc->g_pass = VPX_RC_ONE_PASS;
	vc->rc_end_usage = VPX_CBR;
	vc->rc_target_bitrate = (unsigned)(c->bitrate_bps / 1000);
	vc->rc_min_quantizer = 2;
	vc->rc_max_quantizer = 56;
	vc->rc_undershoot_pct = 100;
	vc->rc_overshoot_pct = 15;
	vc->rc_buf_initial_sz = 500;
	vc->rc_buf_optimal_sz = 600;
	vc->rc_buf_sz = 1000;
	vc->rc_resize_allowed = 0;
	vc->kf_mode = VPX_KF_AUTO;
	vc->kf_min_dist = 0;
	vc->kf_max_dist = KF_MAX_DIST;
	return 0;
}

static int auto_cpu_used(const struct mix_vp8_enc_cfg *c)
{
	if (c->cpu_used)
		return c->cpu_used;
	return c->width * c->height > SMALL_AREA ? -8 : -6;
}

static int set_controls(vpx_codec_ctx_t *ctx, const struct mix_vp8_enc_cfg *c)
{
	int bad = 0;
	bad |= vpx_codec_control(ctx, VP8E_SET_CPUUSED, auto_cpu_used(c)) != VPX_CODEC_OK;
	bad |= vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, 0) != VPX_CODEC_OK;
	bad |= vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, 1) != VPX_CODEC_OK;
	bad |= vpx_codec_control(ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900) != VPX_CODEC_OK;
	bad |= vpx_codec_control(ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION) !=
	       VPX_CODEC_OK;
	return bad ? -EINVAL : 0;
}

int mix_vp8_enc_alloc(struct mix_vp8_enc **out, const struct mix_vp8_enc_cfg *cfg)
{
	if (!out || !cfg || check_cfg(cfg))
		return -EINVAL;
	struct mix_vp8_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int err = make_vpx_cfg(&e->cfg, cfg);
	if (err)
		goto out;
	if (vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0) != VPX_CODEC_OK) {
		err = -ENOMEM;
		goto out;
	}
	err = set_controls(&e->ctx, cfg);
	if (err) {
		vpx_codec_destroy(&e->ctx);
		goto out;
	}
	e->width = cfg->width;
	e->height = cfg->height;
	e->frame_dur_us = US_PER_S / cfg->fps;
	*out = e;
	return 0;
out:
	free(e);
	return err;
}

void mix_vp8_enc_free(struct mix_vp8_enc **pe)
{
	if (!pe || !*pe)
		return;
	vpx_codec_destroy(&(*pe)->ctx);
	free(*pe);
	*pe = NULL;
}

int mix_vp8_enc_set_bitrate(struct mix_vp8_enc *e, int bitrate_bps)
{
	if (!e || bitrate_bps < ENC_MIN_BPS || bitrate_bps > ENC_MAX_BPS)
		return -EINVAL;
	vpx_codec_enc_cfg_t vc = e->cfg;
	vc.rc_target_bitrate = (unsigned)(bitrate_bps / 1000);
	if (vpx_codec_enc_config_set(&e->ctx, &vc) != VPX_CODEC_OK)
		return -EINVAL;
	e->cfg = vc;
	return 0;
}

void mix_vp8_enc_request_keyframe_gap(struct mix_vp8_enc *e, int64_t min_gap_us)
{
	if (e)
		kf_req_ask(&e->kf, min_gap_us);
}

void mix_vp8_enc_request_keyframe(struct mix_vp8_enc *e)
{
	mix_vp8_enc_request_keyframe_gap(e, KF_MIN_GAP_US);
}

int mix_vp8_enc_keyframes(const struct mix_vp8_enc *e)
{
	return e ? e->keyframes : 0;
}

/* Wraps a borrowed picture without copying; libvpx only reads the planes. */
static void wrap_picture(vpx_image_t *img, const struct mix_picture *pic)
{
	vpx_img_wrap(img, VPX_IMG_FMT_I420, (unsigned)pic->width, (unsigned)pic->height, 1,
	             (unsigned char *)(uintptr_t)pic->data[0]);
	for (int i = 0; i < 3; i++) {
		img->planes[i] = (unsigned char *)(uintptr_t)pic->data[i];
		img->stride[i] = pic->stride[i];
	}
}

static bool valid_picture(const struct mix_vp8_enc *e, const struct mix_picture *pic)
{
	if (pic->width != e->width || pic->height != e->height)
		return false;
	for (int i = 0; i < 3; i++) {
		if (!pic->data[i] || pic->stride[i] < (i ? (e->width + 1) / 2 : e->width))
			return false;
	}
	return true;
}

/* The libvpx pts: relative to the first frame, strictly increasing even if pts_us is not. */
static int64_t next_pts(struct mix_vp8_enc *e, int64_t pts_us)
{
	if (!e->started) {
		e->first_pts_us = pts_us;
		e->last_pts = -1;
	}
	int64_t pts = pts_us - e->first_pts_us;
	if (pts <= e->last_pts)
		pts = e->last_pts + 1;
	e->last_pts = pts;
	return pts;
}

static vpx_enc_frame_flags_t frame_flags(const struct mix_vp8_enc *e, int64_t pts_us)
{
	if (!e->started)
		return VPX_EFLAG_FORCE_KF;
	if (kf_req_due(&e->kf, pts_us))
		return VPX_EFLAG_FORCE_KF;
	return 0;
}

/* Appends a compressed chunk to *pkt (normally there is exactly one per input frame). */
static int append_data(struct mix_packet **pkt, const void *buf, size_t sz)
{
	size_t old = *pkt ? (*pkt)->size : 0;
	struct mix_packet *p = mix_packet_alloc(old + sz);
	if (!p)
		return -ENOMEM;
	if (old)
		memcpy(p->data, (*pkt)->data, old);
	memcpy(p->data + old, buf, sz);
	if (*pkt)
		p->keyframe = (*pkt)->keyframe;
	mix_packet_unref(pkt);
	*pkt = p;
	return 0;
}

/* Collects libvpx's output for the frame just encoded into one packet (or NULL if dropped). */
static int collect_output(struct mix_vp8_enc *e, struct mix_packet **out)
{
	struct mix_packet *pkt = NULL;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *cx;
	while ((cx = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (cx->kind != VPX_CODEC_CX_FRAME_PKT || cx->data.frame.sz == 0)
			continue;
		int err = append_data(&pkt, cx->data.frame.buf, cx->data.frame.sz);
		if (err) {
			mix_packet_unref(&pkt);
			return err;
		}
		if (cx->data.frame.flags & VPX_FRAME_IS_KEY)
			pkt->keyframe = true;
	}
	*out = pkt;
	return 0;
}

int mix_vp8_enc_encode(struct mix_vp8_enc *e, const struct mix_picture *pic, int64_t pts_us,
                       struct mix_packet **out)
{
	if (!e || !pic || !out || !valid_picture(e, pic))
		return -EINVAL;
	*out = NULL;
	vpx_image_t img;
	wrap_picture(&img, pic);
	vpx_enc_frame_flags_t flags = frame_flags(e, pts_us);
	int64_t pts = next_pts(e, pts_us);
	e->started = true;
	if (vpx_codec_encode(&e->ctx, &img, pts, (unsigned long)e->frame_dur_us, flags,
	                     VPX_DL_REALTIME) != VPX_CODEC_OK)
		return -EIO;
	struct mix_packet *pkt = NULL;
	int err = collect_output(e, &pkt);
	if (err || !pkt)
		return err;
	pkt->kind = MIX_VIDEO;
	pkt->pts_us = pts_us;
	pkt->duration_us = e->frame_dur_us;
	if (pkt->keyframe) {
		e->keyframes++;
		kf_req_done(&e->kf, pts_us);
	}
	*out = pkt;
	return 0;
}
