/* Script or audio track -> talking-avatar MP4; see render.h. */
#include "engines/render.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/wav.h"
#include "engines/audio/audio.h"
#include "engines/video/video.h"

#define DEFAULT_PRESET "veryfast"
#define DEFAULT_CRF 23
#define THUMB_QUALITY 88

typedef struct job {
  const mira_render_req *q;
  mira_render_plan *p;
} job;

static void progress(const mira_render_req *q, int pct) {
  if (q->progress) q->progress(q->ctx, pct);
}

static int stopping(const mira_render_req *q) { return q->should_stop && q->should_stop(q->ctx); }

/* The synthesised speech goes through the same decoder as an upload: one
 * resampler, one loudness step, for both sources. */
static int speech_pcm(job *j, char *err, size_t errlen) {
  const mira_render_req *q = j->q;
  int rc = mira_speech_synth(q->voice, q->text, &j->p->sp, err, errlen);
  if (rc) return rc;
  char wav[1024];
  snprintf(wav, sizeof wav, "%s/render-speech-XXXXXX", q->tmp_dir ? q->tmp_dir : "/tmp");
  int fd = mkstemp(wav);
  if (fd < 0) return mira_err(err, errlen, MIRA_EIO, "cannot create a temp file in %s", q->tmp_dir);
  close(fd);
  rc = mira_wav_write(wav, j->p->sp.pcm, j->p->sp.samples, j->p->sp.sample_rate, err, errlen);
  if (!rc) rc = mira_audio_decode(wav, MIRA_RENDER_AUDIO_RATE, MIRA_AUDIO_MAX_SECONDS, &j->p->pcm, err, errlen);
  unlink(wav);
  return rc;
}

static void script_visemes(job *j) {
  const char *engine = j->q->voice ? j->q->voice->engine : NULL;
  size_t k = 0;
  for (size_t i = 0; i < j->p->mt.frames; i++) {
    int32_t t = (int32_t)(i * j->p->mt.frame_ms + j->p->mt.frame_ms / 2);
    while (k < j->p->sp.nphonemes && j->p->sp.phonemes[k].end_ms <= t) k++;
    const mira_phoneme_event *p = k < j->p->sp.nphonemes ? &j->p->sp.phonemes[k] : NULL;
    j->p->mt.viseme[i] = p && p->start_ms <= t ? mira_viseme_of(engine, p->name) : MIRA_VISEME_SIL;
  }
}

/* An empty 10 ms track covering the audio, for visemes from elsewhere. */
static int track_alloc(const mira_pcm *pcm, mira_mouth_track *t) {
  size_t n = mira_audio_frames(pcm, MIRA_ANIM_TRACK_MS);
  *t = (mira_mouth_track){.frames = n, .frame_ms = MIRA_ANIM_TRACK_MS};
  t->open = calloc(n ? n : 1, sizeof *t->open);
  t->viseme = calloc(n ? n : 1, sizeof *t->viseme);
  return t->open && t->viseme ? 0 : MIRA_ENOMEM;
}

/* Recognised phones beat the spectral guess (tests/unit/test_phones.c), so
 * the guess is only computed without the model. *trust: how far the
 * visemes may shape the opening. */
#define TRUST_PHONES 0.25f
#define TRUST_GUESS 0.1f
static int upload_visemes(job *j, float *trust, char *err, size_t errlen) {
  mira_phone_track pt;
  char why[256];
  if (mira_audio_phones(&j->p->pcm, &pt, why, sizeof why) != 0) {
    *trust = TRUST_GUESS;
    return mira_audio_mouth_track(&j->p->pcm, MIRA_ANIM_TRACK_MS, &j->p->mt, err, errlen);
  }
  *trust = TRUST_PHONES;
  int rc = track_alloc(&j->p->pcm, &j->p->mt);
  if (!rc) mira_phone_track_visemes(&pt, j->p->mt.frame_ms, j->p->mt.viseme, j->p->mt.frames);
  mira_phone_track_free(&pt);
  return rc ? mira_err(err, errlen, rc, "out of memory for the viseme track") : 0;
}

/* Visemes from the script's phonemes or the upload's sound, then the
 * loudness into the track's `open`, then one pose per frame. */
static int analyse(job *j, char *err, size_t errlen) {
  const mira_render_req *q = j->q;
  mira_mouth_track *mt = &j->p->mt;
  float trust = 1;
  int rc;
  if (q->text) {
    rc = track_alloc(&j->p->pcm, mt);
    if (rc) return mira_err(err, errlen, rc, "out of memory for the viseme track");
    script_visemes(j);
  } else if ((rc = upload_visemes(j, &trust, err, errlen)) != 0) {
    return rc;
  }
  if ((rc = mira_audio_envelope(&j->p->pcm, MIRA_ANIM_TRACK_MS, mt->open, mt->frames, err, errlen)) != 0) return rc;
  mira_anim_input in = {.viseme = mt->viseme, .energy = mt->open, .n10 = mt->frames, .viseme_trust = trust,
                        .duration_ms = mira_pcm_duration_ms(&j->p->pcm), .seed = q->seed, .full = q->full};
  return mira_anim_plan(&in, MIRA_ANIM_FPS, &j->p->poses, &j->p->frames, err, errlen);
}

