/* Writes small valid dlib shape_predictor files, the seed corpus of
 * fuzz_shape (Debian's real model is 100 MB: far too big to mutate).
 *
 *   make_shape_seed DIR   -> DIR/shape_5p_1c.dat, DIR/shape_5p_2c_old.dat, DIR/shape_1p.dat
 *
 * The encoding is dlib 19.24's serialize.h, as shape.c documents it:
 * integers as a control byte (byte count, bit 7 = negative) plus
 * little-endian bytes; floats as mantissa (int64) and exponent (int16);
 * matrices as rows and columns (negated in the newer format) then elements.
 * Each file is loaded back with mira_shape_model_load_mem before the tool
 * reports success, so a seed the reader rejects fails the fuzz run early.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engines/face/face.h"

typedef struct buf {
  uint8_t b[1 << 16];
  size_t n;
} buf;

static void put_int(buf *o, int64_t v) {
  uint8_t neg = 0;
  uint64_t u = (uint64_t)v;
  if (v < 0) {
    neg = 0x80;
    u = 0 - u;
  }
  uint8_t bytes[8], n = 0;
  do { /* dlib writes at least one byte, even for 0 */
    bytes[n++] = (uint8_t)(u & 0xFF);
    u >>= 8;
  } while (u && n < 8);
  o->b[o->n++] = n | neg;
  memcpy(o->b + o->n, bytes, n);
  o->n += n;
}

static void put_float(buf *o, float f) {
  int e = 0;
  double m = frexp((double)f, &e); /* f = m * 2^e, 0.5 <= |m| < 1 */
  int64_t man = (int64_t)ldexp(m, 24);
  put_int(o, f == 0 ? 0 : man);
  put_int(o, f == 0 ? 0 : e - 24);
}

/* matrix<float,0,1>: newer dlib writes -rows -cols, older rows cols. */
static void put_colvec(buf *o, const float *v, int rows, int old) {
  put_int(o, old ? rows : -rows);
  put_int(o, old ? 1 : -1);
  for (int i = 0; i < rows; i++) put_float(o, v[i]);
}

typedef struct spec {
  const char *name;
  int parts, cascades, trees, depth, feats, old;
} spec;

static void build(buf *o, const spec *s) {
  float v[64];
  o->n = 0;
  put_int(o, 1); /* version */
  for (int i = 0; i < s->parts; i++) { /* a small ring of points in the unit box */
    v[2 * i] = 0.5f + 0.25f * (float)cos(i * 1.3);
    v[2 * i + 1] = 0.5f + 0.25f * (float)sin(i * 1.3);
  }
  put_colvec(o, v, 2 * s->parts, s->old);

  put_int(o, s->cascades); /* forests */
  for (int c = 0; c < s->cascades; c++) {
    put_int(o, s->trees);
    for (int t = 0; t < s->trees; t++) {
      int nsplits = (1 << s->depth) - 1;
      put_int(o, nsplits);
      for (int k = 0; k < nsplits; k++) {
        put_int(o, (k + t) % s->feats);
        put_int(o, (k * 3 + t + 1) % s->feats);
        put_float(o, (float)(k - 1) * 7.5f);
      }
      put_int(o, nsplits + 1);
      for (int l = 0; l <= nsplits; l++) {
        for (int i = 0; i < 2 * s->parts; i++) v[i] = ((l + i + c) % 5 - 2) * 0.0078125f;
        put_colvec(o, v, 2 * s->parts, s->old);
      }
    }
  }
  put_int(o, s->cascades); /* anchor_idx */
  for (int c = 0; c < s->cascades; c++) {
    put_int(o, s->feats);
    for (int f = 0; f < s->feats; f++) put_int(o, (f + c) % s->parts);
  }
  put_int(o, s->cascades); /* deltas */
  for (int c = 0; c < s->cascades; c++) {
    put_int(o, s->feats);
    for (int f = 0; f < s->feats; f++) {
      put_float(o, (f % 3 - 1) * 0.125f);
      put_float(o, (f % 4 - 2) * -0.0625f);
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_shape_seed DIR\n");
    return 2;
  }
  static const spec specs[] = {
      {"shape_5p_1c.dat", 5, 1, 2, 2, 8, 0},
      {"shape_5p_2c_old.dat", 5, 2, 2, 1, 4, 1},
      {"shape_1p.dat", 1, 1, 1, 1, 2, 0},
  };
  static buf o;
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    build(&o, &specs[i]);
    char err[256], path[4096];
    mira_shape_model *m = NULL;
    if (mira_shape_model_load_mem(o.b, o.n, &m, err, sizeof err)) {
      fprintf(stderr, "make_shape_seed: %s does not load: %s\n", specs[i].name, err);
      return 1;
    }
    if (mira_shape_model_points(m) != specs[i].parts) {
      fprintf(stderr, "make_shape_seed: %s: %d points, want %d\n", specs[i].name, mira_shape_model_points(m),
              specs[i].parts);
      return 1;
    }
    mira_shape_model_free(m);
    snprintf(path, sizeof path, "%s/%s", argv[1], specs[i].name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(o.b, 1, o.n, f) != o.n || fclose(f) != 0) {
      fprintf(stderr, "make_shape_seed: cannot write %s\n", path);
      return 1;
    }
  }
  return 0;
}
