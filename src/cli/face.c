/* mira face IMAGE [--out annotated.png] [--json] [--cascade FILE] [--box x,y,w,h] */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engines/face/face.h"
#include "engines/image/rgb.h"

static const char *usage_face =
    "usage: mira face IMAGE [--out ANNOTATED.png] [--json] [--cascade FILE] [--box x,y,w,h] [--model FILE]\n"
    "  Detects faces (OpenCV-compatible cascade, detectMultiScale(1.1, 3, 30x30)) and fits dlib's\n"
    "  68 landmarks in each box. IMAGE: PNG, JPEG or WebP.\n"
    "  --json     {\"faces\":[{\"box\":[x,y,w,h],\"landmarks\":[[x,y],...68],\"roll\":..,\"yaw\":..}],\"verdict\":\"...\"}\n"
    "  --out      the image with boxes (green) and landmarks (red)\n"
    "  --cascade  another cascade XML (default " MIRA_FACE_DEFAULT_CASCADE ")\n"
    "  --box      skip detection and fit the landmarks in this box\n"
    "  --model    another shape model (default " MIRA_FACE_DEFAULT_SHAPE_MODEL ")\n";

typedef struct face_opts {
  const char *image, *out, *cascade, *model, *box;
  int json;
} face_opts;

static int parse_args(int argc, char **argv, face_opts *o) {
  *o = (face_opts){.cascade = MIRA_FACE_DEFAULT_CASCADE, .model = MIRA_FACE_DEFAULT_SHAPE_MODEL};
  for (int i = 0; i < argc; i++) {
    const char **slot = !strcmp(argv[i], "--out") ? &o->out : !strcmp(argv[i], "--cascade") ? &o->cascade
                        : !strcmp(argv[i], "--box") ? &o->box : !strcmp(argv[i], "--model") ? &o->model : NULL;
    if (!strcmp(argv[i], "--help")) return fputs(usage_face, stdout), 0;
    if (!strcmp(argv[i], "--json")) o->json = 1;
    else if (slot && i + 1 < argc) *slot = argv[++i];
    else if (argv[i][0] != '-' && !o->image) o->image = argv[i];
    else return fprintf(stderr, "mira face: unexpected '%s'\n%s", argv[i], usage_face), 2;
  }
  if (!o->image) return fprintf(stderr, "mira face: give an IMAGE\n%s", usage_face), 2;
  return -1; /* go on */
}

static int find_faces(const face_opts *o, const mira_gray *g, mira_face_box **boxes, size_t *n) {
  char err[512];
  if (o->box) {
    *boxes = malloc(sizeof **boxes);
    if (!*boxes) return 1;
    if (sscanf(o->box, "%d,%d,%d,%d", &(*boxes)->x, &(*boxes)->y, &(*boxes)->w, &(*boxes)->h) != 4 ||
        (*boxes)->w <= 0 || (*boxes)->h <= 0)
      return fprintf(stderr, "mira face: --box must be x,y,w,h with positive w and h\n"), 2;
    *n = 1;
    return 0;
  }
  mira_cascade *c;
  if (mira_cascade_load(o->cascade, &c, err, sizeof err)) return fprintf(stderr, "mira: %s\n", err), 1;
  int rc = mira_face_detect(c, g, &mira_face_detect_defaults, boxes, n, err, sizeof err);
  mira_cascade_free(c);
  if (rc) return fprintf(stderr, "mira: %s\n", err), 1;
  return 0;
}

static json_t *face_json(const mira_face_box *b, const mira_point *p) {
  json_t *pts = json_array();
  for (int i = 0; i < MIRA_FACE_POINTS; i++)
    json_array_append_new(pts, json_pack("[i,i]", (int)floor(p[i].x + 0.5), (int)floor(p[i].y + 0.5)));
  mira_face_pose pose;
  mira_face_pose_of(p, &pose);
  return json_pack("{s:[i,i,i,i],s:o,s:f,s:f}", "box", b->x, b->y, b->w, b->h, "landmarks", pts, "roll",
                   round(pose.roll_deg * 10) / 10, "yaw", round(pose.yaw_deg * 10) / 10);
}

