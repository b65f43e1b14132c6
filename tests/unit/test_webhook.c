/*
 * test_webhook.c - net/webhook.c against a real HTTP receiver: a listening socket on
 * 127.0.0.1 (port 0) served by a thread of the test, which records each request and answers
 * the statuses of a script (then 200). Checked: every try carries X-MCU-Timestamp and a valid
 * X-MCU-Signature (the HMAC recomputed here with OpenSSL), the body's event and id match the
 * headers; a 500 is retried with the same id and the events after it wait (order kept); 429
 * and 503 are retried, a 404 is given up; tries run out against a closed port; a full queue
 * drops and counts; no secret sends no signature; webhook_free gives up a receiver that never
 * answers within its drain time; bad URLs and names are refused.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "net/webhook.h"

#define MAX_REQS 64
#define SECRET   "s3cret"
#define REQ_BUF  65536
#define WAIT_MS  10000

struct req {
	char event[64], id[64], ts[32], sig[80], attempt[8];
	char *body;
};

/* The receiver: its thread accepts, reads one request per connection, answers, closes. */
struct receiver {
	int fd, port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct req reqs[MAX_REQS]; /* lock */
	int nreq;
	int script[16]; /* the status of request i, 200 after the script */
	int nscript;
	bool hold; /* lock: answer nothing until cleared */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of header `name` in the request head, copied into out ("" if absent). */
static void header(const char *head, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	size_t ln = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, name, ln) || h[ln] != ':')
			continue;
		h += ln + 1;
		while (*h == ' ')
			h++;
		size_t k = strcspn(h, "\r\n");
		snprintf(out, n, "%.*s", (int)k, h);
		return;
	}
}

/* Reads a whole request (head and Content-Length body) into buf. Its length, or -1. */
static int read_request(int fd, char *buf, int cap, char **body)
{
	int len = 0;
	char cl[16];
	for (;;) {
		ssize_t k = recv(fd, buf + len, (size_t)(cap - 1 - len), 0);
		if (k <= 0)
			return -1;
		len += (int)k;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		header(buf, "Content-Length", cl, sizeof(cl));
		int want = (int)(end + 4 - buf) + atoi(cl);
		if (len >= want) {
			*end = '\0';
			*body = end + 4;
			return len;
		}
	}
}

static void record(struct receiver *rv, const char *head, const char *body, int *status)
{
	pthread_mutex_lock(&rv->lock);
	if (rv->nreq < MAX_REQS) {
		struct req *q = &rv->reqs[rv->nreq];
		header(head, "X-MCU-Event", q->event, sizeof(q->event));
		header(head, "X-MCU-Event-Id", q->id, sizeof(q->id));
		header(head, "X-MCU-Timestamp", q->ts, sizeof(q->ts));
		header(head, "X-MCU-Signature", q->sig, sizeof(q->sig));
		header(head, "X-MCU-Attempt", q->attempt, sizeof(q->attempt));
		q->body = strdup(body);
	}
	*status = rv->nreq < rv->nscript ? rv->script[rv->nreq] : 200;
	rv->nreq++;
	pthread_cond_broadcast(&rv->cond);
	while (rv->hold && !atomic_load(&rv->stop))
		pthread_cond_wait(&rv->cond, &rv->lock);
	pthread_mutex_unlock(&rv->lock);
}

static void serve_one(struct receiver *rv, int c)
{
	char *buf = malloc(REQ_BUF), *body = NULL;
	int status = 0;
	if (buf && read_request(c, buf, REQ_BUF, &body) > 0) {
		record(rv, buf, body, &status);
		char out[128];
		int n = snprintf(
		    out, sizeof(out),
		    "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
		if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0)
			perror("receiver send");
	}
	free(buf);
	close(c);
}

