/*
 * webhook.c - the webhook's queue and its sender thread (see webhook.h).
 *
 * The queue is a FIFO list under a pthread mutex and condition variable (which
 * ThreadSanitizer sees); webhook_post formats the body on the caller's thread, so an event's
 * "time" and "id" say when it happened, not when it went out. The sender thread takes one
 * event at a time and tries it with libcurl's multi interface around one easy handle (its
 * connection is kept alive from one event to the next), so webhook_free can cut a try short at
 * once (curl_multi_wakeup). Every try is signed anew with the time it is sent. Only this file
 * sees libcurl.
 * Threads: as in webhook.h. The lock guards the list, its length and `stop`; counters are
 * atomics; the easy and multi handles belong to the sender thread (webhook_free only wakes
 * the multi up, and frees both after the join).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "log.h"
#include "net/webhook.h"

#define POLL_MAX_MS 1000 /* the longest a try sleeps in curl_multi_poll at once */
#define NO_DEADLINE INT64_MAX

struct wh_event {
	struct wh_event *next;
	char name[WEBHOOK_MAX_EVENT];
	char id[48];
	char *body;
};

struct webhook {
	char *url, *secret;
	struct webhook_opts o;
	char id_prefix[17]; /* random per webhook: ids differ between server runs */
	atomic_uint_fast64_t seq;
	atomic_uint_fast64_t queued, delivered, retries, failed, dropped, pending;
	/* the queue (lock) */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC: a new event, or stop */
	struct wh_event *head, *tail;
	int n;
	bool stop;
	atomic_int_fast64_t deadline_ms; /* monotonic; NO_DEADLINE until webhook_free */
	/* the sender thread */
	pthread_t thread;
	bool started, curl_inited;
	CURLM *multi;
	CURL *easy;
	char err[CURL_ERROR_SIZE];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int or_default(int v, int def)
{
	return v > 0 ? v : def;
}

/* The defaults are in webhook.h. */
static void set_opts(struct webhook_opts *o, const struct webhook_opts *in)
{
	*o = in ? *in : (struct webhook_opts){0};
	o->queue_max = or_default(o->queue_max, 1024);
	o->attempts = or_default(o->attempts, 5);
	o->backoff_ms = or_default(o->backoff_ms, 500);
	o->backoff_max_ms = or_default(o->backoff_max_ms, 30000);
	o->connect_timeout_ms = or_default(o->connect_timeout_ms, 2000);
	o->timeout_ms = or_default(o->timeout_ms, 5000);
	o->drain_ms = or_default(o->drain_ms, 2000);
}

/* [a-z0-9._-]{1,47}: it goes into a header line as it is. */
static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= WEBHOOK_MAX_EVENT)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* ---- events (any thread) ---- */

static void event_free(struct wh_event *e)
{
	if (e)
		free(e->body);
	free(e);
}

/* "2026-01-02T03:04:05.678Z" */
static void iso_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* {"event","id","time"} then the caller's fields, compact. NULL if out of memory. */
static char *body_text(const struct wh_event *e, json_t *data)
{
	char when[40];
	iso_now(when, sizeof(when));
	json_t *o = json_pack("{s:s,s:s,s:s}", "event", e->name, "id", e->id, "time", when);
	if (o && data && json_object_update_missing(o, data) < 0) {
		json_decref(o);
		o = NULL;
	}
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return t;
}

static struct wh_event *event_new(struct webhook *wh, const char *name, json_t *data)
{
	struct wh_event *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->id, sizeof(e->id), "%s-%llu", wh->id_prefix,
	         (unsigned long long)atomic_fetch_add(&wh->seq, 1) + 1);
	if (!(e->body = body_text(e, data))) {
		event_free(e);
		return NULL;
	}
	return e;
}

