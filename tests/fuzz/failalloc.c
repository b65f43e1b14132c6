/*
 * failalloc.c - allocation-failure injection for the fuzz targets (checklist A3).
 *
 * The targets are linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 * --wrap=strndup (mk/fuzz.mk): the linker sends those calls made by OUR objects (the targets
 * and the project's sources; not the shared libraries such as libvpx, jansson or OpenSSL, nor
 * the sanitizer runtimes) here. With FUZZ_FAIL_ALLOC=N (N > 0) in the environment, about one
 * allocation in N fails (returns NULL, errno ENOMEM), pseudo-randomly but deterministically
 * per input: failalloc_reset() seeds the sequence from a hash of the input. Zero-size
 * requests (malloc(0), calloc(0, n), calloc(n, 0)) get a unique 1-byte block that ASan
 * poisons ("poison"), so code that writes through such a pointer is reported. Without the
 * variable every call goes straight to the real allocator, except the malloc(0) poison.
 * At exit, with the variable set, prints the inputs run, the allocations and the failures.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#endif

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_uint every;       /* N of FUZZ_FAIL_ALLOC; 0: no failures */
static atomic_ullong seed, seq; /* failure sequence: hash(seed, seq++) */
static atomic_ullong inputs, calls, failed;

static void report(void)
{
	fprintf(stderr, "failalloc: N=%u, %llu inputs, %llu allocations, %llu failed\n",
	        atomic_load(&every), (unsigned long long)atomic_load(&inputs),
	        (unsigned long long)atomic_load(&calls), (unsigned long long)atomic_load(&failed));
}

void failalloc_reset(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		init = true;
		const char *v = getenv("FUZZ_FAIL_ALLOC");
		long n = v ? strtol(v, NULL, 10) : 0;
		if (n > 0) {
			atomic_store(&every, (unsigned)n);
			atexit(report);
		}
	}
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	atomic_store(&seed, h);
	atomic_store(&seq, 0);
	atomic_fetch_add(&inputs, 1);
}

/* True if this allocation is to fail (splitmix64 of seed + sequence number). */
static bool fail(void)
{
	unsigned n = atomic_load_explicit(&every, memory_order_relaxed);
	if (!n)
		return false;
	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	uint64_t z =
	    atomic_load_explicit(&seed, memory_order_relaxed) +
	    atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	if (z % n)
		return false;
	atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed);
	errno = ENOMEM;
	return true;
}

/* A unique, freeable block of which no byte may be touched. */
static void *poison(void)
{
	void *p = __real_malloc(1);
	if (p)
		POISON(p, 1);
	return p;
}

void *__wrap_malloc(size_t size)
{
	if (fail())
		return NULL;
	return size ? __real_malloc(size) : poison();
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail())
		return NULL;
	return n && size ? __real_calloc(n, size) : poison();
}

void *__wrap_realloc(void *p, size_t size)
{
	if (size && fail()) /* realloc(p, 0) frees: never fails */
		return NULL;
	return __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
	return fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fail() ? NULL : __real_strndup(s, n);
}
