/*
 * layers.c - the simulcast layer a tile needs (see mix/layers.h). Pure, any thread.
 */
#include <stdint.h>

#include "mix/layers.h"

static int64_t area(const struct mix_layer *l)
{
	return (int64_t)l->width * l->height;
}

int mix_layer_choose(const struct mix_layer *l, int n, int tw, int th)
{
	int best = -1, largest = -1;
	for (int i = 0; i < n; i++) {
		if (!l[i].usable || l[i].width <= 0 || l[i].height <= 0)
			continue;
		if (largest < 0 || area(&l[i]) > area(&l[largest]))
			largest = i;
		bool fills =
		    l[i].width >= MIX_LAYER_FILL * tw && l[i].height >= MIX_LAYER_FILL * th;
		if (fills && (best < 0 || area(&l[i]) < area(&l[best])))
			best = i;
	}
	return best >= 0 ? best : largest;
}