int webhook_post(struct webhook *wh, const char *event, json_t *data)
{
	bool bad = !name_ok(event) || (data && !json_is_object(data));
	struct wh_event *e = bad ? NULL : event_new(wh, event, data);
	json_decref(data);
	if (!e)
		return bad ? -EINVAL : -ENOMEM;
	pthread_mutex_lock(&wh->lock);
	bool full = wh->n >= wh->o.queue_max;
	if (!full) {
		*(wh->tail ? &wh->tail->next : &wh->head) = e;
		wh->tail = e;
		wh->n++;
		atomic_fetch_add(&wh->queued, 1);
		atomic_fetch_add(&wh->pending, 1);
		pthread_cond_signal(&wh->cond);
	}
	pthread_mutex_unlock(&wh->lock);
	if (!full)
		return 0;
	uint64_t d = atomic_fetch_add(&wh->dropped, 1) + 1;
	if (d == 1 || d % 100 == 0)
		LOG_W("webhook: queue full (%d events): %s dropped (%llu so far)", wh->o.queue_max,
		      event, (unsigned long long)d);
	event_free(e);
	return -ENOSPC;
}

/* ---- one try (sender thread) ---- */

/* Lower-case hex HMAC-SHA256(secret, "<ts>.<body>") into out[65]. 0 or -ENOMEM. */
static int sign(const char *secret, long long ts, const char *body, char out[65])
{
	char *msg = NULL;
	int n = asprintf(&msg, "%lld.%s", ts, body);
	if (n < 0)
		return -ENOMEM;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	bool ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
	               (size_t)n, mac, &len) != NULL;
	free(msg);
	for (unsigned i = 0; ok && i < len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return ok ? 0 : -ENOMEM;
}

static bool add_header(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);
	if (n)
		*h = n;
	return n != NULL;
}

/* The try's headers, signed with the current time. NULL if out of memory. */
static struct curl_slist *headers(struct webhook *wh, const struct wh_event *e, int attempt)
{
	struct curl_slist *h = NULL;
	char line[160], sig[65];
	long long ts = (long long)time(NULL);
	bool ok = add_header(&h, "Content-Type: application/json");
	ok = ok && add_header(&h, "Expect:"); /* no 100-continue round trip */
	snprintf(line, sizeof(line), "X-MCU-Timestamp: %lld", ts);
	ok = ok && add_header(&h, line);
	snprintf(line, sizeof(line), "X-MCU-Event: %s", e->name);
	ok = ok && add_header(&h, line);
	snprintf(line, sizeof(line), "X-MCU-Event-Id: %s", e->id);
	ok = ok && add_header(&h, line);
	snprintf(line, sizeof(line), "X-MCU-Attempt: %d", attempt);
	ok = ok && add_header(&h, line);
	if (ok && wh->secret[0]) {
		ok = sign(wh->secret, ts, e->body, sig) == 0;
		snprintf(line, sizeof(line), "X-MCU-Signature: sha256=%s", ok ? sig : "");
		ok = ok && add_header(&h, line);
	}
	if (!ok) {
		curl_slist_free_all(h);
		h = NULL;
	}
	return h;
}

/* Runs the transfer added to the multi handle until it ends or webhook_free's deadline. */
static CURLcode run(struct webhook *wh)
{
	int running = 1;
	while (curl_multi_perform(wh->multi, &running) == CURLM_OK && running) {
		int64_t left = atomic_load(&wh->deadline_ms) - now_ms();
		if (left <= 0) {
			snprintf(wh->err, sizeof(wh->err), "cut short at exit");
			return CURLE_ABORTED_BY_CALLBACK;
		}
		curl_multi_poll(wh->multi, NULL, 0, left < POLL_MAX_MS ? (int)left : POLL_MAX_MS,
		                NULL);
	}
	int left;
	for (CURLMsg *m; (m = curl_multi_info_read(wh->multi, &left));)
		if (m->msg == CURLMSG_DONE)
			return m->data.result;
	return CURLE_FAILED_INIT;
}

