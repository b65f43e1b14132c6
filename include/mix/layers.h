/*
 * layers.h - which simulcast layer of a sender to decode for the tile it fills: pure
 * arithmetic, no state, any thread. Tiles are centre-cropped (mix/compose.h), so a layer fills
 * a tile when both its sides reach the tile's, within MIX_LAYER_FILL (LiveKit's tolerance).
 */
#ifndef MIX_LAYERS_H
#define MIX_LAYERS_H

#include <stdbool.h>

#define MIX_LAYER_FILL 0.9

/* One layer as the caller knows it: its size (0 x 0 unknown) and whether it may be chosen. */
struct mix_layer {
	int width, height;
	bool usable;
};

/*
 * The index of the smallest usable layer of a known size that fills a tile of tw x th; the
 * largest if none does; the smallest when tw or th is 0 (the sender is shown nowhere); -1 if no
 * layer is usable.
 */
int mix_layer_choose(const struct mix_layer *l, int n, int tw, int th);

#endif
