/* PNG to 8-bit gray, the way OpenCV's imread(IMREAD_COLOR) + cvtColor(BGR2GRAY)
 * sees it: libpng's low-level API with the same transforms OpenCV asks for
 * (16-bit samples truncated to their high byte, palette and low-bit gray
 * expanded, alpha dropped, no gamma handling), then the fixed-point formula
 * of gray.h. Gray PNGs therefore come back with their stored bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "core/error.h"
#include "engines/image/gray.h"

/* OpenCV's cvtColor(BGR2GRAY) for 8-bit data: 15-bit fixed-point weights. */
#define GRAY_R 9798
#define GRAY_G 19235
#define GRAY_B 3735
#define GRAY_SHIFT 15

static inline uint8_t rgb_to_gray(const uint8_t *p) {
  return (uint8_t)((GRAY_R * p[0] + GRAY_G * p[1] + GRAY_B * p[2] + (1 << (GRAY_SHIFT - 1))) >> GRAY_SHIFT);
}

int mira_gray_from_rgb(const uint8_t *rgb, int w, int h, int stride, mira_gray *out) {
  if (!rgb || !out || w <= 0 || h <= 0 || w > MIRA_IMAGE_MAX_SIDE || h > MIRA_IMAGE_MAX_SIDE || stride < 3 * w)
    return MIRA_EINVAL;
  uint8_t *px = malloc((size_t)w * h);
  if (!px) return MIRA_ENOMEM;
  for (int y = 0; y < h; y++) {
    const uint8_t *s = rgb + (size_t)y * stride;
    uint8_t *d = px + (size_t)y * w;
    for (int x = 0; x < w; x++) d[x] = rgb_to_gray(s + 3 * x);
  }
  out->px = px;
  out->w = w;
  out->h = h;
  out->stride = w;
  return 0;
}

void mira_gray_free(mira_gray *g) {
  if (!g) return;
  free(g->px);
  g->px = NULL;
  g->w = g->h = g->stride = 0;
}

typedef struct png_job {
  char msg[200];
  uint8_t *buf;   /* decoded rows: 1 or 3 bytes per pixel */
  png_bytep *rows;
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
  png_job *j = png_get_error_ptr(png);
  snprintf(j->msg, sizeof j->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

int mira_gray_load_png(const char *path, mira_gray *out, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return mira_err(err, errlen, MIRA_ENOENT, "png: cannot open %s: %s", path, strerror(errno));
  uint8_t sig[8];
  if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
    fclose(f);
    return mira_err(err, errlen, MIRA_ETYPE, "png: %s is not a PNG file", path);
  }
  png_job *j = calloc(1, sizeof *j);
  png_structp png = j ? png_create_read_struct(PNG_LIBPNG_VER_STRING, j, on_error, on_warning) : NULL;
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
    free(j);
    fclose(f);
    return mira_err(err, errlen, MIRA_ENOMEM, "png: out of memory");
  }
  if (setjmp(png_jmpbuf(png))) {
    int rc = mira_err(err, errlen, MIRA_EINVAL, "png: %s: %s", path, j->msg[0] ? j->msg : "decode error");
    png_destroy_read_struct(&png, &info, NULL);
    free(j->rows);
    free(j->buf);
    free(j);
    fclose(f);
    return rc;
  }
  png_init_io(png, f);
  png_set_sig_bytes(png, 8);
  png_set_user_limits(png, MIRA_IMAGE_MAX_SIDE, MIRA_IMAGE_MAX_SIDE);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int depth = png_get_bit_depth(png, info), ctype = png_get_color_type(png, info);
  if (depth == 16) png_set_strip_16(png);
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (ctype & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int ch = png_get_channels(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if ((ch != 1 && ch != 3) || png_get_bit_depth(png, info) != 8 || rowbytes < (size_t)w * ch) {
    snprintf(j->msg, sizeof j->msg, "unsupported layout (%d channels)", ch);
    png_longjmp(png, 1);
  }
  j->buf = malloc(rowbytes * h);
  j->rows = malloc(sizeof *j->rows * h);
  if (!j->buf || !j->rows) {
    snprintf(j->msg, sizeof j->msg, "out of memory for %ux%u", (unsigned)w, (unsigned)h);
    png_longjmp(png, 1);
  }
  for (png_uint_32 y = 0; y < h; y++) j->rows[y] = j->buf + rowbytes * y;
  png_read_image(png, j->rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(f);

  int rc = 0;
  if (ch == 3) {
    rc = mira_gray_from_rgb(j->buf, (int)w, (int)h, (int)rowbytes, out);
    if (rc) rc = mira_err(err, errlen, rc, "png: %s: cannot convert to gray", path);
    free(j->buf);
  } else {
    /* compact rows in place to stride == w */
    for (png_uint_32 y = 1; y < h; y++) memmove(j->buf + (size_t)y * w, j->rows[y], w);
    out->px = j->buf;
    out->w = (int)w;
    out->h = (int)h;
    out->stride = (int)w;
  }
  free(j->rows);
  free(j);
  return rc;
}
