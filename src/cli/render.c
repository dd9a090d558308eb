/* mira render: a talking-avatar video from the command line, through the
 * same engine as the server's video jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "blob/blob.h"
#include "cli/cli.h"
#include "core/error.h"
#include "engines/face/avatar.h"
#include "engines/render.h"
#include "engines/speech/catalog.h"
#include "store/store.h"

static const char *usage_render =
    "usage: mira render (--avatar ID|NAME | --photo FILE) (--text TEXT [--voice ID] | --audio FILE)\n"
    "                   --out FILE.mp4 [--thumb FILE.jpg] [--vtt FILE.vtt] [--full]\n"
    "                   [--preset P] [--crf N] [--seed N] [--size WxH] [--data DIR]\n"
    "  --avatar   an avatar id from the server's data directory (--data, default ./data),\n"
    "             or the name of an illustrated stock avatar (Ava, ...: see `mira render --list`)\n"
    "  --photo    make an avatar from a photo on the fly (one clear, front-facing face)\n"
    "  --voice    as for `mira speak`; default: the avatar's own voice, else the default English one\n"
    "  --full     animate the whole frame (im2vid_full), not only the head\n"
    "  --preset --crf   x264 settings (default veryfast, 23); --size: illustrated avatars only\n";

typedef struct opts {
  const char *avatar, *photo, *text, *voice, *audio, *out, *thumb, *vtt, *preset, *data, *size;
  int full, crf, list;
  unsigned long long seed;
} opts;

static int parse(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->data = getenv("MIRA_DATA");
  if (!o->data || !*o->data) o->data = "./data";
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) return fputs(usage_render, stdout), 0;
    if (!strcmp(a, "--full")) { o->full = 1; continue; }
    if (!strcmp(a, "--list")) { o->list = 1; continue; }
    const char **slot = !strcmp(a, "--avatar") ? &o->avatar : !strcmp(a, "--photo") ? &o->photo
                        : !strcmp(a, "--text") ? &o->text : !strcmp(a, "--voice") ? &o->voice
                        : !strcmp(a, "--audio") ? &o->audio : !strcmp(a, "--out") ? &o->out
                        : !strcmp(a, "--thumb") ? &o->thumb : !strcmp(a, "--vtt") ? &o->vtt
                        : !strcmp(a, "--preset") ? &o->preset : !strcmp(a, "--data") ? &o->data
                        : !strcmp(a, "--size") ? &o->size : NULL;
    int num = !strcmp(a, "--crf") || !strcmp(a, "--seed");
    if ((!slot && !num) || i + 1 >= argc) return fprintf(stderr, "mira render: unexpected '%s'\n%s", a, usage_render), 2;
    if (slot) *slot = argv[++i];
    else if (!strcmp(a, "--crf")) o->crf = atoi(argv[++i]);
    else o->seed = strtoull(argv[++i], NULL, 10);
  }
  if (o->list) return -1;
  if (!o->avatar == !o->photo || !o->text == !o->audio || !o->out)
    return fprintf(stderr, "mira render: give --avatar or --photo, --text or --audio, and --out\n%s", usage_render), 2;
  return -1;
}

static int list_cartoons(void) {
  for (int i = 0; i < mira_cartoon_count(); i++) {
    const mira_cartoon_info *c = mira_cartoon_info_of(i);
    printf("%-10s voice %s:%s\n", c->name, c->voice_engine, c->voice);
  }
  return 0;
}

typedef struct avatar_src {
  mira_rig rig;
  char image[1024];     /* photo path */
  char voice[64];       /* default voice spec */
  int temp_image;       /* image is ours to delete */
} avatar_src;

static int from_store(const opts *o, avatar_src *s, char *err, size_t errlen) {
  char dsn[1100], root[1100];
  mira_store *st;
  mira_avatar a;
  snprintf(dsn, sizeof dsn, "%s/mira.db", o->data);
  int rc = mira_store_open(&st, "sqlite", dsn, err, errlen);
  if (rc) return rc;
  rc = st->ops->avatar_get(st, o->avatar, NULL, &a, err, errlen);
  mira_store_close(st);
  if (rc) return mira_err(err, errlen, rc, "avatar %s: %s", o->avatar, err);
  if ((rc = mira_rig_parse(a.rig, &s->rig, err, errlen)) != 0) return rc;
  snprintf(s->voice, sizeof s->voice, "%s", a.voice_id);
  if (s->rig.kind != MIRA_RIG_PHOTO) return 0;
  mira_blob *b;
  snprintf(root, sizeof root, "%s/blobs", o->data);
  if ((rc = mira_blob_open(&b, "fs", root, err, errlen)) != 0) return rc;
  if (b->ops->path(b, s->rig.image, s->image, sizeof s->image) != 0)
    rc = mira_err(err, errlen, MIRA_ENOENT, "the avatar's photo %s is missing under %s", s->rig.image, root);
  mira_blob_close(b);
  return rc;
}