static void print_text(const mira_face_box *boxes, size_t n, const mira_point *pts, const char *verdict) {
  for (size_t i = 0; i < n; i++) {
    const mira_point *p = pts + i * MIRA_FACE_POINTS;
    mira_face_pose pose;
    mira_face_pose_of(p, &pose);
    printf("face %zu: box %d,%d,%d,%d  roll %.1f°  yaw %.1f°\n  landmarks:", i + 1, boxes[i].x, boxes[i].y,
           boxes[i].w, boxes[i].h, pose.roll_deg, pose.yaw_deg);
    for (int k = 0; k < MIRA_FACE_POINTS; k++)
      printf("%s%d,%d", k % 12 ? " " : "\n   ", (int)floor(p[k].x + 0.5), (int)floor(p[k].y + 0.5));
    printf("\n");
  }
  printf("%zu face%s; for an avatar: %s\n", n, n == 1 ? "" : "s", verdict);
}

static int annotate(const char *path, mira_rgb *im, const mira_face_box *boxes, size_t n, const mira_point *pts) {
  char err[256];
  for (size_t i = 0; i < n; i++) {
    mira_rgb_rect(im, boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h, 40, 220, 60);
    int r = boxes[i].w > 200 ? 3 : 2;
    for (int k = 0; k < MIRA_FACE_POINTS; k++)
      mira_rgb_dot(im, pts[i * MIRA_FACE_POINTS + k].x, pts[i * MIRA_FACE_POINTS + k].y, r, 230, 30, 30);
  }
  if (mira_rgb_write_png(path, im, err, sizeof err)) return fprintf(stderr, "mira: %s\n", err), 1;
  return 0;
}

/* The avatar-creation verdict, with the eye check that weeds out the
 * frontal cascade's false positives. */
static void judge(const mira_gray *g, const mira_face_box *boxes, size_t n, const mira_point *pts, char *verdict,
                  size_t len) {
  mira_cascade *eyes = NULL;
  char err[256];
  int *has = calloc(n ? n : 1, sizeof *has);
  if (!has || mira_cascade_load(MIRA_FACE_EYE_CASCADE, &eyes, err, sizeof err)) {
    snprintf(verdict, len, "unknown (%.200s)", has ? err : "out of memory");
  } else {
    size_t main;
    for (size_t i = 0; i < n; i++) has[i] = mira_face_has_eyes(eyes, g, &boxes[i]);
    mira_face_judge(boxes, has, n, pts, &main, verdict, len);
  }
  mira_cascade_free(eyes);
  free(has);
}

int mira_cli_face(int argc, char **argv) {
  face_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  char err[512], verdict[256];
  mira_rgb im;
  mira_gray g;
  mira_shape_model *m = NULL;
  mira_face_box *boxes = NULL;
  mira_point *pts = NULL;
  size_t n = 0;
  if (mira_rgb_load(o.image, &im, err, sizeof err)) return fprintf(stderr, "mira: %s\n", err), 1;
  rc = mira_gray_from_rgb(im.px, im.w, im.h, im.w * 3, &g) ? 1 : find_faces(&o, &g, &boxes, &n);
  if (rc == 0 && mira_shape_model_load(o.model, &m, err, sizeof err)) {
    fprintf(stderr, "mira: %s\n", err);
    rc = 1;
  }
  if (rc == 0 && n && !(pts = calloc(n * MIRA_FACE_POINTS, sizeof *pts))) rc = 1;
  for (size_t i = 0; rc == 0 && i < n; i++) mira_face_landmarks(m, &g, &boxes[i], pts + i * MIRA_FACE_POINTS);
  if (rc == 0) {
    judge(&g, boxes, n, pts, verdict, sizeof verdict);
    if (o.json) {
      json_t *faces = json_array();
      for (size_t i = 0; i < n; i++) json_array_append_new(faces, face_json(&boxes[i], pts + i * MIRA_FACE_POINTS));
      json_t *doc = json_pack("{s:o,s:s}", "faces", faces, "verdict", verdict);
      json_dumpf(doc, stdout, JSON_COMPACT);
      printf("\n");
      json_decref(doc);
    } else {
      print_text(boxes, n, pts, verdict);
    }
    if (o.out) rc = annotate(o.out, &im, boxes, n, pts);
  }
  free(pts);
  free(boxes);
  mira_shape_model_free(m);
  mira_gray_free(&g);
  mira_rgb_free(&im);
  return rc;
}
