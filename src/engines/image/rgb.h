/* 8-bit RGB images: photos in (PNG, JPEG, WebP); annotated pictures (PNG)
 * and thumbnails (JPEG, WebP) out.
 *
 *   mira_rgb im;
 *   if (mira_rgb_load("photo.jpg", &im, err, sizeof err)) fail(err);
 *   mira_gray g; mira_gray_from_rgb(im.px, im.w, im.h, im.w * 3, &g);   // OpenCV's formula
 *   mira_rgb_write_png("out.png", &im, err, sizeof err);
 *   mira_rgb_free(&im);
 *
 * JPEG goes through libjpeg-turbo with its defaults (ISLOW DCT, fancy
 * upsampling), as OpenCV's imread does, so gray pixels match OpenCV's.
 * Alpha is dropped. Sides over MIRA_IMAGE_MAX_SIDE are refused.
 * Ownership: px belongs to the struct until mira_rgb_free. Thread-safe.
 */
#ifndef MIRA_ENGINES_IMAGE_RGB_H
#define MIRA_ENGINES_IMAGE_RGB_H

#include <stddef.h>
#include <stdint.h>

typedef struct mira_rgb {
  uint8_t *px; /* w*h*3, rows packed */
  int w, h;
} mira_rgb;

int mira_rgb_load(const char *path, mira_rgb *out, char *err, size_t errlen);
int mira_rgb_write_png(const char *path, const mira_rgb *im, char *err, size_t errlen);
/* Lossy writers for thumbnails. quality: 1..100 (libjpeg's scale: 85 is a
 * good thumbnail; WebP uses libwebp's 0..100 the same way). JPEG is baseline
 * 4:2:0 with optimised Huffman tables; WebP is lossy VP8. path is created or
 * truncated and written directly (write to a temp name and rename for an
 * atomic result); on failure it is removed. Returns 0, MIRA_EINVAL (no
 * pixels, quality out of range, a side over the format's limit) or
 * MIRA_EIO (cannot write path). */
int mira_rgb_write_jpeg(const char *path, const mira_rgb *im, int quality, char *err, size_t errlen);
int mira_rgb_write_webp(const char *path, const mira_rgb *im, int quality, char *err, size_t errlen);
void mira_rgb_free(mira_rgb *im);

/* Drawing for annotated output: clipped to the image. */
void mira_rgb_rect(mira_rgb *im, int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b);
void mira_rgb_dot(mira_rgb *im, double x, double y, int radius, uint8_t r, uint8_t g, uint8_t b);

#endif
