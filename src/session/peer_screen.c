/*
 * peer_screen.c - the screen a participant shares: a second video m-line its offer names
 * (peer.h, struct screen_in). Set up from the negotiated offer, reset when a later offer
 * changes or removes it, stopped by a "screen" message or by leaving. The room presents it
 * (room_screen_start). Runs on the peer's room loop only; the peer owns the stream's buffers.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "net/srtp.h"
#include "rtp/h264_rtp.h"
#include "rtp/reorder.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"

int peer_screen_setup(struct peer *p)
{
	const struct sdp_negotiated *n = &p->neg;
	if (n->screen_index < 0)
		return 0;
	const struct sdp_neg_media *m = &n->media[n->screen_index];
	struct screen_in *sc = &p->screen;
	sc->learn = m->nssrcs == 0;
	if (sc->learn && !m->ext_mid && n->bundle) {
		peer_fail(p, "offer-failed",
		          "the screen's m-line lists no a=ssrc and its packets carry no sdes:mid "
		          "extension: it cannot be told from the camera; joined without it");
		return 0;
	}
	sc->nssrcs = m->nssrcs;
	memcpy(sc->ssrcs, m->ssrcs, sizeof(sc->ssrcs));
	sc->s.active = true;
	sc->s.pt = m->pt;
	sc->s.clock = 90000;
	int rc = reorder_alloc(&sc->s.ro, PEER_VIDEO_REORDER_CAP, PEER_VIDEO_REORDER_MAX_US);
	if (m->vcodec == SDP_VCODEC_H264)
		rc = rc ?: h264_asm_alloc(&sc->hasm, PEER_MAX_FRAME);
	else
		rc = rc ?: vp8_asm_alloc(&sc->vasm, PEER_MAX_FRAME);
	return rc ?: room_screen_start(p->room, p);
}

void peer_screen_stop(struct peer *p)
{
	if (p->room)
		room_screen_stop(p->room, p);
}

void peer_screen_reset(struct peer *p)
{
	struct screen_in *sc = &p->screen;
	peer_screen_stop(p);
	struct peer_tp *tp = peer_tp_screen(p);
	for (int i = 0; tp && tp->srtp && i < sc->nssrcs; i++) /* slots for the next screen */
		srtp_sess_forget_ssrc(tp->srtp, sc->ssrcs[i]);
	reorder_free(&sc->s.ro);
	vp8_asm_free(&sc->vasm);
	h264_asm_free(&sc->hasm);
	memset(&sc->s, 0, sizeof(sc->s));
	sc->s.rtx_pt = -1;
	sc->nssrcs = 0;
	memset(sc->ssrcs, 0, sizeof(sc->ssrcs));
	sc->learn = false;
}
