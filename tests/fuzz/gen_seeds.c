/*
 * gen_seeds.c - writes the generated seed corpora of the fuzz targets (`make fuzz-seeds`):
 * small valid inputs built with the project's own builders and encoders, so fuzzing starts
 * from real packets. Usage: gen_seeds DIR (DIR/<target>/seed-*; the SDP seeds are copied from
 * assets/sdp/ by the make rule). RTP/RTCP and VP8 are deterministic; DTLS flights are not.
 * Built by gcc against build/libmcu.a and build/libmix.a; a tool, not a test.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "mix/opus.h"
#include "mix/picture.h"
#include "mix/vp8.h"
#include "net/dtls.h"
#include "rtp/h264_rtp.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"
#include "rtpseq.h"

static const char *root;

static void die(const char *what)
{
	fprintf(stderr, "gen_seeds: %s\n", what);
	exit(1);
}

static void put_file(const char *target, const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/* --- RTP --- */

static void seeds_rtp(void)
{
	uint8_t buf[RTP_MAX_PACKET], pl[160];
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7);
	struct rtp_hdr h = {.marker = true, .pt = 111, .seq = 65535, .ts = 0xfffff000, .ssrc = 42};
	uint8_t lvl = 0x80 | 30;
	int n = rtp_write(buf, sizeof(buf), &h, 1, &lvl, 1, pl, sizeof(pl));
	put_file("rtp", "audio-level", buf, (size_t)n);
	h.pt = 96;
	n = rtp_write(buf, sizeof(buf), &h, 0, NULL, 0, pl, 100);
	put_file("rtp", "plain", buf, (size_t)n);
	uint8_t abs[3] = {1, 2, 3};
	n = rtp_write(buf, sizeof(buf), &h, 3, abs, 3, pl, 20);
	put_file("rtp", "abs-send-time", buf, (size_t)n);
	/* Two CSRCs, a two-byte-header extension block (RFC 8285 4.3) and 4 bytes of padding. */
	static const uint8_t two[] = {
	    0xb2, 0x60, 0x00, 0x01, 0, 0, 0,    2, 0, 0, 0, 3, 0,    0,    0,    4,    0, 0, 0, 5,
	    0x10, 0x00, 0x00, 0x02, 1, 1, 0xaa, 5, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 4};
	put_file("rtp", "csrc-twobyte-pad", two, sizeof(two));
	/* Padding only (a bandwidth probe). */
	static const uint8_t probe[] = {0xa0, 0x60, 0, 9, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 4};
	put_file("rtp", "padding-only", probe, sizeof(probe));
}

/* --- RTCP --- */

