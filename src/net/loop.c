/*
 * loop.c - an event loop on a thread of its own (see loop.h).
 *
 * Posts go into a FIFO under a pthread mutex; the first post into an empty queue writes the
 * loop's eventfd, whose GLib source (G_PRIORITY_HIGH: commands and removals must not starve
 * behind a busy mixing timer) takes the whole queue and runs it in order. A 1 s timer reads
 * the thread's CPU clock and publishes the load as an atomic. After loop_quit the thread leaves
 * g_main_loop_run, runs GLib's ready sources until none is left, and exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>

#include "log.h"
#include "net/loop.h"

#define LOAD_PERIOD_MS 1000

struct post {
	loop_fn fn;
	void *arg;
	struct post *next;
};

struct loop {
	int index;
	GMainContext *ctx;
	GMainLoop *ml;
	pthread_t thread;
	bool started;
	int efd;
	/* the post queue (lock) */
	pthread_mutex_t lock;
	struct post *head, *tail;
	int waiting, max_waiting;
	bool quitting;
	uint64_t posted;
	/* load (written by the loop's thread, read by any) */
	atomic_int load_permille;
	atomic_llong beat_ns; /* monotonic time of its last load timer: it is not stalled */
	int64_t last_cpu_ns, last_wall_ns;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the post queue ---- */

static struct post *take_all(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	struct post *p = l->head;
	l->head = l->tail = NULL;
	l->waiting = 0;
	pthread_mutex_unlock(&l->lock);
	return p;
}

static void run_posts(struct post *p)
{
	while (p) {
		struct post *next = p->next;
		p->fn(p->arg);
		free(p);
		p = next;
	}
}

static gboolean on_wakeup(gint fd, GIOCondition cond, gpointer data)
{
	struct loop *l = data;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		LOG_E("loop %d: eventfd read: %s", l->index, g_strerror(errno));
	run_posts(take_all(l));
	return G_SOURCE_CONTINUE;
}

static int enqueue(struct loop *l, loop_fn fn, void *arg, bool last)
{
	struct post *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct post){.fn = fn, .arg = arg};
	pthread_mutex_lock(&l->lock);
	if (l->quitting) {
		pthread_mutex_unlock(&l->lock);
		free(p);
		return -ESHUTDOWN;
	}
	l->quitting = last;
	bool wake = !l->head;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	l->posted++;
	if (++l->waiting > l->max_waiting)
		l->max_waiting = l->waiting;
	pthread_mutex_unlock(&l->lock);
	uint64_t one = 1;
	if (wake && write(l->efd, &one, sizeof(one)) < 0)
		LOG_E("loop %d: eventfd write: %s", l->index, g_strerror(errno));
	return 0;
}

int loop_post(struct loop *l, loop_fn fn, void *arg)
{
	return enqueue(l, fn, arg, false);
}

struct quit {
	struct loop *l;
	loop_fn fn;
	void *arg;
};

static void do_quit(void *data)
{
	struct quit *q = data;
	if (q->fn)
		q->fn(q->arg);
	g_main_loop_quit(q->l->ml);
	free(q);
}

void loop_quit(struct loop *l, loop_fn fn, void *arg)
{
	struct quit *q = malloc(sizeof(*q));
	if (q) {
		*q = (struct quit){l, fn, arg};
		if (enqueue(l, do_quit, q, true) == 0)
			return;
		free(q);
	}
	if (fn) /* out of memory: still end the loop; fn must not be lost */
		LOG_E("loop %d: could not post its last work", l->index);
	g_main_loop_quit(l->ml);
}

/* ---- load ---- */

static gboolean on_load_timer(gpointer data)
{
	struct loop *l = data;
	int64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID), wall = clock_ns(CLOCK_MONOTONIC);
	int64_t dw = wall - l->last_wall_ns;
	if (dw > 0)
		atomic_store(&l->load_permille, (int)((cpu - l->last_cpu_ns) * 1000 / dw));
	l->last_cpu_ns = cpu;
	l->last_wall_ns = wall;
	atomic_store(&l->beat_ns, wall);
	return G_SOURCE_CONTINUE;
}

int64_t loop_beat_age_ms(const struct loop *l)
{
	return (clock_ns(CLOCK_MONOTONIC) - atomic_load(&l->beat_ns)) / 1000000;
}

int loop_load_permille(const struct loop *l)
{
	return atomic_load(&l->load_permille);
}

double loop_cpu_seconds(const struct loop *l)
{
	clockid_t id;
	if (!l->started || pthread_getcpuclockid(l->thread, &id) != 0)
		return 0;
	return (double)clock_ns(id) / 1e9;
}