static int write_thumb(const mira_render_req *q, mira_avatar_renderer *r, uint8_t *rgb, char *err,
                       size_t errlen) {
  mira_anim_pose pose = {.open = 0.15f, .wide = 0.3f}; /* a friendly half-smile, eyes open */
  int rc = r->render(r, &pose, rgb, r->w * 3);
  if (rc) return mira_err(err, errlen, rc, "rendering the thumbnail failed");
  mira_rgb im = {rgb, r->w, r->h};
  return mira_rgb_write_jpeg(q->out_thumb, &im, THUMB_QUALITY, err, errlen);
}

/* ---- rendering ahead ----
 * One thread draws frames into a small ring, and converts them to the
 * encoder's yuv420p, while the caller encodes: x264 cannot keep two cores
 * busy on its own at these sizes, and drawing and converting then cost
 * almost no wall time. The renderer is only ever used by the drawing thread
 * while it runs. */
#define AHEAD 3

typedef struct ahead {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  mira_avatar_renderer *r;
  const mira_anim_pose *poses;
  size_t frames, produced, consumed;
  uint8_t *rgb;            /* the frame being drawn */
  uint8_t *slot[AHEAD];    /* converted frames */
  mira_video_converter *conv;
  int quit, rc;
  double render_s;
} ahead;

static void *ahead_main(void *arg) {
  ahead *a = arg;
  for (size_t i = 0; i < a->frames; i++) {
    pthread_mutex_lock(&a->mu);
    while (i - a->consumed >= AHEAD && !a->quit) pthread_cond_wait(&a->cv, &a->mu);
    int quit = a->quit;
    pthread_mutex_unlock(&a->mu);
    if (quit) break;
    uint64_t t0 = mira_mono_ns();
    int rc = a->r->render(a->r, &a->poses[i], a->rgb, a->r->w * 3);
    if (!rc) mira_video_convert(a->conv, a->rgb, a->r->w * 3, a->slot[i % AHEAD]);
    pthread_mutex_lock(&a->mu);
    a->render_s += (mira_mono_ns() - t0) / 1e9;
    if (rc) a->rc = rc;
    else a->produced = i + 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (rc) break;
  }
  return NULL;
}

/* Frame i once drawn, or NULL when drawing failed (a->rc). */
static const uint8_t *ahead_take(ahead *a, size_t i) {
  pthread_mutex_lock(&a->mu);
  while (a->produced <= i && !a->rc) pthread_cond_wait(&a->cv, &a->mu);
  const uint8_t *f = a->produced > i ? a->slot[i % AHEAD] : NULL;
  pthread_mutex_unlock(&a->mu);
  return f;
}

static void ahead_release(ahead *a) {
  pthread_mutex_lock(&a->mu);
  a->consumed++;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
}

static int ahead_start(ahead *a, mira_avatar_renderer *r, const mira_render_plan *p, char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  a->r = r, a->poses = p->poses, a->frames = p->frames;
  int rc = mira_video_converter_new(r->w, r->h, &a->conv, err, errlen);
  if (rc) return rc;
  a->rgb = malloc((size_t)r->w * r->h * 3);
  for (int k = 0; k < AHEAD; k++) a->slot[k] = malloc(mira_video_yuv_bytes(r->w, r->h));
  for (int k = 0; k < AHEAD; k++)
    if (!a->rgb || !a->slot[k]) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory for %dx%d frames", r->w, r->h);
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  if (pthread_create(&a->th, NULL, ahead_main, a) != 0) {
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    return mira_err(err, errlen, MIRA_ENOMEM, "cannot start the drawing thread");
  }
  return 0;
}

static void ahead_stop(ahead *a) {
  pthread_mutex_lock(&a->mu);
  a->quit = 1;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
  pthread_join(a->th, NULL);
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
}

static void ahead_free(ahead *a) {
  for (int k = 0; k < AHEAD; k++) free(a->slot[k]);
  free(a->rgb);
  mira_video_converter_free(a->conv);
}

static int encode_loop(job *j, ahead *a, mira_video_writer *w, mira_render_result *res, char *err, size_t errlen) {
  const mira_render_req *q = j->q;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < j->p->frames; i++) {
    if (stopping(q)) return mira_err(err, errlen, MIRA_EBUSY, "stopped: the server is shutting down");
    const uint8_t *f = ahead_take(a, i);
    if (!f) return mira_err(err, errlen, a->rc, "rendering frame %zu failed", i);
    uint64_t t0 = mira_mono_ns();
    rc = mira_video_write_yuv(w, f, err, errlen);
    res->encode_s += (mira_mono_ns() - t0) / 1e9;
    ahead_release(a);
    progress(q, 15 + (int)(84 * (i + 1) / j->p->frames));
  }
  return rc;
}