static int from_photo(const opts *o, avatar_src *s, char *err, size_t errlen) {
  mira_face_models *fm = NULL;
  mira_rgb photo = {0}, frame = {0};
  char msg[256];
  int rc = mira_face_models_load(&fm, err, errlen);
  if (!rc) rc = mira_rgb_load(o->photo, &photo, err, errlen);
  if (!rc && mira_avatar_prepare(fm, &photo, &frame, s->rig.pts, NULL, msg, sizeof msg) != MIRA_FACE_OK)
    rc = mira_err(err, errlen, MIRA_EINVAL, "%s: %s", o->photo, msg);
  if (!rc) {
    s->rig.kind = MIRA_RIG_PHOTO;
    s->rig.w = frame.w;
    s->rig.h = frame.h;
    snprintf(s->image, sizeof s->image, "%s.avatar.png", o->out);
    s->temp_image = 1;
    rc = mira_rgb_write_png(s->image, &frame, err, errlen);
  }
  mira_rgb_free(&frame);
  mira_rgb_free(&photo);
  mira_face_models_free(fm);
  return rc;
}

static int find_avatar(const opts *o, avatar_src *s, char *err, size_t errlen) {
  if (o->photo) return from_photo(o, s, err, errlen);
  for (int i = 0; i < mira_cartoon_count(); i++) {
    const mira_cartoon_info *c = mira_cartoon_info_of(i);
    if (strcasecmp(c->name, o->avatar) != 0) continue;
    s->rig = (mira_rig){.kind = MIRA_RIG_CARTOON, .index = i, .w = 512, .h = 512};
    if (o->size && sscanf(o->size, "%dx%d", &s->rig.w, &s->rig.h) != 2)
      return mira_err(err, errlen, MIRA_EINVAL, "--size must be WxH, e.g. 1280x720");
    snprintf(s->voice, sizeof s->voice, "%s:%s", c->voice_engine, c->voice);
    return 0;
  }
  if (!mira_id_valid(o->avatar))
    return mira_err(err, errlen, MIRA_ENOENT, "no avatar '%s': give an avatar id or an illustrated avatar's "
                    "name (mira render --list)", o->avatar);
  return from_store(o, s, err, errlen);
}

static void show_progress(void *ctx, int pct) {
  int *last = ctx;
  if (pct / 10 == *last / 10) return;
  *last = pct;
  fprintf(stderr, "\rrendering: %3d%%", pct);
}

static int render(const opts *o, avatar_src *s, char *err, size_t errlen) {
  char engine[32], params[600], name[96];
  mira_tts_voice v;
  const mira_catalog_entry *dflt = mira_catalog_default_for("en");
  char spec[96];
  snprintf(spec, sizeof spec, "%s", o->voice ? o->voice : s->voice[0] ? s->voice : "");
  if (!spec[0] && dflt) snprintf(spec, sizeof spec, "%s:%s", dflt->engine, dflt->voice);
  int rc = 0, last = -1;
  if (o->text) {
    rc = mira_cli_resolve_voice(spec, o->data, engine, sizeof engine, params, sizeof params, err, errlen);
    if (!rc) rc = mira_catalog_tts_voice(engine, params, &v, name, sizeof name, err, errlen);
    if (rc) return rc;
  }
  mira_render_req q = {.text = o->text, .voice = o->text ? &v : NULL, .audio_path = o->audio, .rig = &s->rig,
                       .image_path = s->image, .full = o->full, .seed = o->seed, .preset = o->preset, .crf = o->crf,
                       .out_mp4 = o->out, .out_thumb = o->thumb, .out_vtt = o->vtt, .progress = show_progress,
                       .ctx = &last};
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  q.tmp_dir = tmp;
  mira_render_result res;
  rc = mira_render_video(&q, &res, err, errlen);
  fputc('\n', stderr);
  if (rc) return rc;
  double total = res.audio_s + res.render_s + res.encode_s;
  printf("%s: %dx%d, %zu frames, %.2f s; rendered in %.2f s (%.1fx real time: audio %.2f s, frames %.2f s, "
         "encoding %.2f s)\n", o->out, res.w, res.h, res.frames, res.duration_ms / 1000.0, total,
         res.duration_ms / 1000.0 / (total > 0 ? total : 1e-9), res.audio_s, res.render_s, res.encode_s);
  return 0;
}

int mira_cli_render(int argc, char **argv) {
  opts o;
  int rc = parse(argc, argv, &o);
  if (rc >= 0) return rc;
  if (o.list) return list_cartoons();
  avatar_src s = {0};
  char err[512];
  rc = find_avatar(&o, &s, err, sizeof err);
  if (!rc) rc = render(&o, &s, err, sizeof err);
  if (s.temp_image) unlink(s.image);
  if (rc) return fprintf(stderr, "mira: %s\n", err), 1;
  return 0;
}