/* One POST: its HTTP status, or -1 for a transport error (wh->err says which). */
static long try_once(struct webhook *wh, const struct wh_event *e, int attempt)
{
	struct curl_slist *h = headers(wh, e, attempt);
	CURL *c = wh->easy;
	wh->err[0] = '\0';
	if (!h) {
		snprintf(wh->err, sizeof(wh->err), "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, e->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(e->body));
	CURLcode rc = CURLE_FAILED_INIT;
	if (curl_multi_add_handle(wh->multi, c) == CURLM_OK) {
		rc = run(wh);
		curl_multi_remove_handle(wh->multi, c);
	}
	long status = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else if (!wh->err[0])
		snprintf(wh->err, sizeof(wh->err), "%s", curl_easy_strerror(rc));
	curl_slist_free_all(h);
	return status;
}

/* ---- the sender thread ---- */

/* webhook_free's deadline has passed. */
static bool expired(struct webhook *wh)
{
	return now_ms() >= atomic_load(&wh->deadline_ms);
}

static struct timespec mono_at(int64_t ms)
{
	return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

/* Waits before try `attempt` + 1 (the backoff); false if webhook_free's deadline came first. */
static bool backoff(struct webhook *wh, int attempt)
{
	int64_t wait = wh->o.backoff_ms;
	for (int i = 1; i < attempt && wait < wh->o.backoff_max_ms; i++)
		wait *= 2;
	if (wait > wh->o.backoff_max_ms)
		wait = wh->o.backoff_max_ms;
	int64_t until = now_ms() + wait;
	pthread_mutex_lock(&wh->lock);
	bool ok = true;
	while ((ok = !expired(wh)) && now_ms() < until) {
		int64_t d = atomic_load(&wh->deadline_ms);
		struct timespec ts = mono_at(d < until ? d : until);
		pthread_cond_timedwait(&wh->cond, &wh->lock, &ts);
	}
	pthread_mutex_unlock(&wh->lock);
	return ok;
}

static void log_failure(struct webhook *wh, const struct wh_event *e, long status, int tries)
{
	if (status > 0)
		LOG_W("webhook: %s %s not delivered: HTTP %ld after %d tr%s", e->name, e->id,
		      status, tries, tries == 1 ? "y" : "ies");
	else
		LOG_W("webhook: %s %s not delivered: %s after %d tr%s", e->name, e->id, wh->err,
		      tries, tries == 1 ? "y" : "ies");
}

/* Tries e until a 2xx, a status not worth retrying, the last try, or the deadline. */
static void deliver(struct webhook *wh, const struct wh_event *e)
{
	for (int attempt = 1;; attempt++) {
		long status = try_once(wh, e, attempt);
		if (status >= 200 && status < 300) {
			atomic_fetch_add(&wh->delivered, 1);
			LOG_D("webhook: %s %s delivered (HTTP %ld, try %d)", e->name, e->id, status,
			      attempt);
			return;
		}
		bool again = status < 0 || status >= 500 || status == 429;
		if (!again || attempt >= wh->o.attempts || !backoff(wh, attempt)) {
			atomic_fetch_add(&wh->failed, 1);
			log_failure(wh, e, status, attempt);
			return;
		}
		if (status > 0)
			LOG_D("webhook: %s %s: HTTP %ld, retrying", e->name, e->id, status);
		else
			LOG_D("webhook: %s %s: %s, retrying", e->name, e->id, wh->err);
		atomic_fetch_add(&wh->retries, 1);
	}
}

/* The next event to try, or NULL once stopped (queue empty, or the deadline passed). */
static struct wh_event *next_event(struct webhook *wh)
{
	pthread_mutex_lock(&wh->lock);
	while (!wh->head && !wh->stop)
		pthread_cond_wait(&wh->cond, &wh->lock);
	struct wh_event *e = wh->stop && expired(wh) ? NULL : wh->head;
	if (e) {
		wh->head = e->next;
		if (!wh->head)
			wh->tail = NULL;
		wh->n--;
	}
	pthread_mutex_unlock(&wh->lock);
	return e;
}

/* What is still queued at exit is dropped (counted). */
static void drop_rest(struct webhook *wh)
{
	pthread_mutex_lock(&wh->lock);
	struct wh_event *e = wh->head;
	int n = wh->n;
	wh->head = wh->tail = NULL;
	wh->n = 0;
	pthread_mutex_unlock(&wh->lock);
	while (e) {
		struct wh_event *next = e->next;
		event_free(e);
		e = next;
	}
	if (n > 0) {
		atomic_fetch_add(&wh->dropped, (uint64_t)n);
		atomic_fetch_sub(&wh->pending, (uint64_t)n);
		LOG_W("webhook: %d event%s not sent at exit", n, n == 1 ? "" : "s");
	}
}

static void *sender_main(void *arg)
{
	struct webhook *wh = arg;
	for (struct wh_event *e; (e = next_event(wh));) {
		deliver(wh, e);
		atomic_fetch_sub(&wh->pending, 1);
		event_free(e);
	}
	return NULL;
}

/* ---- life cycle ---- */

static size_t discard(char *ptr, size_t size, size_t n, void *opaque)
{
	(void)ptr;
	(void)opaque;
	return size * n;
}

/* http:// or https:// and well-formed for libcurl. */
static bool url_ok(const char *url)
{
	if (!url || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)))
		return false;
	CURLU *u = curl_url();
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
	curl_url_cleanup(u);
	return ok;
}

static int curl_setup(struct webhook *wh)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	wh->curl_inited = true;
	wh->multi = curl_multi_init();
	CURL *c = wh->easy = curl_easy_init();
	if (!wh->multi || !c)
		return -ENOMEM;
	bool ok = curl_easy_setopt(c, CURLOPT_URL, wh->url) == CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)wh->o.connect_timeout_ms) ==
	               CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)wh->o.timeout_ms) == CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_USERAGENT, "mcu-webhook/1") == CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) == CURLE_OK;
	ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, wh->err) == CURLE_OK;
	return ok ? 0 : -EINVAL;
}

