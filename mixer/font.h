/*
 * font.h - internal 5x7 bitmap font for placeholder initials (A-Z, 0-9).
 * Read-only static data; any thread.
 */
#ifndef MIX_FONT_INTERNAL_H
#define MIX_FONT_INTERNAL_H

#include <stdint.h>

#define MIX_FONT_COLS 5
#define MIX_FONT_ROWS 7

/*
 * The glyph of c (letters of either case, digits) as MIX_FONT_ROWS rows of MIX_FONT_COLS bits, bit
 * 4 being the leftmost column; NULL for any other character.
 */
const uint8_t *mix_font_glyph(char c);

#endif