static void *receiver_main(void *arg)
{
	struct receiver *rv = arg;
	while (!atomic_load(&rv->stop)) {
		struct pollfd p = {.fd = rv->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(rv->fd, NULL, NULL);
		if (c >= 0)
			serve_one(rv, c);
	}
	return NULL;
}

/* A listening socket on 127.0.0.1, any port. */
static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct receiver *receiver_start(const int *script, int nscript)
{
	struct receiver *rv = calloc(1, sizeof(*rv));
	assert_non_null(rv);
	rv->fd = listen_any(&rv->port);
	pthread_mutex_init(&rv->lock, NULL);
	pthread_cond_init(&rv->cond, NULL);
	for (int i = 0; i < nscript; i++)
		rv->script[i] = script[i];
	rv->nscript = nscript;
	assert_int_equal(pthread_create(&rv->thread, NULL, receiver_main, rv), 0);
	return rv;
}

static void receiver_hold(struct receiver *rv, bool hold)
{
	pthread_mutex_lock(&rv->lock);
	rv->hold = hold;
	pthread_cond_broadcast(&rv->cond);
	pthread_mutex_unlock(&rv->lock);
}

/* Waits until the receiver has seen n requests. */
static void receiver_wait(struct receiver *rv, int n)
{
	int64_t end = mono_ms() + WAIT_MS;
	pthread_mutex_lock(&rv->lock);
	while (rv->nreq < n && mono_ms() < end) {
		pthread_mutex_unlock(&rv->lock);
		usleep(5000);
		pthread_mutex_lock(&rv->lock);
	}
	int got = rv->nreq;
	pthread_mutex_unlock(&rv->lock);
	if (got < n)
		fail_msg("the receiver got %d requests, not %d", got, n);
}

static void receiver_stop(struct receiver *rv)
{
	atomic_store(&rv->stop, true);
	receiver_hold(rv, false);
	pthread_join(rv->thread, NULL);
	close(rv->fd);
	for (int i = 0; i < rv->nreq && i < MAX_REQS; i++)
		free(rv->reqs[i].body);
	pthread_mutex_destroy(&rv->lock);
	pthread_cond_destroy(&rv->cond);
	free(rv);
}

static struct webhook *hook(struct receiver *rv, int port, const char *secret,
                            struct webhook_opts *o)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rv ? rv->port : port);
	struct webhook *wh = NULL;
	assert_int_equal(webhook_new(&wh, url, secret, o), 0);
	return wh;
}

/* Waits until delivered + failed reach n. */
static void settled(struct webhook *wh, uint64_t n, struct webhook_stats *st)
{
	int64_t end = mono_ms() + WAIT_MS;
	do {
		webhook_stats(wh, st);
		if (st->delivered + st->failed >= n)
			return;
		usleep(5000);
	} while (mono_ms() < end);
	fail_msg("%llu delivered, %llu failed: not %llu", (unsigned long long)st->delivered,
	         (unsigned long long)st->failed, (unsigned long long)n);
}

static void post(struct webhook *wh, const char *event, const char *room, int expect)
{
	assert_int_equal(webhook_post(wh, event, json_pack("{s:s}", "room", room)), expect);
}

/* The request is signed as documented, and its body matches its headers. */
static void check_signed(const struct req *q, const char *event)
{
	assert_string_equal(q->event, event);
	char *end = NULL;
	long long ts = strtoll(q->ts, &end, 10);
	assert_true(q->ts[0] && !*end);
	assert_true(llabs(ts - (long long)time(NULL)) < 60);
	char *msg = NULL;
	int n = asprintf(&msg, "%s.%s", q->ts, q->body);
	assert_true(n > 0);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)msg, (size_t)n, mac, &len);
	free(msg);
	char want[80] = "sha256=";
	for (unsigned i = 0; i < len; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
	assert_string_equal(q->sig, want);
	json_t *o = json_loads(q->body, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "event")), event);
	assert_string_equal(json_string_value(json_object_get(o, "id")), q->id);
	const char *t = json_string_value(json_object_get(o, "time"));
	assert_non_null(t); /* 2026-01-02T03:04:05.678Z */
	assert_int_equal(strlen(t), 24);
	assert_true(t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
	json_decref(o);
}

/* The body's "room" field. */
static void check_room(const struct req *q, const char *want)
{
	json_t *o = json_loads(q->body, 0, NULL);
	const char *room = json_string_value(json_object_get(o, "room"));
	assert_non_null(room);
	assert_string_equal(room, want);
	json_decref(o);
}

static void test_signed_retried_in_order(void **state)
{
	(void)state;
	struct receiver *rv = receiver_start((int[]){500}, 1);
	struct webhook_opts o = {.backoff_ms = 20};
	struct webhook *wh = hook(rv, 0, SECRET, &o);
	post(wh, "room-started", "a", 0);
	post(wh, "participant-joined", "a", 0);
	post(wh, "room-ended", "a", 0);
	struct webhook_stats st;
	settled(wh, 3, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.failed + st.dropped + st.pending, 0);
	receiver_wait(rv, 4);
	/* the 500 was retried with the same id; the others waited for it */
	assert_string_equal(rv->reqs[0].id, rv->reqs[1].id);
	assert_string_equal(rv->reqs[0].attempt, "1");
	assert_string_equal(rv->reqs[1].attempt, "2");
	const char *order[] = {"room-started", "room-started", "participant-joined", "room-ended"};
	for (int i = 0; i < 4; i++) {
		check_signed(&rv->reqs[i], order[i]);
		check_room(&rv->reqs[i], "a");
	}
	assert_string_not_equal(rv->reqs[1].id, rv->reqs[2].id);
	webhook_free(&wh);
	assert_null(wh);
	receiver_stop(rv);
}

