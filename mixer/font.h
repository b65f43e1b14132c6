/*
 * font.h - internal 5x7 bitmap font for placeholder initials and tile name labels: printable
 * ASCII (0x20..0x7e: letters of both cases, digits, punctuation) and an ellipsis, and the
 * mapping of UTF-8 names onto it. Read-only static data; any thread.
 */
#ifndef MIX_FONT_INTERNAL_H
#define MIX_FONT_INTERNAL_H

#include <stdint.h>

#define MIX_FONT_COLS 5
#define MIX_FONT_ROWS 7

/* Rows below the baseline that descending letters reach: a line of text is 9 rows high. */
#define MIX_FONT_DESCENT 2

/* The ellipsis glyph's code (DEL, never printable text): marks a truncated label. */
#define MIX_FONT_ELLIPSIS '\x7f'

/*
 * The glyph of c (printable ASCII or MIX_FONT_ELLIPSIS) as MIX_FONT_ROWS rows of MIX_FONT_COLS
 * bits, bit 4 being the leftmost column; NULL for any other byte (controls, bytes >= 0x80).
 */
const uint8_t *mix_font_glyph(char c);

/* Rows lower than the others that c's glyph is drawn: MIX_FONT_DESCENT for g p q y, else 0. */
int mix_font_descent(char c);

/*
 * Writes the displayable form of a UTF-8 display name into out (at most max - 1 bytes and a
 * NUL): printable ASCII is kept; runs of spaces and control characters become one space,
 * trimmed at both ends; a Latin-1 letter (U+00C0..U+00FF, e.g. "\xc3\xa9") becomes its base
 * letter ("e"); any other multibyte character, and any byte that is not valid UTF-8, becomes
 * one '?', except a sequence cut short at the end (a name truncated to a byte count), which is
 * dropped. name may be NULL; out may be NULL or max < 1 (nothing written). Returns the length
 * written.
 */
int mix_font_text(const char *name, char *out, int max);

#endif
