/*
 * loop.h - an event loop on a thread of its own: a GLib main context (libnice, timers, our
 * own sources), a FIFO of functions posted from other threads, and its measured CPU load.
 *
 * The server runs one loop per core; a room and all its peers live on one loop, and every
 * call into them (ICE, DTLS, SRTP, RTP/RTCP, the engine tick, timers) happens on its thread.
 * Threads: loop_post, loop_quit, loop_load_permille and loop_index are safe from any thread;
 * loop_timer_add / loop_source_remove / loop_ctx are for code running on the loop (or before
 * loop_start). The post queue is a pthread mutex + eventfd (visible to ThreadSanitizer, unlike
 * GLib's own locks), so whatever a posted function receives was published before it runs.
 * Ownership: the creator owns the loop; loop_free joins the thread after it has quit.
 */
#ifndef MCU_LOOP_H
#define MCU_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

struct loop;

typedef void (*loop_fn)(void *arg);

/* Creates a loop (not yet running). index names it in logs ("loop 0"). 0 or -errno. */
int loop_new(struct loop **out, int index);
/* Starts its thread. 0 or -errno. */
int loop_start(struct loop *l);
/*
 * Any thread: runs fn(arg) on the loop, after everything posted before it (FIFO). 0, -ENOMEM,
 * or -ESHUTDOWN once the loop has quit (fn is then not called: the caller still owns arg).
 */
int loop_post(struct loop *l, loop_fn fn, void *arg);
/*
 * Any thread: posts fn(arg) (may be NULL) as the loop's last work, then ends its run. After
 * that the loop drains what GLib still has ready (libnice's asynchronous closes) and its
 * thread exits. Posts after this fail with -ESHUTDOWN.
 */
void loop_quit(struct loop *l, loop_fn fn, void *arg);
/* Waits for the thread (after loop_quit) and frees. Sets *l to NULL. */
void loop_free(struct loop **l);

/* The loop's GLib context (for libnice agents and GLib sources). */
GMainContext *loop_ctx(const struct loop *l);
int loop_index(const struct loop *l);
/* Whether the calling thread is this loop's thread. */
bool loop_is_current(const struct loop *l);

/* On the loop: a repeating timer (fn returns G_SOURCE_CONTINUE/REMOVE). Its source id. */
unsigned loop_timer_add(struct loop *l, unsigned ms, int priority, GSourceFunc fn, void *data);
/*
 * On the loop: a timer that fires at a time it is given (microsecond monotonic clock; the
 * context's poll wakes within a millisecond of it), first first_ms from now. fn must call
 * loop_deadline_set each time it returns G_SOURCE_CONTINUE, or it fires again at once.
 */
unsigned loop_deadline_add(struct loop *l, unsigned first_ms, int priority, GSourceFunc fn,
                           void *data);
/* On the loop: when the deadline timer id fires next (g_get_monotonic_time's clock). */
void loop_deadline_set(struct loop *l, unsigned id, int64_t at_us);
/* On the loop: removes a source by id if it still exists; sets *id to 0. */
void loop_source_remove(struct loop *l, unsigned *id);

/*
 * Any thread: the CPU the loop's thread used over its last full second, in thousandths of a
 * core (0..1000+), and the CPU time it has used in all (seconds).
 */
int loop_load_permille(const struct loop *l);
/* Any thread: milliseconds since the loop last ran its 1 s load timer (a stalled loop grows). */
int64_t loop_beat_age_ms(const struct loop *l);
double loop_cpu_seconds(const struct loop *l);
/* Any thread: functions posted and run so far, and the most ever waiting at once. */
void loop_post_stats(const struct loop *l, uint64_t *posted, int *max_waiting);

#endif