void loop_post_stats(const struct loop *l, uint64_t *posted, int *max_waiting)
{
	struct loop *m = (struct loop *)l; /* the lock is not part of the value */
	pthread_mutex_lock(&m->lock);
	*posted = l->posted;
	*max_waiting = l->max_waiting;
	pthread_mutex_unlock(&m->lock);
}

/* ---- life cycle ---- */

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	char name[16];
	snprintf(name, sizeof(name), "mcu-loop-%u", (unsigned)l->index % 1000u);
	pthread_setname_np(pthread_self(), name);
	g_main_context_push_thread_default(l->ctx);
	l->last_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	l->last_wall_ns = clock_ns(CLOCK_MONOTONIC);
	unsigned load_id = loop_timer_add(l, LOAD_PERIOD_MS, G_PRIORITY_DEFAULT, on_load_timer, l);
	g_main_loop_run(l->ml);
	loop_source_remove(l, &load_id);
	/* What was posted after the quit (nothing can be: posts fail once quitting is set). */
	run_posts(take_all(l));
	while (g_main_context_iteration(l->ctx, FALSE))
		;
	g_main_context_pop_thread_default(l->ctx);
	return NULL;
}

int loop_new(struct loop **out, int index)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (l)
		atomic_store(&l->beat_ns, clock_ns(CLOCK_MONOTONIC));
	if (!l)
		return -ENOMEM;
	l->index = index;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		int err = -errno;
		free(l);
		return err;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->ctx = g_main_context_new();
	l->ml = g_main_loop_new(l->ctx, FALSE);
	GSource *src = g_unix_fd_source_new(l->efd, G_IO_IN);
	g_source_set_priority(src, G_PRIORITY_HIGH);
	g_source_set_callback(src, G_SOURCE_FUNC(on_wakeup), l, NULL);
	g_source_attach(src, l->ctx);
	g_source_unref(src);
	*out = l;
	return 0;
}

int loop_start(struct loop *l)
{
	int rc = pthread_create(&l->thread, NULL, loop_main, l);
	if (rc != 0)
		return -rc;
	l->started = true;
	return 0;
}

void loop_free(struct loop **lp)
{
	struct loop *l = *lp;
	if (!l)
		return;
	if (l->started)
		pthread_join(l->thread, NULL);
	run_posts(take_all(l)); /* never started: nothing runs them otherwise */
	g_main_loop_unref(l->ml);
	g_main_context_unref(l->ctx);
	close(l->efd);
	pthread_mutex_destroy(&l->lock);
	free(l);
	*lp = NULL;
}

GMainContext *loop_ctx(const struct loop *l)
{
	return l->ctx;
}

int loop_index(const struct loop *l)
{
	return l->index;
}

bool loop_is_current(const struct loop *l)
{
	return l->started && pthread_equal(pthread_self(), l->thread);
}

unsigned loop_timer_add(struct loop *l, unsigned ms, int priority, GSourceFunc fn, void *data)
{
	GSource *t = g_timeout_source_new(ms);
	g_source_set_priority(t, priority);
	g_source_set_callback(t, fn, data, NULL);
	unsigned id = g_source_attach(t, l->ctx);
	g_source_unref(t);
	return id;
}

static gboolean deadline_dispatch(GSource *src, GSourceFunc fn, gpointer data)
{
	(void)src;
	return fn ? fn(data) : G_SOURCE_REMOVE;
}

static GSourceFuncs deadline_funcs = {.dispatch = deadline_dispatch};

unsigned loop_deadline_add(struct loop *l, unsigned first_ms, int priority, GSourceFunc fn,
                           void *data)
{
	GSource *t = g_source_new(&deadline_funcs, sizeof(GSource));
	g_source_set_priority(t, priority);
	g_source_set_callback(t, fn, data, NULL);
	g_source_set_ready_time(t, g_get_monotonic_time() + (int64_t)first_ms * 1000);
	unsigned id = g_source_attach(t, l->ctx);
	g_source_unref(t);
	return id;
}

void loop_deadline_set(struct loop *l, unsigned id, int64_t at_us)
{
	GSource *src = g_main_context_find_source_by_id(l->ctx, id);
	if (src)
		g_source_set_ready_time(src, at_us);
}

void loop_source_remove(struct loop *l, unsigned *id)
{
	if (!*id)
		return;
	GSource *src = g_main_context_find_source_by_id(l->ctx, *id);
	if (src)
		g_source_destroy(src);
	*id = 0;
}
