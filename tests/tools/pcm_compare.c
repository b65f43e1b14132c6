/*
 * pcm_compare.c - compares two mono s16le PCM files (a reference and a test signal):
 * finds the lag (|lag| <= max) with the highest normalised cross-correlation, then prints
 *   lag=<samples> corr=<0..1> snr_db=<dB>
 * where SNR is that of the test signal against the reference after the best gain and lag.
 * Usage: pcm_compare REF.raw TEST.raw [MAX_LAG] [SKIP_SAMPLES]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

static int16_t *load(const char *path, long *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long bytes = ftell(f);
	fseek(f, 0, SEEK_SET);
	int16_t *buf = malloc((size_t)bytes + 2);
	*n = buf ? (long)fread(buf, 2, (size_t)bytes / 2, f) : 0;
	fclose(f);
	return buf;
}

/* Correlation of ref[i] with test[i + lag] over the overlap, from sample skip on. */
static double corr_at(const int16_t *r, long nr, const int16_t *t, long nt, long lag, long skip,
                      double *gain, double *snr)
{
	double rr = 0, tt = 0, rt = 0;
	for (long i = skip; i < nr; i++) {
		long j = i + lag;
		if (j < 0 || j >= nt)
			continue;
		rr += (double)r[i] * r[i];
		tt += (double)t[j] * t[j];
		rt += (double)r[i] * t[j];
	}
	if (rr <= 0 || tt <= 0)
		return 0;
	*gain = rt / tt;
	double err = rr - rt * rt / tt; /* residual energy after the best gain */
	*snr = err > 0 ? 10 * log10(rr / err) : 200;
	return rt / sqrt(rr * tt);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pcm_compare REF.raw TEST.raw [MAX_LAG] [SKIP]\n");
		return 2;
	}
	long nr, nt, maxlag = argc > 3 ? atol(argv[3]) : 4800, skip = argc > 4 ? atol(argv[4]) : 0;
	int16_t *r = load(argv[1], &nr), *t = load(argv[2], &nt);
	if (!r || !t || nr == 0 || nt == 0) {
		fprintf(stderr, "pcm_compare: cannot read input\n");
		return 2;
	}
	double best = -2, bgain = 0, bsnr = 0;
	long blag = 0;
	for (long lag = -maxlag; lag <= maxlag; lag++) {
		double g = 0, s = 0, c = corr_at(r, nr, t, nt, lag, skip, &g, &s);
		if (c > best) {
			best = c;
			blag = lag;
			bgain = g;
			bsnr = s;
		}
	}
	printf("lag=%ld corr=%.4f snr_db=%.2f gain=%.3f\n", blag, best, bsnr, bgain);
	free(r);
	free(t);
	return 0;
}
