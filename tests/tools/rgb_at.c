/*
 * rgb_at.c - prints the average colour of a small square of a raw rgb24 frame:
 *   rgb_at FRAME.rgb WIDTH HEIGHT X Y [HALF]   ->   "R G B"
 * averaging the (2*HALF+1)^2 pixels around (X, Y) (HALF defaults to 4).
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: rgb_at FRAME.rgb W H X Y [HALF]\n");
		return 2;
	}
	long w = atol(argv[2]), h = atol(argv[3]), x = atol(argv[4]), y = atol(argv[5]);
	long half = argc > 6 ? atol(argv[6]) : 4;
	FILE *f = fopen(argv[1], "rb");
	if (!f || w <= 0 || h <= 0 || x < half || y < half || x + half >= w || y + half >= h) {
		fprintf(stderr, "rgb_at: bad file or coordinates\n");
		return 2;
	}
	unsigned char *buf = malloc((size_t)(w * h * 3));
	if (!buf || fread(buf, 3, (size_t)(w * h), f) != (size_t)(w * h)) {
		fprintf(stderr, "rgb_at: short frame\n");
		return 2;
	}
	long sum[3] = {0, 0, 0}, n = 0;
	for (long yy = y - half; yy <= y + half; yy++)
		for (long xx = x - half; xx <= x + half; xx++, n++)
			for (int c = 0; c < 3; c++)
				sum[c] += buf[(yy * w + xx) * 3 + c];
	printf("%ld %ld %ld\n", sum[0] / n, sum[1] / n, sum[2] / n);
	fclose(f);
	free(buf);
	return 0;
}
