/*
 * peer_layers.c - a simulcast sender's camera (RFC 8853): the layers it sends (one per rid of
 * its offer), which one we decode, and when we switch.
 *
 * Binding: a packet from an unknown SSRC names its layer in the rtp-stream-id extension (its
 * RTX, in repaired-rtp-stream-id: RFC 8852); the binding is kept. Each layer's keyframes
 * announce its size in their first packet (vp8_rtp_keyframe_size), so we know every layer's
 * size without decoding any.
 * Choice (mix_layer_choose): the smallest layer whose size fills, within 90%, the largest tile
 * the engine gives this participant (mix_engine_source_tile); the largest if none does; the
 * smallest when it is shown nowhere. Layers silent for LAYER_STALE_US are not chosen (the sender
 * dropped them). Switching: in_video stays on the current layer until the chosen one's keyframe
 * begins; then in_video restarts on it (peer_in_restart_video) from that packet. Until then the
 * source keeps showing the current layer's picture, so nothing flickers; the chosen layer is asked
 * for a keyframe (PLI) every LAYER_PLI_US meanwhile. The other layers are received and dropped
 * undecoded (but noted for transport-cc: they are on the link).
 * Asking for no more than we use: a client that joined with layer_control is told which layers
 * to keep sending ({"type":"layers"}): the decoded one and the wanted one, and any whose size is
 * still unknown; it pauses the others (setParameters, active false). A layer paused so stays a
 * candidate: re-activated, it starts with a keyframe. Other clients get the fallback, a REMB cap
 * (slower to undo: a browser brings a layer back once its estimate allows): libwebrtc's
 * allocator gives each layer, smallest first, its target bitrate, and enables the next only if
 * its minimum still fits; so the cap is the target bitrates of the layers kept plus room for the
 * audio (LAYER_REMB_AUDIO, at most half the minimum of the next layer up), from libwebrtc's
 * default table by layer size (simulcast.cc, the kSimulcastFormats of Chromium 120). Measured
 * rates cannot serve: a still picture's small layer sends a tenth of its target, and a cap at
 * its rate starves the layers we keep. No cap while a switch is pending. A layer capped away
 * stays a candidate, as a paused one does.
 * Runs on the peer's room loop only; the peer owns this state.
 */
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "mix/layers.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/env.h"
#include "session/room.h"
#include "signal/msg.h"

#define LAYER_STALE_US  1000000 /* a layer without packets for this long is gone */
#define LAYER_PLI_US    500000  /* keyframe requests to the chosen layer, while waiting */
#define LAYER_CHOICE_US 200000  /* how often the choice is made again */
#define LAYER_RATE_US   1000000 /* each layer's bit rate is measured over this */

/* libwebrtc's default simulcast bitrates by size, largest first (kbit/s; the smallest entry
 * serves anything smaller) */
static const struct {
	int pixels, target_kbps, min_kbps;
} sim_rates[] = {
    {1920 * 1080, 4000, 800}, {1280 * 720, 2500, 600}, {960 * 540, 1200, 350},
    {640 * 360, 500, 150},    {480 * 270, 350, 150},   {320 * 180, 150, 30},
};
#define SIM_RATES        ((int)(sizeof(sim_rates) / sizeof(sim_rates[0])))
#define LAYER_REMB_AUDIO 64000 /* the REMB caps audio and video together */

void peer_layers_setup(struct peer *p)
{
	struct layers *ls = &p->layers;
	memset(ls, 0, sizeof(*ls));
	ls->cur = ls->target = -1;
	if (p->neg.video_index < 0)
		return;
	const struct sdp_neg_media *m = &p->neg.media[p->neg.video_index];
	ls->n = m->nrids;
	ls->active = (1u << ls->n) - 1; /* the client starts with every layer */
	for (int i = 0; i < ls->n; i++)
		memcpy(ls->l[i].rid, m->rids[i], sizeof(ls->l[i].rid));
}

/* The layer whose rid the extension `id` of h names, or -1. */
static int layer_by_ext(const struct layers *ls, const struct rtp_hdr *h, int id)
{
	const uint8_t *d;
	size_t n;
	if (!id || rtp_ext_find(h, id, &d, &n) < 0)
		return -1;
	for (int i = 0; i < ls->n; i++)
		if (strlen(ls->l[i].rid) == n && !memcmp(ls->l[i].rid, d, n))
			return i;
	return -1;
}

/* The layer of a camera packet, binding its SSRC on first sight; *rtx: a repair. -1 if none. */
static int layer_of(struct peer *p, const struct rtp_hdr *h, bool *rtx)
{
	struct layers *ls = &p->layers;
	for (int i = 0; i < ls->n; i++) {
		struct layer_in *l = &ls->l[i];
		if ((l->bound && l->ssrc == h->ssrc) || (l->rtx_bound && l->rtx_ssrc == h->ssrc)) {
			*rtx = l->rtx_bound && l->rtx_ssrc == h->ssrc;
			return i;
		}
	}
	const struct sdp_neg_media *m = &p->neg.media[p->neg.video_index];
	*rtx = p->in_video.rtx_pt >= 0 && h->pt == p->in_video.rtx_pt;
	int k = layer_by_ext(ls, h, *rtx ? m->ext_rrid : m->ext_rid);
	if (k < 0)
		return -1;
	struct layer_in *l = &ls->l[k];
	if (*rtx) {
		l->rtx_ssrc = h->ssrc;
		l->rtx_bound = true;
	} else {
		if (l->bound)
			LOG_I("peer %u (%s): layer %s moved to SSRC %08x", p->id, p->name, l->rid,
			      h->ssrc);
		l->ssrc = h->ssrc;
		l->bound = true;
	}
	return k;
}