static int encode_frames(job *j, mira_avatar_renderer *r, mira_render_result *res, char *err, size_t errlen) {
  const mira_render_req *q = j->q;
  mira_video_params vp = {.w = r->w, .h = r->h, .fps = MIRA_ANIM_FPS, .crf = q->crf ? q->crf : DEFAULT_CRF,
                          .preset = q->preset ? q->preset : DEFAULT_PRESET, .audio = j->p->pcm.samples,
                          .audio_samples = j->p->pcm.n, .audio_rate = j->p->pcm.sample_rate};
  mira_video_writer *w = NULL;
  ahead a;
  int rc = ahead_start(&a, r, j->p, err, errlen);
  if (rc) {
    ahead_free(&a);
    return rc;
  }
  rc = mira_video_open(q->out_mp4, &vp, &w, err, errlen);
  if (!rc) rc = encode_loop(j, &a, w, res, err, errlen);
  ahead_stop(&a);
  res->render_s = a.render_s;
  if (!rc) rc = mira_video_close(w, err, errlen);
  else if (w) mira_video_abort(w);
  if (!rc && q->out_thumb) rc = write_thumb(q, r, a.rgb, err, errlen);
  ahead_free(&a);
  return rc;
}

static int write_vtt(const job *j, const char *path, char *err, size_t errlen) {
  char *vtt;
  int rc = mira_captions_vtt(j->q->text, j->p->sp.words, j->p->sp.nwords, &vtt, err, errlen);
  if (rc) return rc;
  FILE *f = fopen(path, "wb");
  if (!f || fputs(vtt, f) < 0 || fclose(f) != 0) {
    free(vtt);
    return mira_err(err, errlen, MIRA_EIO, "cannot write captions to %s", path);
  }
  free(vtt);
  return 0;
}

static int prepare(job *j, mira_render_result *res, char *err, size_t errlen) {
  const mira_render_req *q = j->q;
  uint64_t t0 = mira_mono_ns();
  int rc = q->text ? speech_pcm(j, err, errlen)
                   : mira_audio_decode(q->audio_path, MIRA_RENDER_AUDIO_RATE, MIRA_AUDIO_MAX_SECONDS, &j->p->pcm, err, errlen);
  if (rc) return rc;
  mira_audio_normalize(&j->p->pcm, MIRA_AUDIO_TARGET_LUFS);
  res->duration_ms = mira_pcm_duration_ms(&j->p->pcm);
  res->audio_s = (mira_mono_ns() - t0) / 1e9;
  progress(q, 10);
  if ((rc = analyse(j, err, errlen)) != 0) return rc;
  progress(q, 15);
  return 0;
}

static int bad_request(const mira_render_req *q, int need_output) {
  return !q || (need_output && (!q->rig || !q->out_mp4)) || (!q->text == !q->audio_path) || (q->text && !q->voice);
}

int mira_render_prepare(const mira_render_req *q, mira_render_plan *p, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  if (bad_request(q, 0))
    return mira_err(err, errlen, MIRA_EINVAL, "render: give either a script with a voice or an audio track");
  job j = {.q = q, .p = p};
  mira_render_result res;
  int rc = prepare(&j, &res, err, errlen);
  if (rc) mira_render_plan_free(p);
  return rc;
}

void mira_render_plan_free(mira_render_plan *p) {
  mira_pcm_free(&p->pcm);
  mira_speech_free(&p->sp);
  mira_mouth_track_free(&p->mt);
  free(p->poses);
  memset(p, 0, sizeof *p);
}

static int run(job *j, mira_render_result *res, char *err, size_t errlen) {
  const mira_render_req *q = j->q;
  int rc = prepare(j, res, err, errlen);
  if (rc) return rc;
  mira_avatar_renderer *r;
  if ((rc = mira_rig_renderer(q->rig, q->image_path, q->full, &r, err, errlen)) != 0) return rc;
  res->w = r->w;
  res->h = r->h;
  res->frames = j->p->frames;
  rc = encode_frames(j, r, res, err, errlen);
  r->destroy(r);
  if (!rc && q->text && q->out_vtt && (rc = write_vtt(j, q->out_vtt, err, errlen)) == 0) res->wrote_vtt = 1;
  return rc;
}

int mira_render_video(const mira_render_req *q, mira_render_result *res, char *err, size_t errlen) {
  memset(res, 0, sizeof *res);
  if (bad_request(q, 1))
    return mira_err(err, errlen, MIRA_EINVAL, "render: give an avatar rig, an output and either a script "
                    "with a voice or an audio track");
  mira_render_plan plan = {0};
  job j = {.q = q, .p = &plan};
  int rc = run(&j, res, err, errlen);
  mira_render_plan_free(&plan);
  if (rc) {
    unlink(q->out_mp4);
    if (q->out_thumb) unlink(q->out_thumb);
    if (q->out_vtt) unlink(q->out_vtt);
  }
  return rc;
}
