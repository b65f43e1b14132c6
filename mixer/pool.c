/*
 * pool.c - the fork/join worker pool (see mix/pool.h).
 *
 * One mutex guards everything: the list of jobs that still have unclaimed items, and each
 * job's claim and completion counters. A job lives on its caller's stack for the duration of
 * mix_pool_run. Items are claimed one at a time under the mutex (they cost a millisecond or
 * more each, so the lock is never contended for long). A job leaves the list when its last
 * item is claimed, so no worker can reach it after that; the caller waits until every claimed
 * item has finished before its job (and its stack frame) goes away.
 * Worker threads run worker(); mix_pool_run's caller claims items of its own job only.
 * The pool owns its threads; the caller owns each job's arg.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "mix/pool.h"

struct job {
	void (*fn)(void *arg, int i);
	void *arg;
	int n;
	int next; /* the next unclaimed item */
	int done; /* items finished */
	struct job *link;
};

struct mix_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;     /* a job was queued, or stop */
	pthread_cond_t done;     /* some job finished its last item */
	struct job *head, *tail; /* jobs with unclaimed items, oldest first */
	bool stop;
	int nthreads;
	pthread_t *threads;
};

/* Removes j from the list of jobs with unclaimed items. Under the mutex. */
static void unlink_job(struct mix_pool *p, struct job *j)
{
	struct job **pp = &p->head, *prev = NULL;
	while (*pp && *pp != j) {
		prev = *pp;
		pp = &(*pp)->link;
	}
	if (!*pp)
		return;
	*pp = j->link;
	if (p->tail == j)
		p->tail = prev;
	j->link = NULL;
}

/* Claims an item of j and runs it with the mutex released. Under the mutex. */
static void run_one(struct mix_pool *p, struct job *j)
{
	int i = j->next++;
	if (j->next == j->n)
		unlink_job(p, j);
	pthread_mutex_unlock(&p->mu);
	j->fn(j->arg, i);
	pthread_mutex_lock(&p->mu);
	if (++j->done == j->n)
		pthread_cond_broadcast(&p->done);
}

static void *worker(void *arg)
{
	struct mix_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (p->head)
			run_one(p, p->head);
		else
			pthread_cond_wait(&p->work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void stop_threads(struct mix_pool *p, int started)
{
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < started; i++)
		pthread_join(p->threads[i], NULL);
}

static void pool_destroy(struct mix_pool *p)
{
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}

int mix_pool_new(struct mix_pool **out, int threads)
{
	if (!out || threads < 0 || threads > MIX_POOL_MAX_THREADS)
		return -EINVAL;
	struct mix_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = calloc((size_t)(threads ? threads : 1), sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (int i = 0; i < threads; i++) {
		int rc = pthread_create(&p->threads[i], NULL, worker, p);
		if (rc == 0) { /* named for perf and top: "mix-pool-0", ... */
			char name[16];
			snprintf(name, sizeof(name), "mix-pool-%u", (unsigned)i % 1000u);
			pthread_setname_np(p->threads[i], name);
		}
		if (rc != 0) {
			stop_threads(p, i);
			pool_destroy(p);
			return -rc;
		}
	}
	p->nthreads = threads;
	*out = p;
	return 0;
}

void mix_pool_free(struct mix_pool **pp)
{
	if (!pp || !*pp)
		return;
	stop_threads(*pp, (*pp)->nthreads);
	pool_destroy(*pp);
	*pp = NULL;
}

int mix_pool_threads(const struct mix_pool *p)
{
	return p ? p->nthreads : 0;
}

/* Queues j for the workers and wakes as many as it can use. Under the mutex. */
static void enqueue(struct mix_pool *p, struct job *j)
{
	if (p->tail)
		p->tail->link = j;
	else
		p->head = j;
	p->tail = j;
	if (j->n - 1 >= p->nthreads)
		pthread_cond_broadcast(&p->work);
	else
		for (int i = 0; i < j->n - 1; i++)
			pthread_cond_signal(&p->work);
}

void mix_pool_run(struct mix_pool *p, int n, void (*fn)(void *arg, int i), void *arg)
{
	if (!p || p->nthreads == 0 || n <= 1) {
		for (int i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	struct job j = {.fn = fn, .arg = arg, .n = n};
	pthread_mutex_lock(&p->mu);
	enqueue(p, &j);
	while (j.next < j.n)
		run_one(p, &j);
	while (j.done < j.n)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