/* A random id prefix (16 hex digits). */
static void id_prefix(char out[17])
{
	unsigned char b[8] = {0};
	if (RAND_bytes(b, sizeof(b)) != 1) {
		uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)now_ms() << 20);
		memcpy(b, &t, sizeof(b));
	}
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int wh_init(struct webhook *wh, const char *url, const char *secret,
                   const struct webhook_opts *opts)
{
	set_opts(&wh->o, opts);
	id_prefix(wh->id_prefix);
	atomic_store(&wh->deadline_ms, NO_DEADLINE);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wh->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&wh->lock, NULL);
	wh->url = strdup(url);
	wh->secret = strdup(secret ? secret : "");
	return wh->url && wh->secret ? curl_setup(wh) : -ENOMEM;
}

int webhook_new(struct webhook **out, const char *url, const char *secret,
                const struct webhook_opts *opts)
{
	*out = NULL;
	if (!url_ok(url))
		return -EINVAL;
	struct webhook *wh = calloc(1, sizeof(*wh));
	if (!wh)
		return -ENOMEM;
	int rc = wh_init(wh, url, secret, opts);
	if (rc == 0)
		rc = -pthread_create(&wh->thread, NULL, sender_main, wh);
	wh->started = rc == 0;
	if (rc < 0) {
		webhook_free(&wh);
		return rc;
	}
	*out = wh;
	return 0;
}

void webhook_stats(struct webhook *wh, struct webhook_stats *out)
{
	*out = (struct webhook_stats){
	    .queued = atomic_load(&wh->queued),
	    .delivered = atomic_load(&wh->delivered),
	    .retries = atomic_load(&wh->retries),
	    .failed = atomic_load(&wh->failed),
	    .dropped = atomic_load(&wh->dropped),
	    .pending = atomic_load(&wh->pending),
	};
}

json_t *webhook_stats_json(struct webhook *wh)
{
	struct webhook_stats s = {0};
	if (wh)
		webhook_stats(wh, &s);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "enabled", wh != NULL, "queued",
	                 (json_int_t)s.queued, "delivered", (json_int_t)s.delivered, "retries",
	                 (json_int_t)s.retries, "failed", (json_int_t)s.failed, "dropped",
	                 (json_int_t)s.dropped, "pending", (json_int_t)s.pending);
}

void webhook_free(struct webhook **whp)
{
	struct webhook *wh = *whp;
	if (!wh)
		return;
	if (wh->started) {
		pthread_mutex_lock(&wh->lock);
		wh->stop = true;
		atomic_store(&wh->deadline_ms, now_ms() + wh->o.drain_ms);
		pthread_cond_broadcast(&wh->cond);
		pthread_mutex_unlock(&wh->lock);
		curl_multi_wakeup(wh->multi); /* a try in curl_multi_poll looks at the deadline */
		pthread_join(wh->thread, NULL);
	}
	drop_rest(wh);
	if (wh->easy)
		curl_easy_cleanup(wh->easy);
	if (wh->multi)
		curl_multi_cleanup(wh->multi);
	if (wh->curl_inited)
		curl_global_cleanup();
	pthread_mutex_destroy(&wh->lock);
	pthread_cond_destroy(&wh->cond);
	free(wh->url);
	free(wh->secret);
	free(wh);
	*whp = NULL;
}
