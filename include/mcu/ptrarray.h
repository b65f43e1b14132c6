/*
 * ptrarray.h - growing arrays of pointers (the rooms, peers, sources, outputs lists).
 * Header-only; the caller owns the array and serialises access to it.
 */
#ifndef MCU_PTRARRAY_H
#define MCU_PTRARRAY_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for one more element in *arr (n used of *cap). 0 or -ENOMEM. */
static inline int ptrarray_reserve(void ***arr, int n, int *cap)
{
	if (n < *cap)
		return 0;
	int ncap = *cap ? *cap * 2 : 8;
	void **a = realloc(*arr, sizeof(void *) * (size_t)ncap);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = ncap;
	return 0;
}

/* Removes the first occurrence of p, keeping the order. */
static inline void ptrarray_remove(void **arr, int *n, const void *p)
{
	for (int i = 0; i < *n; i++) {
		if (arr[i] == p) {
			memmove(&arr[i], &arr[i + 1], sizeof(void *) * (size_t)(*n - i - 1));
			(*n)--;
			return;
		}
	}
}

#endif
