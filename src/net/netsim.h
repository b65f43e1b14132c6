/*
 * netsim.h - packet impairment for tests, in the spirit of libwebrtc's fake network pipe: a
 * pipe drops, delays, jitters and reorders the datagrams pushed into it and hands the survivors
 * to a delivery callback later. The kernel of the test machines has no netem, so the server
 * builds this into its transport (`mcu --netsim loss=5,delay=30,jitter=10,reorder=2`): each
 * peer gets one pipe for what it receives and one for what it sends (session/peer.c).
 *
 * Model, per packet, in this order:
 *   - loss: dropped with probability loss %;
 *   - rate: a bottleneck link of rate kbit/s (0: none): a packet leaves it after the packets
 *     before it, at len * 8 / rate after the link is free; the delay below starts from there;
 *   - delay: held delay +- jitter ms (uniform, never below 0);
 *   - in order: a packet is never delivered before one pushed earlier, so jitter alone does not
 *     reorder (libwebrtc's default, allow_reordering = false);
 *   - reorder: reorder % of packets are held reorder_ms more and leave the in-order chain, so
 *     packets pushed after them overtake them;
 *   - queue: at most `queue` packets are held (waiting for the link, then in delay); a packet
 *     pushed into a full pipe is dropped and counted (tail drop): with rate and no delay, the
 *     bottleneck's buffer.
 * Random draws come from a PRNG of the pipe's own (splitmix64, seeded): the same seed and
 * the same pushes give the same fate for every packet. No globals.
 *
 * Threads: a pipe belongs to the thread that runs the GMainContext given to netsim_new; every
 * call and every delivery happen there. With ctx NULL the pipe has no timer and the caller
 * drives time with netsim_push_at / netsim_poll (tests).
 * Ownership: the pipe owns copies of the packets it holds; netsim_free frees those not yet
 * delivered. The delivery callback gets a packet it may modify in place but not keep.
 */
#ifndef MCU_NETSIM_H
#define MCU_NETSIM_H

#include <stddef.h>
#include <stdint.h>

#define NETSIM_MAX_MS        10000 /* delay, jitter and reorder_ms */
#define NETSIM_MAX_QUEUE     65536
#define NETSIM_DEFAULT_QUEUE 1024
#define NETSIM_MAX_PACKET    65535
#define NETSIM_MAX_RATE      10000000 /* kbit/s */

/*
 * A parsed spec. Keys (comma-separated key=value, spaces allowed around items):
 * loss (percent, 0..100, decimals allowed), delay, jitter (ms, 0..10000, optional "ms"),
 * reorder (percent, 0..100), reorder_ms (extra hold of a reordered packet, default
 * 2 * jitter + 20), queue (packets, 1..65536, default 1024), seed (0..2^64-1, default 1),
 * rate (kbit/s, 0..10000000, optional "kbit"; 0 = no bottleneck, the default).
 * Percent values may end in "%".
 */
struct netsim_cfg {
	double loss;    /* percent of packets dropped */
	int delay_ms;   /* base one-way delay */
	int jitter_ms;  /* delay varies uniformly in [delay - jitter, delay + jitter] */
	double reorder; /* percent of packets held back reorder_ms more */
	int reorder_ms; /* -1 = default, 2 * jitter_ms + 20 */
	int queue;      /* packets held at most */
	int rate_kbps;  /* bottleneck rate, 0 = none */
	uint64_t seed;  /* PRNG seed */
};

/*
 * in: every push; dropped: lost by the loss draw; overflow: dropped because the queue was
 * full; reordered: given the extra reorder hold; delivered: handed to the callback; queued:
 * held now. in = dropped + overflow + delivered + queued.
 */
struct netsim_stats {
	uint64_t in, dropped, overflow, reordered, delivered;
	uint64_t queued;
};

/* Called with each packet when it is due. */
typedef void (*netsim_deliver_fn)(void *opaque, uint8_t *data, size_t len);

struct netsim;
typedef struct _GMainContext GMainContext;

/* Defaults: no impairment, reorder_ms -1, queue NETSIM_DEFAULT_QUEUE, seed 1. */
void netsim_cfg_default(struct netsim_cfg *cfg);

/*
 * Parses a spec ("loss=5,delay=30,jitter=10,reorder=2") over the defaults into *out.
 * 0, or -EINVAL with a message in err (unknown key, bad number, out of range, duplicate key).
 */
int netsim_parse(const char *spec, struct netsim_cfg *out, char *err, size_t errlen);

/* Writes a one-line summary of cfg ("loss 5% delay 30+-10 ms ..."). */
void netsim_describe(const struct netsim_cfg *cfg, char *buf, size_t n);

/*
 * A pipe delivering to deliver(opaque, ...) from a timer on ctx (NULL: no timer, see above).
 * 0, -EINVAL (bad cfg or deliver NULL) or -ENOMEM.
 */
int netsim_new(struct netsim **out, GMainContext *ctx, const struct netsim_cfg *cfg,
               netsim_deliver_fn deliver, void *opaque);
/* Frees the pipe and the packets it still holds (they are not delivered). NULL-safe. */
void netsim_free(struct netsim **ns);

/*
 * Pushes a copy of a packet at the current monotonic time (g_get_monotonic_time).
 * 1 queued, 0 dropped by the loss draw, -ENOBUFS dropped because the queue is full,
 * -EINVAL (len 0 or over NETSIM_MAX_PACKET), -ENOMEM.
 */
int netsim_push(struct netsim *ns, const uint8_t *data, size_t len);
/* The same at a given time in microseconds (tests; times must not go backwards). */
int netsim_push_at(struct netsim *ns, const uint8_t *data, size_t len, int64_t now_us);

/* Delivers every packet due at now_us, earliest first; returns how many. */
int netsim_poll(struct netsim *ns, int64_t now_us);
/* When the next packet is due (microseconds), or -1 if none is held. */
int64_t netsim_next_due(const struct netsim *ns);

void netsim_get_stats(const struct netsim *ns, struct netsim_stats *st);

#endif
