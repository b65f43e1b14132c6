/* glib_hb.c - `make tsan` only: tells ThreadSanitizer about the happens-before edge GLib gives a
 * callback handed to another thread's GMainContext.
 *
 * Debian's GLib is not instrumented and its GMutex is a futex, so TSan cannot see that
 * everything a thread wrote before g_main_context_invoke[_full]() (or before
 * g_source_set_callback() on an idle or timeout source it then attaches) happens before the
 * callback runs on the context's thread: GLib's context lock orders them. Without this, every such
 * hand-off (a signaling message posted to the media loop, an mcu-load event) is a false report.
 *
 * The tsan build links our objects with -Wl,--wrap for those three functions (mk/tsan.mk): the
 * wrappers store the callback and its data in a small "hop", __tsan_release() it, and give GLib
 * a trampoline that __tsan_acquire()s it before calling the real callback. Only the edge GLib
 * really provides is added (release where the callback is handed over, acquire where it runs);
 * nothing is suppressed, and any other access to the same data still races.
 * Calls from inside shared libraries (libnice's own sources) are not wrapped. */
#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

void __real_g_main_context_invoke_full(GMainContext *ctx, gint prio, GSourceFunc fn, gpointer data,
                                       GDestroyNotify notify);
void __real_g_source_set_callback(GSource *src, GSourceFunc fn, gpointer data,
                                  GDestroyNotify notify);

struct hop {
	GSourceFunc fn;
	gpointer data;
	GDestroyNotify notify;
};

static gboolean hop_run(gpointer p)
{
	struct hop *h = p;
	__tsan_acquire(h);
	return h->fn(h->data);
}

static void hop_free(gpointer p)
{
	struct hop *h = p;
	__tsan_acquire(h);
	if (h->notify)
		h->notify(h->data);
	free(h);
}

/* A hop for fn/data, released; NULL if out of memory (the caller then passes fn through). */
static struct hop *hop_new(GSourceFunc fn, gpointer data, GDestroyNotify notify)
{
	struct hop *h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	h->fn = fn;
	h->data = data;
	h->notify = notify;
	__tsan_release(h);
	return h;
}

void __wrap_g_main_context_invoke_full(GMainContext *ctx, gint prio, GSourceFunc fn, gpointer data,
                                       GDestroyNotify notify)
{
	struct hop *h = fn ? hop_new(fn, data, notify) : NULL;
	if (h)
		__real_g_main_context_invoke_full(ctx, prio, hop_run, h, hop_free);
	else
		__real_g_main_context_invoke_full(ctx, prio, fn, data, notify);
}

void __wrap_g_main_context_invoke(GMainContext *ctx, GSourceFunc fn, gpointer data)
{
	__wrap_g_main_context_invoke_full(ctx, G_PRIORITY_DEFAULT, fn, data, NULL);
}

/* Idle and timeout sources only: their callbacks are GSourceFuncs (others, such as a child
 * watch's, take other arguments and are passed through untouched). */
void __wrap_g_source_set_callback(GSource *src, GSourceFunc fn, gpointer data,
                                  GDestroyNotify notify)
{
	bool plain =
	    src && (src->source_funcs == &g_idle_funcs || src->source_funcs == &g_timeout_funcs);
	struct hop *h = fn && plain ? hop_new(fn, data, notify) : NULL;
	if (h)
		__real_g_source_set_callback(src, hop_run, h, hop_free);
	else
		__real_g_source_set_callback(src, fn, data, notify);
}
