/* PNG (libpng), JPEG (libjpeg-turbo) and WebP (libwebp) decoding to RGB;
 * PNG, JPEG and WebP encoding. */
#include "engines/image/rgb.h"

#include <errno.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "core/error.h"
#include "engines/image/gray.h"

#define MAX_FILE (256u << 20) /* compressed input larger than this is refused */
#define JPEG_MAX_SIDE 65500 /* JPEG_MAX_DIMENSION in libjpeg */

static int read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return mira_err(err, errlen, MIRA_ENOENT, "cannot open %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (n <= 0 || (unsigned long)n > MAX_FILE) {
    fclose(f);
    return mira_err(err, errlen, MIRA_EINVAL, "%s: empty or larger than %u bytes", path, MAX_FILE);
  }
  *data = malloc((size_t)n);
  int ok = *data && fread(*data, 1, (size_t)n, f) == (size_t)n;
  fclose(f);
  if (!ok) {
    free(*data);
    return mira_err(err, errlen, MIRA_EIO, "cannot read %s", path);
  }
  *len = (size_t)n;
  return 0;
}

static int size_ok(int w, int h) { return w > 0 && h > 0 && w <= MIRA_IMAGE_MAX_SIDE && h <= MIRA_IMAGE_MAX_SIDE; }

static int load_png(const uint8_t *d, size_t n, mira_rgb *out, char *err, size_t errlen) {
  png_image im = {.version = PNG_IMAGE_VERSION};
  if (!png_image_begin_read_from_memory(&im, d, n))
    return mira_err(err, errlen, MIRA_EINVAL, "not a readable PNG: %s", im.message);
  im.format = PNG_FORMAT_RGB;
  if (!size_ok((int)im.width, (int)im.height)) {
    png_image_free(&im);
    return mira_err(err, errlen, MIRA_EINVAL, "PNG is %ux%u; the limit is %d per side", im.width, im.height,
                    MIRA_IMAGE_MAX_SIDE);
  }
  out->px = malloc(PNG_IMAGE_SIZE(im));
  if (!out->px) return png_image_free(&im), MIRA_ENOMEM;
  if (!png_image_finish_read(&im, NULL, out->px, 0, NULL)) {
    free(out->px);
    out->px = NULL;
    return mira_err(err, errlen, MIRA_EINVAL, "corrupt PNG: %s", im.message);
  }
  out->w = (int)im.width, out->h = (int)im.height;
  return 0;
}

typedef struct jerr {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_jpeg_error(j_common_ptr cinfo) {
  jerr *e = (jerr *)cinfo->err;
  cinfo->err->format_message(cinfo, e->msg);
  longjmp(e->jump, 1);
}

static int load_jpeg(const uint8_t *d, size_t n, mira_rgb *out, char *err, size_t errlen) {
  struct jpeg_decompress_struct c;
  jerr e;
  uint8_t *volatile px = NULL;
  c.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = on_jpeg_error;
  if (setjmp(e.jump)) {
    jpeg_destroy_decompress(&c);
    free(px);
    return mira_err(err, errlen, MIRA_EINVAL, "corrupt JPEG: %s", e.msg);
  }
  jpeg_create_decompress(&c);
  jpeg_mem_src(&c, d, (unsigned long)n);
  jpeg_read_header(&c, TRUE);
  c.out_color_space = JCS_RGB;
  jpeg_start_decompress(&c);
  if (!size_ok((int)c.output_width, (int)c.output_height)) {
    jpeg_destroy_decompress(&c);
    return mira_err(err, errlen, MIRA_EINVAL, "JPEG is too large");
  }
  px = malloc((size_t)c.output_width * c.output_height * 3);
  if (!px) return jpeg_destroy_decompress(&c), MIRA_ENOMEM;
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = px + (size_t)c.output_scanline * c.output_width * 3;
    jpeg_read_scanlines(&c, &row, 1);
  }
  jpeg_finish_decompress(&c);
  out->w = (int)c.output_width, out->h = (int)c.output_height, out->px = px;
  jpeg_destroy_decompress(&c);
  return 0;
}

static int load_webp(const uint8_t *d, size_t n, mira_rgb *out, char *err, size_t errlen) {
  int w, h;
  if (!WebPGetInfo(d, n, &w, &h)) return mira_err(err, errlen, MIRA_EINVAL, "corrupt WebP");
  if (!size_ok(w, h)) return mira_err(err, errlen, MIRA_EINVAL, "WebP is too large");
  uint8_t *px = WebPDecodeRGB(d, n, &w, &h);
  if (!px) return mira_err(err, errlen, MIRA_EINVAL, "corrupt WebP");
  /* WebP's buffer belongs to libwebp's allocator; copy into ours. */
  out->px = malloc((size_t)w * h * 3);
  if (out->px) memcpy(out->px, px, (size_t)w * h * 3);
  WebPFree(px);
  if (!out->px) return MIRA_ENOMEM;
  out->w = w, out->h = h;
  return 0;
}

int mira_rgb_load(const char *path, mira_rgb *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  uint8_t *d = NULL; /* read_file sets both on success; this quiets gcc's -Wmaybe-uninitialized */
  size_t n = 0;
  int rc = read_file(path, &d, &n, err, errlen);
  if (rc) return rc;
  if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) rc = load_png(d, n, out, err, errlen);
  else if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) rc = load_jpeg(d, n, out, err, errlen);
  else if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) rc = load_webp(d, n, out, err, errlen);
  else rc = mira_err(err, errlen, MIRA_EINVAL, "%s is not a PNG, JPEG or WebP image", path);
  free(d);
  return rc;
}