/* in_video moves to layer k, whose keyframe begins with this packet. */
static bool switch_to(struct peer *p, int k)
{
	struct layers *ls = &p->layers;
	if (peer_in_restart_video(p) < 0)
		return false;
	LOG_I("peer %u (%s): decoding layer %s (%dx%d)%s%s", p->id, p->name, ls->l[k].rid,
	      ls->l[k].width, ls->l[k].height, ls->cur >= 0 ? " instead of " : "",
	      ls->cur >= 0 ? ls->l[ls->cur].rid : "");
	ls->switches += ls->cur >= 0;
	ls->cur = k;
	if (ls->target < 0)
		ls->target = k;
	return true;
}

bool peer_layers_admit(struct peer *p, const struct rtp_hdr *h)
{
	struct layers *ls = &p->layers;
	bool rtx;
	int k = layer_of(p, h, &rtx);
	if (k < 0) {
		ls->unbound++;
		peer_cc_on_rtp(p, h, true, g_get_monotonic_time());
		return false;
	}
	struct layer_in *l = &ls->l[k];
	l->packets++;
	l->bytes += h->payload_len;
	l->media_bytes += rtx ? 0 : h->payload_len;
	l->last_at = room_now(p->room);
	int w, hh;
	bool key = !rtx && vp8_rtp_keyframe_size(h->payload, h->payload_len, &w, &hh);
	if (key) {
		l->width = w;
		l->height = hh;
		l->keyframes++;
	}
	/* the first layer to start a keyframe, then the chosen one at its keyframe */
	if (key && k != ls->cur && (ls->cur < 0 || k == ls->target) && switch_to(p, k))
		return true;
	if (k == ls->cur)
		return true;
	ls->dropped++;
	peer_cc_on_rtp(p, h, true, g_get_monotonic_time());
	return false;
}

/* Whether we asked the client to pause layer i (layer_control, or the REMB cap). */
static bool paused_by_us(const struct layers *ls, int i)
{
	return !(ls->active & 1u << i);
}

/* Whether layer i is a candidate: of a known size, sending or paused by us. */
static bool live(const struct layers *ls, int i, int64_t now)
{
	const struct layer_in *l = &ls->l[i];
	return l->bound && l->width > 0 &&
	       (now - l->last_at < LAYER_STALE_US || paused_by_us(ls, i));
}

/* The layer to decode for a tile of tw x th (0 x 0: shown nowhere), or -1 if none is live. */
static int choose(const struct layers *ls, int tw, int th, int64_t now)
{
	struct mix_layer l[SDP_MAX_RIDS];
	for (int i = 0; i < ls->n; i++)
		l[i] = (struct mix_layer){ls->l[i].width, ls->l[i].height, live(ls, i, now)};
	return mix_layer_choose(l, ls->n, tw, th);
}

static int area(const struct layer_in *l)
{
	return l->width * l->height;
}

/*
 * Without layer_control the cap can only drop layers from the top: every layer up to the larger
 * of the one decoded and the one wanted is kept (and all while a size is unknown).
 */
static unsigned remb_want(const struct layers *ls)
{
	unsigned all = (1u << ls->n) - 1, want = 0;
	int top = ls->cur < 0                                        ? -1
	          : ls->target < 0                                   ? ls->cur
	          : area(&ls->l[ls->target]) > area(&ls->l[ls->cur]) ? ls->target
	                                                             : ls->cur;
	if (top < 0)
		return all;
	for (int i = 0; i < ls->n; i++) {
		if (!ls->l[i].width)
			return all;
		if (area(&ls->l[i]) <= area(&ls->l[top]))
			want |= 1u << i;
	}
	return want;
}

/* The default rates of a layer of that many pixels (the largest entry not above it). */
static int sim_rate(int pixels, bool min)
{
	int k = 0;
	while (k < SIM_RATES - 1 && sim_rates[k].pixels > pixels)
		k++;
	return 1000 * (min ? sim_rates[k].min_kbps : sim_rates[k].target_kbps);
}

/* The cap that keeps the layers want and drops the others (0: none; not while switching). */
static uint64_t remb_cap(const struct layers *ls, unsigned want)
{
	if (want == (1u << ls->n) - 1 || ls->cur != ls->target)
		return 0;
	uint64_t sum = 0;
	int next = 0; /* the smallest dropped layer's pixels */
	for (int i = 0; i < ls->n; i++) {
		int px = area(&ls->l[i]);
		if (want & 1u << i)
			sum += (uint64_t)sim_rate(px, false);
		else if (!next || px < next)
			next = px;
	}
	if (!next)
		return 0;
	uint64_t room = (uint64_t)sim_rate(next, true) / 2;
	return sum + (room < LAYER_REMB_AUDIO ? room : LAYER_REMB_AUDIO);
}

