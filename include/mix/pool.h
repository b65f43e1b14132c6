/*
 * pool.h - a fork/join worker pool: runs fn(arg, i) for i in [0, n) on its threads and the
 * caller's, and returns when all n are done.
 *
 * Made for the engine's video tick (decode the visible sources in parallel, compose and encode
 * the distinct outputs in parallel), and shared: several threads (one event loop per core,
 * each with its own rooms' engines) may call mix_pool_run at once on one pool; each call waits
 * for its own items only, and its caller works on them too, so a call never waits idle for
 * a pool busy with someone else's work.
 *
 * Threading: mix_pool_new and mix_pool_free on one thread, with no mix_pool_run in progress;
 * mix_pool_run from any thread. fn runs on an unspecified thread, several items at once, and
 * must not call mix_pool_run on the same pool (no nesting). Everything fn wrote is visible to
 * the caller when mix_pool_run returns (the pool's mutex orders it).
 * Ownership: the caller owns arg; the pool owns its threads.
 */
#ifndef MIX_POOL_H
#define MIX_POOL_H

#define MIX_POOL_MAX_THREADS 64

struct mix_pool;

/* A pool of `threads` worker threads (0..MIX_POOL_MAX_THREADS; 0 runs everything on the
 * caller). A call uses up to threads + 1 CPUs. 0, -EINVAL, -ENOMEM or a pthread error. */
int mix_pool_new(struct mix_pool **out, int threads);
/* Stops and joins the threads; sets *p to NULL. NULL or *p == NULL is a no-op. */
void mix_pool_free(struct mix_pool **p);
/* Runs fn(arg, i) once for every i in [0, n) and returns when all have returned. n <= 0 does
 * nothing; n == 1, p == NULL or a pool of 0 threads runs them inline, in order. */
void mix_pool_run(struct mix_pool *p, int n, void (*fn)(void *arg, int i), void *arg);
/* The worker threads of p (0 for NULL). */
int mix_pool_threads(const struct mix_pool *p);

#endif