static void seeds_rtcp(void)
{
	uint8_t buf[1500];
	struct rtcp_report rep[2] = {{.ssrc = 7,
	                              .fraction_lost = 12,
	                              .cumulative_lost = -3,
	                              .ext_highest_seq = 70000,
	                              .jitter = 40,
	                              .lsr = 1,
	                              .dlsr = 2},
	                             {.ssrc = 8, .cumulative_lost = 100, .ext_highest_seq = 5}};
	int n = rtcp_write_sr(buf, sizeof(buf), 1, rtcp_ntp_from_us(1700000000000000LL), 1234, 10,
	                      1000, rep, 1);
	n += rtcp_write_sdes_cname(buf + n, sizeof(buf) - (size_t)n, 1, "user@example");
	put_file("rtcp", "sr-sdes", buf, (size_t)n);
	n = rtcp_write_rr(buf, sizeof(buf), 1, rep, 2);
	uint32_t ssrcs[2] = {7, 8};
	n += rtcp_write_remb(buf + n, sizeof(buf) - (size_t)n, 1, 1500000, ssrcs, 2);
	put_file("rtcp", "rr-remb", buf, (size_t)n);
	uint16_t seqs[] = {65530, 65531, 65535, 0, 3, 40, 41, 100};
	n = rtcp_write_nack(buf, sizeof(buf), 1, 7, seqs, 8);
	put_file("rtcp", "nack", buf, (size_t)n);
	n = rtcp_write_pli(buf, sizeof(buf), 1, 7);
	n += rtcp_write_fir(buf + n, sizeof(buf) - (size_t)n, 1, 7, 3);
	put_file("rtcp", "pli-fir", buf, (size_t)n);
	/* BYE with a reason, and a TWCC feedback (RTPFB FMT 15) with one run-length chunk. */
	static const uint8_t bye_twcc[] = {
	    0x81, 203, 0, 3, 0, 0, 0, 7, 4, 'g', 'o', 'n', 'e', 0, 0, 0, 0x8f, 205,  0, 4,
	    0,    0,   0, 1, 0, 0, 0, 7, 0, 1,   0,   2,   0,   0, 1, 0, 0x20, 0x02, 4, 8};
	put_file("rtcp", "bye-twcc", bye_twcc, sizeof(bye_twcc));
	/* An XR block and an APP packet, skipped by length. */
	static const uint8_t xr_app[] = {0x80, 207,  0,   3, 0, 0, 0, 1, 4, 0,   0,   2,   0,  0, 0,
	                                 0,    0x80, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e'};
	put_file("rtcp", "xr-app", xr_app, sizeof(xr_app));
}

/* --- VP8 frames from our encoder --- */

#define NFRAMES 8

struct frames {
	int n;
	struct mix_packet *pk[NFRAMES + 2];
};

static void encode_frames(struct frames *fr, int w, int h, int count, int first)
{
	struct mix_vp8_enc_cfg cfg = {.width = w, .height = h, .fps = 30, .bitrate_bps = 60000};
	struct mix_vp8_enc *enc = NULL;
	struct mix_canvas *cv = NULL;
	if (mix_vp8_enc_alloc(&enc, &cfg) || mix_canvas_alloc(&cv, w, h))
		die("vp8 encoder");
	for (int i = 0; i < count; i++) {
		mix_canvas_fill(cv, 0, 0, w, h, 60, 100, 160);
		mix_canvas_fill(cv, (first + i) * 4 % w, h / 4, w / 4, h / 2, 200, 90, 60);
		struct mix_picture pic = mix_canvas_view(cv);
		struct mix_packet *pk = NULL;
		if (mix_vp8_enc_encode(enc, &pic, (int64_t)i * 33333, &pk) || !pk)
			die("vp8 encode");
		fr->pk[fr->n++] = pk;
	}
	mix_canvas_free(&cv);
	mix_vp8_enc_free(&enc);
}

struct pktlist {
	int n;
	uint8_t d[64][300];
	size_t len[64];
	bool marker[64];
	bool new_ts[64];
};

static int collect(void *opaque, const uint8_t *payload, size_t len, bool marker)
{
	struct pktlist *l = opaque;
	if (l->n >= 64 || len > sizeof(l->d[0]))
		return -ENOSPC;
	memcpy(l->d[l->n], payload, len);
	l->len[l->n] = len;
	l->marker[l->n] = marker;
	l->new_ts[l->n] = false;
	l->n++;
	return 0;
}

/* Packetizes frames into l (max 240-byte payloads); frame k starts a new timestamp. */
static void packetize(const struct frames *fr, struct pktlist *l)
{
	l->n = 0;
	for (int i = 0; i < fr->n; i++) {
		int first = l->n;
		if (vp8_packetize(fr->pk[i]->data, fr->pk[i]->size, 240, (uint16_t)(100 + i),
		                  fr->pk[i]->keyframe, collect, l) < 0)
			die("packetize");
		l->new_ts[first] = i > 0;
	}
}

enum order { IN_ORDER, SWAPPED, ONE_LOST, DUPLICATED };

/* Writes the packet list as an rtpseq record sequence, with one impairment. */
static size_t write_seq(const struct pktlist *l, enum order how, uint8_t *out, size_t cap)
{
	size_t off = 0;
	int skip = how == ONE_LOST ? l->n / 2 : -1;
	int swap = how == SWAPPED ? 1 : -1;
	uint16_t prev = 0;
	bool step = false; /* a skipped packet's timestamp step, carried to the next one */
	for (int k = 0; k < l->n; k++) {
		int i = k;
		if (swap >= 0 && k == swap)
			i = swap + 1;
		else if (swap >= 0 && k == swap + 1)
			i = swap;
		step = step || l->new_ts[i];
		if (i == skip)
			continue;
		int8_t delta = (int8_t)(k == 0 ? 1 : (uint16_t)(i - prev));
		prev = (uint16_t)i;
		/* Timestamps step when a packet starts a frame (the swap stays inside frame 0). */
		off = rtpseq_put(out, cap, off, delta, l->marker[i], step, step ? 33 : 1, l->d[i],
		                 l->len[i]);
		step = false;
		if (!off)
			die("rtpseq buffer");
		if (how == DUPLICATED && k == 2)
			off = rtpseq_put(out, cap, off, 0, l->marker[i], false, 1, l->d[i],
			                 l->len[i]);
	}
	return off;
}

static void seeds_vp8(void)
{
	static struct frames fr;
	static struct pktlist l;
	static uint8_t seq[64 * 320];
	encode_frames(&fr, 64, 64, NFRAMES, 0);
	packetize(&fr, &l);
	static const char *names[] = {"in-order", "swapped", "one-lost", "duplicated"};
	for (int how = IN_ORDER; how <= DUPLICATED; how++) {
		size_t n = write_seq(&l, (enum order)how, seq, sizeof(seq));
		put_file("vp8_asm", names[how], seq, n);
		put_file("pipeline", names[how], seq, n);
	}
	/* Descriptors: the first packets of a keyframe and of an inter frame, and short forms. */
	put_file("vp8_desc", "key-start", l.d[0], l.len[0] < 64 ? l.len[0] : 64);
	put_file("vp8_desc", "inter-start", l.d[l.n - 1],
	         l.len[l.n - 1] < 64 ? l.len[l.n - 1] : 64);
	static const uint8_t d1[] = {0x10, 0x9d, 0x01};
	static const uint8_t d3[] = {0x90, 0x80, 0x05, 0x01};
	static const uint8_t d6[] = {0x90, 0xf0, 0x81, 0x23, 0x07, 0xa0, 0x00};
	static const uint8_t odd[] = {0x81, 0x81, 0x94};
	put_file("vp8_desc", "short-1", d1, sizeof(d1));
	put_file("vp8_desc", "short-3", d3, sizeof(d3));
	put_file("vp8_desc", "all-fields", d6, sizeof(d6));
	put_file("vp8_desc", "81-81-94", odd, sizeof(odd));
	/* A resolution change: 64x64 frames, then a 96x80 keyframe and its next frame. */
	struct frames big = {0};
	encode_frames(&big, 96, 80, 2, 3);
	fr.pk[fr.n++] = big.pk[0];
	fr.pk[fr.n++] = big.pk[1];
	packetize(&fr, &l);
	size_t n = write_seq(&l, IN_ORDER, seq, sizeof(seq));
	put_file("pipeline", "resize", seq, n);
	for (int i = 0; i < fr.n; i++)
		mix_packet_unref(&fr.pk[i]);
}

/* --- H.264 (synthetic access units: no H.264 encoder in the build) --- */

/* Appends a start code (4 or 3 bytes) and a NAL of `len` bytes with non-zero body bytes. */
static size_t put_nal(uint8_t *au, size_t off, uint8_t hdr, size_t len, bool four)
{
	static const uint8_t sc[] = {0, 0, 0, 1};
	memcpy(au + off, sc + (four ? 0 : 1), four ? 4 : 3);
	off += four ? 4 : 3;
	au[off] = hdr;
	for (size_t i = 1; i < len; i++)
		au[off + i] = (uint8_t)(i * 29 + hdr) | 1;
	return off + len;
}

/* Writes DIR/h264_asm/seed-NAME: the max_payload selector byte, then the bytes. */
static void put_h264(const char *name, uint8_t sel, const uint8_t *d, size_t len)
{
	static uint8_t buf[64 * 320 + 1];
	buf[0] = sel;
	memcpy(buf + 1, d, len);
	put_file("h264_asm", name, buf, len + 1);
}

static void seeds_h264(void)
{
	static uint8_t key[1024], delta[512], seq[64 * 320];
	static struct pktlist l;
	size_t kn = put_nal(key, 0, 0x67, 10, true); /* SPS, PPS, IDR in FU-A at 200 */
	kn = put_nal(key, kn, 0x68, 4, false);
	kn = put_nal(key, kn, 0x65, 700, true);
	size_t dn = put_nal(delta, 0, 0x41, 300, true);
	l.n = 0;
	if (h264_packetize(key, kn, 200, collect, &l) < 0)
		die("h264 packetize");
	int first = l.n;
	if (h264_packetize(delta, dn, 200, collect, &l) < 0)
		die("h264 packetize");
	l.new_ts[first] = true;
	static const char *names[] = {"fu-a", "fu-a-swapped", "fu-a-one-lost", "fu-a-duplicated"};
	for (int how = IN_ORDER; how <= DUPLICATED; how++) {
		size_t n = write_seq(&l, (enum order)how, seq, sizeof(seq));
		put_h264(names[how], 0x80, seq, n);
	}
	/* A STAP-A (SPS, PPS, a short IDR), then a P frame as a single NAL unit packet. */
	static const uint8_t stap[] = {0x78, 0x00, 0x03, 0x67, 0x42, 0xe0, 0x00, 0x02,
	                               0x68, 0xce, 0x00, 0x04, 0x65, 0x88, 0x84, 0x21};
	static const uint8_t p1[] = {0x41, 0x9a, 0x02, 0x03};
	size_t n = rtpseq_put(seq, sizeof(seq), 0, 1, true, false, 1, stap, sizeof(stap));
	n = rtpseq_put(seq, sizeof(seq), n, 1, true, true, 33, p1, sizeof(p1));
	put_h264("stap-a", 0x80, seq, n);
	/* Annex B access units for the packetizer round trip (max_payload 19 and 3). */
	put_h264("annexb-key", 0x10, key, kn);
	put_h264("annexb-tiny", 0x00, key, 40);
	static const uint8_t bad[] = {0, 0, 1, 0x41, 0x9a, 0, 0, 0, 1, 0xc1, 0x9a, 0, 0};
	put_h264("annexb-forbidden", 0x05, bad, sizeof(bad));
}

/* --- Opus --- */

static void seeds_opus(void)
{
	struct mix_opus_enc_cfg cfg;
	mix_opus_enc_cfg_default(&cfg);
	cfg.inband_fec = true;
	cfg.packet_loss_perc = 10;
	struct mix_opus_enc *enc = NULL;
	if (mix_opus_enc_alloc(&enc, &cfg))
		die("opus encoder");
	int16_t pcm[960];
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 960; i++)
			pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * (k * 960 + i) / 48000.0));
		struct mix_packet *pk = NULL;
		if (mix_opus_enc_encode(enc, pcm, k * 20000, &pk) || !pk)
			die("opus encode");
		char name[16];
		snprintf(name, sizeof(name), "tone-%d", k);
		put_file("opus", name, pk->data, pk->size);
		mix_packet_unref(&pk);
	}
	mix_opus_enc_free(&enc);
	/* RFC 6716 3.2: code 1 (two equal frames), code 2 (two sized frames), code 3 (six 20 ms
	 * CELT frames = 120 ms, CBR), code 3 VBR with padding, and a 2.5 ms CELT frame. */
	static const uint8_t c1[] = {0xf9, 1, 2, 3, 4};
	static const uint8_t c2[] = {0xfa, 2, 9, 9, 7, 7, 7};
	static const uint8_t c3[] = {0xfb, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	static const uint8_t c3v[] = {0xfb, 0xc2, 2, 1, 5, 5, 6, 0, 0};
	static const uint8_t short_celt[] = {0x80, 0xff, 0xfe};
	put_file("opus", "code1", c1, sizeof(c1));
	put_file("opus", "code2", c2, sizeof(c2));
	put_file("opus", "code3-120ms", c3, sizeof(c3));
	put_file("opus", "code3-vbr-pad", c3v, sizeof(c3v));
	put_file("opus", "celt-2.5ms", short_celt, sizeof(short_celt));
}