int mira_rgb_write_png(const char *path, const mira_rgb *im, char *err, size_t errlen) {
  png_image p = {.version = PNG_IMAGE_VERSION, .width = (png_uint_32)im->w, .height = (png_uint_32)im->h,
                 .format = PNG_FORMAT_RGB};
  if (!png_image_write_to_file(&p, path, 0, im->px, 0, NULL))
    return mira_err(err, errlen, MIRA_EIO, "cannot write %s: %s", path, p.message);
  return 0;
}

static int check_lossy(const char *path, const mira_rgb *im, int quality, int max_side, char *err,
                       size_t errlen) {
  if (!im || !im->px || im->w <= 0 || im->h <= 0 || im->w > max_side || im->h > max_side)
    return mira_err(err, errlen, MIRA_EINVAL, "cannot write %s: no image, or a side over %d", path, max_side);
  if (quality < 1 || quality > 100)
    return mira_err(err, errlen, MIRA_EINVAL, "image quality must be 1..100: got %d", quality);
  return 0;
}

/* fclose, checking that everything buffered reached the file; removes it if not. */
static int finish_file(FILE *f, const char *path, int ok, char *err, size_t errlen) {
  ok = !ferror(f) && ok;
  if (fclose(f) != 0) ok = 0;
  if (ok) return 0;
  int e = errno;
  unlink(path);
  return mira_err(err, errlen, MIRA_EIO, "cannot write %s: %s", path, e ? strerror(e) : "write error");
}

static void compress_jpeg(struct jpeg_compress_struct *c, FILE *f, const mira_rgb *im, int quality) {
  jpeg_create_compress(c);
  jpeg_stdio_dest(c, f);
  c->image_width = (JDIMENSION)im->w, c->image_height = (JDIMENSION)im->h;
  c->input_components = 3, c->in_color_space = JCS_RGB;
  jpeg_set_defaults(c);
  jpeg_set_quality(c, quality, TRUE);
  c->optimize_coding = TRUE; /* a few % smaller, for free at thumbnail sizes */
  jpeg_start_compress(c, TRUE);
  while (c->next_scanline < c->image_height) {
    JSAMPROW row = im->px + (size_t)c->next_scanline * im->w * 3;
    jpeg_write_scanlines(c, &row, 1);
  }
  jpeg_finish_compress(c);
}

int mira_rgb_write_jpeg(const char *path, const mira_rgb *im, int quality, char *err, size_t errlen) {
  int rc = check_lossy(path, im, quality, JPEG_MAX_SIDE, err, errlen);
  if (rc) return rc;
  FILE *f = fopen(path, "wb");
  if (!f) return mira_err(err, errlen, MIRA_EIO, "cannot create %s: %s", path, strerror(errno));
  struct jpeg_compress_struct c;
  jerr e;
  c.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = on_jpeg_error;
  if (setjmp(e.jump)) {
    jpeg_destroy_compress(&c);
    fclose(f);
    unlink(path);
    return mira_err(err, errlen, MIRA_EIO, "cannot write %s: %s", path, e.msg);
  }
  errno = 0;
  compress_jpeg(&c, f, im, quality);
  jpeg_destroy_compress(&c);
  return finish_file(f, path, 1, err, errlen);
}

int mira_rgb_write_webp(const char *path, const mira_rgb *im, int quality, char *err, size_t errlen) {
  int rc = check_lossy(path, im, quality, WEBP_MAX_DIMENSION, err, errlen);
  if (rc) return rc;
  uint8_t *data = NULL;
  size_t n = WebPEncodeRGB(im->px, im->w, im->h, im->w * 3, (float)quality, &data);
  if (!n) return mira_err(err, errlen, MIRA_ENOMEM, "libwebp could not encode a %dx%d image", im->w, im->h);
  FILE *f = fopen(path, "wb");
  if (!f) {
    WebPFree(data);
    return mira_err(err, errlen, MIRA_EIO, "cannot create %s: %s", path, strerror(errno));
  }
  errno = 0;
  int ok = fwrite(data, 1, n, f) == n;
  WebPFree(data);
  return finish_file(f, path, ok, err, errlen);
}

void mira_rgb_free(mira_rgb *im) {
  if (!im) return;
  free(im->px);
  memset(im, 0, sizeof *im);
}

static void put(mira_rgb *im, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
  uint8_t *p = im->px + ((size_t)y * im->w + x) * 3;
  p[0] = r, p[1] = g, p[2] = b;
}

void mira_rgb_rect(mira_rgb *im, int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  for (int t = 0; t < 2; t++) { /* 2 px lines stay visible on large photos */
    for (int i = x; i < x + w; i++) put(im, i, y + t, r, g, b), put(im, i, y + h - 1 - t, r, g, b);
    for (int j = y; j < y + h; j++) put(im, x + t, j, r, g, b), put(im, x + w - 1 - t, j, r, g, b);
  }
}

void mira_rgb_dot(mira_rgb *im, double x, double y, int radius, uint8_t r, uint8_t g, uint8_t b) {
  int cx = (int)(x + 0.5), cy = (int)(y + 0.5);
  for (int j = -radius; j <= radius; j++)
    for (int i = -radius; i <= radius; i++)
      if (i * i + j * j <= radius * radius) put(im, cx + i, cy + j, r, g, b);
}
