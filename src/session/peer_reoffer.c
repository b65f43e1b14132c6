/*
 * peer_reoffer.c - a later offer on a participant's connection (JSEP renegotiation, RFC 9429
 * section 5.2.2). Browsers send one when a track is added or removed, e.g. a screen shared
 * mid-call with addTransceiver(track, {direction: "sendonly"}). We take what keeps the session:
 * the same ICE credentials (no ICE restart) and DTLS fingerprint, the audio and camera m-lines
 * negotiated as before, m-lines only added (JSEP never removes one: it rejects or recycles it).
 * Within that, the screen may come, change (another mid, other SSRCs) or go. The answer keeps
 * our ICE credentials, fingerprint, a=setup:passive and SSRCs. Anything else is refused with
 * offer-failed and the session goes on as negotiated before.
 * Runs on the peer's room loop only.
 */
#include <string.h>

#include "log.h"
#include "session/peer.h"

/* Whether one m-line was negotiated the same way twice (what our packet paths depend on). */
static bool same_media(const struct sdp_neg_media *a, const struct sdp_neg_media *b)
{
	return a->kind == b->kind && !strcmp(a->mid, b->mid) && a->dir == b->dir &&
	       a->pt == b->pt && a->vcodec == b->vcodec && a->rtx_pt == b->rtx_pt &&
	       a->ext_audio_level == b->ext_audio_level &&
	       a->ext_abs_send_time == b->ext_abs_send_time && a->ext_twcc == b->ext_twcc &&
	       a->twcc == b->twcc && a->nack == b->nack && a->pli == b->pli && a->fir == b->fir &&
	       a->remb == b->remb && a->dtx == b->dtx && !strcmp(a->fmtp, b->fmtp) &&
	       a->ext_mid == b->ext_mid && a->ext_rid == b->ext_rid && a->ext_rrid == b->ext_rrid &&
	       a->nrids == b->nrids && !memcmp(a->rids, b->rids, sizeof(a->rids)) &&
	       !strcmp(a->ice_ufrag, b->ice_ufrag) && !strcmp(a->ice_pwd, b->ice_pwd) &&
	       !strcmp(a->fp, b->fp);
}

/* Whether the screen stays as it is: the same m-line, codec and SSRCs. */
static bool same_screen(const struct sdp_negotiated *old, const struct sdp_negotiated *neg)
{
	if (old->screen_index != neg->screen_index)
		return false;
	if (neg->screen_index < 0)
		return true;
	const struct sdp_neg_media *a = &old->media[old->screen_index];
	const struct sdp_neg_media *b = &neg->media[neg->screen_index];
	return !strcmp(a->mid, b->mid) && a->pt == b->pt && a->nssrcs == b->nssrcs &&
	       !memcmp(a->ssrcs, b->ssrcs, sizeof(a->ssrcs[0]) * (size_t)a->nssrcs);
}

/* Why a new negotiation cannot replace the old one, or NULL when it can. */
static const char *why_not(const struct sdp_negotiated *old, const struct sdp_negotiated *neg)
{
	if (strcmp(old->ice_ufrag, neg->ice_ufrag) || strcmp(old->ice_pwd, neg->ice_pwd))
		return "an ICE restart (new ice-ufrag/ice-pwd) is not supported: leave and join "
		       "again";
	if (old->bundle != neg->bundle)
		return "the offer turns BUNDLE on or off: leave and join again";
	if (!old->bundle && !same_screen(old, neg) && neg->screen_index >= 0)
		return "without BUNDLE the screen needs a transport of its own, set up by the "
		       "first "
		       "offer only: share it with BUNDLE, or in the first offer";
	if (strcmp(old->fp_alg, neg->fp_alg) || strcmp(old->fp, neg->fp))
		return "the offer's DTLS fingerprint changed: leave and join again";
	if (neg->nmedia < old->nmedia)
		return "the offer has fewer m-lines than before (JSEP keeps every m-line)";
	if (old->audio_index != neg->audio_index || old->video_index != neg->video_index)
		return "the offer moves, adds or drops the audio or camera m-line: a new offer may "
		       "only "
		       "add, change or remove the screen";
	for (int i = 0; i < 2; i++) {
		int k = i ? old->video_index : old->audio_index;
		if (k >= 0 && !same_media(&old->media[k], &neg->media[k]))
			return "the offer changes the audio or camera m-line (direction, codec, "
			       "extensions, feedback or simulcast layers): a new offer may only "
			       "add, "
			       "change or remove the screen";
	}
	return NULL;
}

void peer_reoffer(struct peer *p, const struct sdp_session *offer, const struct sdp_negotiated *neg)
{
	if (p->ntp == 0) {
		peer_fail(p, "offer-failed", "the first offer failed: leave and join again");
		return;
	}
	const char *why = why_not(&p->neg, neg);
	if (why) {
		peer_fail(p, "offer-failed", why);
		return;
	}
	bool keep = same_screen(&p->neg, neg) && (p->screen.on || neg->screen_index < 0);
	if (!keep)
		peer_screen_reset(p);
	p->neg = *neg;
	int rc = peer_send_answer(p, offer);
	if (rc == 0 && !keep)
		rc = peer_screen_setup(p);
	if (rc < 0) {
		peer_fail(p, "offer-failed", "could not take the new offer");
		return;
	}
	const struct sdp_neg_media *sc =
	    neg->screen_index >= 0 ? &neg->media[neg->screen_index] : NULL;
	LOG_I("peer %u (%s): renegotiated, %d m-lines, screen %s%s", p->id, p->name, neg->nmedia,
	      sc ? "mid " : "none", sc ? sc->mid : "");
}