/* --- Signaling JSON --- */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void put_json(const char *name, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		die("json");
	put_file("sig_msg", name, s, strlen(s));
	free(s);
	json_decref(j);
}

static void seeds_sig(const char *sdp_path)
{
	put_json("join", json_pack("{s:s, s:s, s:s}", "type", "join", "room", "standup", "name",
	                           "Ada Lovelace"));
	const char *sdp = read_text(sdp_path);
	if (sdp)
		put_json("offer", json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp));
	put_json("candidate",
	         json_pack("{s:s, s:s, s:s, s:i}", "type", "candidate", "candidate",
	                   "candidate:842163049 1 udp 1677729535 192.0.2.7 52817 typ srflx raddr "
	                   "0.0.0.0 rport 0 generation 0",
	                   "sdpMid", "0", "sdpMLineIndex", 0));
	put_json("end-of-candidates", json_pack("{s:s, s:n, s:n, s:n}", "type", "candidate",
	                                        "candidate", "sdpMid", "sdpMLineIndex"));
	put_json("leave", json_pack("{s:s}", "type", "leave"));
	put_json("record", json_pack("{s:s, s:s}", "type", "record", "action", "start"));
	put_json("ping", json_pack("{s:s, s:[i, {s:b}]}", "type", "ping", "extra", 1, "x", 1));
	static const char unicode[] = "{\"type\":\"join\",\"room\":\"r-1.a_b\","
	                              "\"name\":\"\\u00e9l\\u00e8ve \\ud83d\\ude00\"}";
	put_file("sig_msg", "join-unicode", unicode, strlen(unicode));
}