static void test_retry_policy(void **state)
{
	(void)state;
	/* A: 429, 503, then 200; B: 404 (given up at once); C: 200 */
	struct receiver *rv = receiver_start((int[]){429, 503, 200, 404}, 4);
	struct webhook_opts o = {.backoff_ms = 10};
	struct webhook *wh = hook(rv, 0, SECRET, &o);
	post(wh, "a", "r", 0);
	post(wh, "b", "r", 0);
	post(wh, "c", "r", 0);
	struct webhook_stats st;
	settled(wh, 3, &st);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.retries, 2);
	receiver_wait(rv, 5);
	const char *order[] = {"a", "a", "a", "b", "c"};
	for (int i = 0; i < 5; i++)
		check_signed(&rv->reqs[i], order[i]);
	webhook_free(&wh);
	receiver_stop(rv);
}

static void test_tries_run_out(void **state)
{
	(void)state;
	int port;
	close(listen_any(&port)); /* nothing listens there now: connection refused */
	struct webhook_opts o = {.attempts = 3, .backoff_ms = 10};
	struct webhook *wh = hook(NULL, port, SECRET, &o);
	post(wh, "room-started", "a", 0);
	struct webhook_stats st;
	settled(wh, 1, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.delivered, 0);
	webhook_free(&wh);
}

static void test_full_queue_drops(void **state)
{
	(void)state;
	struct receiver *rv = receiver_start(NULL, 0);
	receiver_hold(rv, true);
	struct webhook_opts o = {.queue_max = 4};
	struct webhook *wh = hook(rv, 0, SECRET, &o);
	post(wh, "e", "0", 0);
	receiver_wait(rv, 1); /* "0" is being tried: the queue is empty again */
	for (int i = 1; i <= 6; i++) {
		char room[16];
		snprintf(room, sizeof(room), "%d", i);
		post(wh, "e", room, i <= 4 ? 0 : -ENOSPC);
	}
	struct webhook_stats st;
	webhook_stats(wh, &st);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.pending, 5);
	receiver_hold(rv, false);
	settled(wh, 5, &st);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.pending, 0);
	receiver_wait(rv, 5);
	for (int i = 0; i < 5; i++) {
		char room[16];
		snprintf(room, sizeof(room), "%d", i);
		check_room(&rv->reqs[i], room);
	}
	webhook_free(&wh);
	receiver_stop(rv);
}

static void test_unsigned_without_secret(void **state)
{
	(void)state;
	struct receiver *rv = receiver_start(NULL, 0);
	struct webhook *wh = hook(rv, 0, "", NULL);
	post(wh, "room-started", "a", 0);
	struct webhook_stats st;
	settled(wh, 1, &st);
	assert_int_equal(st.delivered, 1);
	receiver_wait(rv, 1);
	assert_string_equal(rv->reqs[0].sig, "");
	assert_true(rv->reqs[0].ts[0] != '\0');
	webhook_free(&wh);
	receiver_stop(rv);
}

static void test_free_gives_up_in_time(void **state)
{
	(void)state;
	struct receiver *rv = receiver_start(NULL, 0);
	receiver_hold(rv, true); /* never answers */
	struct webhook_opts o = {.drain_ms = 300};
	struct webhook *wh = hook(rv, 0, SECRET, &o);
	post(wh, "a", "r", 0);
	post(wh, "b", "r", 0);
	receiver_wait(rv, 1);
	int64_t t0 = mono_ms();
	webhook_free(&wh);
	int64_t took = mono_ms() - t0;
	assert_true(took >= 250 && took < 2000);
	receiver_stop(rv);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct webhook *wh = NULL;
	assert_int_equal(webhook_new(&wh, "ftp://127.0.0.1/x", "", NULL), -EINVAL);
	assert_int_equal(webhook_new(&wh, "no url", "", NULL), -EINVAL);
	assert_int_equal(webhook_new(&wh, "", "", NULL), -EINVAL);
	assert_null(wh);
	int port;
	close(listen_any(&port));
	wh = hook(NULL, port, SECRET, &(struct webhook_opts){.attempts = 1});
	assert_int_equal(webhook_post(wh, "Room Started", NULL), -EINVAL);
	assert_int_equal(webhook_post(wh, "x\r\nHost: y", NULL), -EINVAL);
	assert_int_equal(webhook_post(wh, "", NULL), -EINVAL);
	assert_int_equal(webhook_post(wh, "ok", json_string("not an object")), -EINVAL);
	struct webhook_stats st;
	webhook_stats(wh, &st);
	assert_int_equal(st.queued, 0);
	json_t *j = webhook_stats_json(wh);
	assert_true(json_is_true(json_object_get(j, "enabled")));
	json_decref(j);
	webhook_free(&wh);
	j = webhook_stats_json(NULL);
	assert_true(json_is_false(json_object_get(j, "enabled")));
	assert_int_equal(json_integer_value(json_object_get(j, "dropped")), 0);
	json_decref(j);
}

int main(void)
{
	mcu_log_set_level(MCU_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_retried_in_order),
	    cmocka_unit_test(test_retry_policy),
	    cmocka_unit_test(test_tries_run_out),
	    cmocka_unit_test(test_full_queue_drops),
	    cmocka_unit_test(test_unsigned_without_secret),
	    cmocka_unit_test(test_free_gives_up_in_time),
	    cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