/* The fallback for a client without layer_control: the REMB cap (sent with our reports). */
static void cap_layers(struct peer *p)
{
	struct layers *ls = &p->layers;
	unsigned want = remb_want(ls);
	uint64_t cap = remb_cap(ls, want);
	if (cap != ls->remb && (cap == 0 || ls->remb == 0))
		LOG_I("peer %u (%s): simulcast REMB cap %s%llu kbit/s", p->id, p->name,
		      cap ? "" : "lifted, was ", (unsigned long long)(cap ? cap : ls->remb) / 1000);
	ls->remb = cap;
	ls->active = want;
}

uint64_t peer_layers_remb(const struct peer *p, uint64_t uplink)
{
	uint64_t cap = p->layers.n && !p->layer_control ? p->layers.remb : 0;
	return cap && cap < uplink ? cap : uplink;
}

/* Each layer's bit rate over the last LAYER_RATE_US. */
static void measure(struct layers *ls, int64_t now)
{
	int64_t dt = now - ls->rate_at;
	if (dt < LAYER_RATE_US)
		return;
	for (int i = 0; i < ls->n; i++) {
		struct layer_in *l = &ls->l[i];
		uint64_t b = l->media_bytes - l->rate_bytes;
		l->bps = ls->rate_at ? (int)(b * 8000000 / (uint64_t)dt) : 0;
		l->rate_bytes = l->media_bytes;
	}
	ls->rate_at = now;
}

/*
 * A client with layer_control is asked to send only what we use: the layer decoded and the one
 * wanted (until the switch), and any layer whose size we do not know yet.
 */
static void ask_layers(struct peer *p)
{
	struct layers *ls = &p->layers;
	unsigned want = 0;
	if (!p->layer_control) {
		cap_layers(p);
		return;
	}
	for (int i = 0; i < ls->n; i++)
		if (i == ls->cur || i == ls->target || ls->l[i].width == 0)
			want |= 1u << i;
	if (ls->cur < 0 || want == ls->active)
		return;
	const char *rids[SDP_MAX_RIDS];
	int n = 0;
	for (int i = 0; i < ls->n; i++)
		if (want & 1u << i)
			rids[n++] = ls->l[i].rid;
	ls->active = want;
	env_send(p->env, p->conn, sig_layers(rids, n));
}

void peer_layers_poll(struct peer *p, int64_t now)
{
	struct layers *ls = &p->layers;
	if (!ls->n || !p->room)
		return;
	if (now >= ls->next_choice) {
		ls->next_choice = now + LAYER_CHOICE_US;
		int tw, th;
		if (mix_engine_source_tile(p->room->eng, p->id, &tw, &th) == 0) {
			int k = choose(ls, tw, th, now);
			if (k >= 0)
				ls->target = k;
		}
	}
	measure(ls, now);
	ask_layers(p);
	const struct layer_in *t = ls->target >= 0 ? &ls->l[ls->target] : NULL;
	if (t && ls->target != ls->cur && t->bound && now - ls->last_pli >= LAYER_PLI_US) {
		ls->last_pli = now;
		peer_rtcp_send_pli(p, t->ssrc);
	}
}

struct json_t *peer_layers_json(const struct peer *p)
{
	const struct layers *ls = &p->layers;
	if (!ls->n)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < ls->n; i++) {
		const struct layer_in *l = &ls->l[i];
		char ssrc[16];
		snprintf(ssrc, sizeof(ssrc), "%u", l->ssrc);
		json_array_append_new(
		    a, json_pack("{s:s,s:o,s:i,s:i,s:I,s:I,s:I,s:i,s:b}", "rid", l->rid, "ssrc",
		                 l->bound ? json_string(ssrc) : json_null(), "width", l->width,
		                 "height", l->height, "packets", (json_int_t)l->packets, "bytes",
		                 (json_int_t)l->bytes, "keyframes", (json_int_t)l->keyframes,
		                 "bitrate", l->bps, "paused", paused_by_us(ls, i)));
	}
	uint64_t uplink = (uint64_t)p->env->cfg->uplink_bitrate;
	return json_pack("{s:o,s:o,s:I,s:I,s:I,s:b,s:I,s:o}", "decoding",
	                 ls->cur >= 0 ? json_string(ls->l[ls->cur].rid) : json_null(), "wanted",
	                 ls->target >= 0 ? json_string(ls->l[ls->target].rid) : json_null(),
	                 "switches", (json_int_t)ls->switches, "dropped", (json_int_t)ls->dropped,
	                 "unbound", (json_int_t)ls->unbound, "layer_control", p->layer_control,
	                 "remb", (json_int_t)peer_layers_remb(p, uplink), "layers", a);
}