/* --- DTLS: a client's datagrams in a real handshake --- */

struct dq {
	int n;
	uint8_t d[16][1500];
	size_t len[16];
};

static void dq_send(void *opaque, const uint8_t *data, size_t len)
{
	struct dq *q = opaque;
	if (q->n < 16 && len <= sizeof(q->d[0])) {
		memcpy(q->d[q->n], data, len);
		q->len[q->n++] = len;
	}
}

/* Appends datagrams [from, q->n) as 2-byte-length records. */
static size_t put_dgrams(uint8_t *out, size_t off, const struct dq *q, int from)
{
	for (int i = from; i < q->n; i++) {
		out[off++] = (uint8_t)(q->len[i] >> 8);
		out[off++] = (uint8_t)q->len[i];
		memcpy(out + off, q->d[i], q->len[i]);
		off += q->len[i];
	}
	return off;
}

static void seeds_dtls(void)
{
	static struct dq to_server, to_client;
	static uint8_t out[16 * 1502];
	char err[256];
	struct dtls_cert *cc = NULL, *sc = NULL;
	struct dtls_conn *cl = NULL, *sv = NULL;
	if (dtls_cert_new(&cc, NULL, NULL, err, sizeof(err)) ||
	    dtls_cert_new(&sc, NULL, NULL, err, sizeof(err)))
		die(err);
	if (dtls_conn_new(&cl, cc, DTLS_CLIENT, "sha-256", dtls_cert_fingerprint(sc), dq_send,
	                  &to_server) ||
	    dtls_conn_new(&sv, sc, DTLS_SERVER, "sha-256", dtls_cert_fingerprint(cc), dq_send,
	                  &to_client))
		die("dtls_conn_new");
	dtls_conn_start(cl);
	put_file("dtls", "client-hello", out, put_dgrams(out, 0, &to_server, 0));
	int sent = 0, got = 0;
	for (int round = 0; round < 10; round++) {
		for (; sent < to_server.n; sent++)
			dtls_conn_recv(sv, to_server.d[sent], to_server.len[sent]);
		for (; got < to_client.n; got++)
			dtls_conn_recv(cl, to_client.d[got], to_client.len[got]);
	}
	put_file("dtls", "client-flights", out, put_dgrams(out, 0, &to_server, 0));
	dtls_conn_free(&cl);
	dtls_conn_free(&sv);
	dtls_cert_free(&cc);
	dtls_cert_free(&sc);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: gen_seeds DIR");
	root = argv[1];
	mkdir(root, 0755);
	seeds_rtp();
	seeds_rtcp();
	seeds_vp8();
	seeds_h264();
	seeds_opus();
	seeds_sig("assets/sdp/chromium-sendrecv.sdp");
	seeds_dtls();
	return 0;
}
