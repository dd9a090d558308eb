/* 8-bit grayscale images: the input of the face engines.
 *
 *   mira_gray g;
 *   if (mira_gray_load_png("face.gray.png", &g, err, sizeof err)) fail(err);
 *   ... g.px[y * g.stride + x] ...
 *   mira_gray_free(&g);
 *
 * Colour inputs are converted exactly as OpenCV's cvtColor(BGR2GRAY) does for
 * 8-bit data: gray = (9798 R + 19235 G + 3735 B + 16384) >> 15, so results
 * match the reference implementations pixel for pixel.
 * Ownership: px belongs to the struct until mira_gray_free. Thread-safe.
 */
#ifndef MIRA_ENGINES_IMAGE_GRAY_H
#define MIRA_ENGINES_IMAGE_GRAY_H

#include <stddef.h>
#include <stdint.h>

#define MIRA_IMAGE_MAX_SIDE 16384 /* refuse larger images: hostile input */

typedef struct mira_gray {
  uint8_t *px;
  int w, h, stride;
} mira_gray;

/* Loads any PNG (gray, RGB, RGBA, palette, 16-bit) as 8-bit gray. */
int mira_gray_load_png(const char *path, mira_gray *out, char *err, size_t errlen);
/* Converts interleaved 8-bit RGB (3 bytes/pixel) with the formula above. */
int mira_gray_from_rgb(const uint8_t *rgb, int w, int h, int stride, mira_gray *out);
void mira_gray_free(mira_gray *g);

#endif
