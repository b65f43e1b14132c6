/*
 * cascade_util.c - mcu-cascade's small helpers: delay samples and their quantiles, the
 * frame FIFOs that follow shown frames through the engines, the thread CPU clock.
 * Any thread; each structure belongs to its caller (the node that holds it).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cascade.h"

static int grow(void **v, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return 0;
	int nc = *cap ? *cap * 2 : 256;
	while (nc < need)
		nc *= 2;
	void *nv = realloc(*v, (size_t)nc * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

int cascade_samples_add(struct cascade_samples *s, double v)
{
	int rc = grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	if (rc == 0)
		s->v[s->n++] = v;
	return rc;
}

void cascade_samples_free(struct cascade_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double cascade_quantile(double *v, int n, double q)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	int i = (int)ceil(q * n) - 1;
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

int cascade_fifo_push(struct cascade_fifo *f, const struct cascade_frame *fr)
{
	int rc = grow((void **)&f->v, &f->cap, f->n + 1, sizeof(*f->v));
	if (rc == 0)
		f->v[f->n++] = *fr;
	return rc;
}

void cascade_fifo_free(struct cascade_fifo *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}

double cascade_thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
