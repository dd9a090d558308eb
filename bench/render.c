/* bench_render: talking-avatar render speed against x264 encoding the same
 * frames through the ffmpeg CLI, and the peak memory of a 5-minute script.
 * Run through bench/render (it builds this in Release); see bench/README.md.
 *
 *   bench_render FIXTURES_DIR MIRA_BIN SENTENCES_FILE
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engines/face/avatar.h"
#include "engines/render.h"
#include "timing.h"

#define PRESET "veryfast"
#define CRF 23
#define SCRIPT_CHARS 900     /* ~1 minute of speech for the speed rows */
#define LONG_SCRIPT_CHARS 4900 /* ~5 minutes: the API's limit is 5000 */

static char *read_script(const char *path, size_t chars) {
  FILE *f = fopen(path, "r");
  char line[512], *out = calloc(chars + 512, 1);
  if (!f || !out) return NULL;
  while (strlen(out) < chars) {
    if (!fgets(line, sizeof line, f)) {
      rewind(f);
      continue;
    }
    line[strcspn(line, "\n")] = 0;
    if (!line[0] || strlen(out) + strlen(line) + 1 > chars) break;
    strcat(out, line);
    strcat(out, " ");
  }
  fclose(f);
  return out;
}

/* 1280x720 from the portrait: scaled to the height, centred, the sides
 * filled with its edge columns (a plain backdrop, as a studio shot has). */
static int wide_frame(const mira_rgb *portrait, mira_rgb *out) {
  mira_rgb scaled;
  int h = 720, w = (int)lrint(portrait->w * 720.0 / portrait->h) & ~1;
  if (mira_rgb_resize(portrait, w, h, &scaled)) return -1;
  out->w = 1280, out->h = 720;
  out->px = malloc((size_t)1280 * 720 * 3);
  int x0 = (1280 - w) / 2;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < 1280; x++) {
      int sx = x < x0 ? 0 : x >= x0 + w ? w - 1 : x - x0;
      memcpy(out->px + ((size_t)y * 1280 + x) * 3, scaled.px + ((size_t)y * w + sx) * 3, 3);
    }
  mira_rgb_free(&scaled);
  return 0;
}

typedef struct avatar {
  const char *label;
  mira_rig rig;
  char path[256];
} avatar;

static int make_avatar(mira_face_models *fm, const mira_rgb *photo, const char *label, avatar *a) {
  mira_rgb frame;
  char msg[256], err[256];
  a->label = label;
  a->rig.kind = MIRA_RIG_PHOTO;
  if (mira_avatar_prepare(fm, photo, &frame, a->rig.pts, NULL, msg, sizeof msg) != MIRA_FACE_OK)
    return fprintf(stderr, "%s: %s\n", label, msg), -1;
  a->rig.w = frame.w, a->rig.h = frame.h;
  snprintf(a->path, sizeof a->path, "/tmp/mira-bench-render-%d-%s.png", (int)getpid(), label);
  int rc = mira_rgb_write_png(a->path, &frame, err, sizeof err);
  mira_rgb_free(&frame);
  return rc;
}

/* Ours: the real pipeline (mira_render_video): speech, analysis, then
 * frames drawn ahead on one thread while H.264/AAC encodes on the others.
 * *wall_s: all of it; the return value: without the speech stage. */
static double run_ours(const avatar *a, const mira_render_req *tmpl, double *wall_s, double *render_s) {
  char err[512], out[256];
  snprintf(out, sizeof out, "/tmp/mira-bench-render-%d.mp4", (int)getpid());
  mira_render_req q = *tmpl;
  q.rig = &a->rig, q.image_path = a->path, q.out_mp4 = out, q.preset = PRESET, q.crf = CRF;
  mira_render_result res;
  double t0 = now_s();
  int rc = mira_render_video(&q, &res, err, sizeof err);
  *wall_s = now_s() - t0;
  unlink(out);
  if (rc) return fprintf(stderr, "render: %s\n", err), -1;
  *render_s = res.render_s;
  return *wall_s - res.audio_s;
}

/* The reference: the same frames, already rendered, piped to the ffmpeg CLI
 * encoding them with libx264 at the same preset and CRF (video only: encode
 * cost is what is compared). */
static double run_x264(const avatar *a, const mira_render_plan *p) {
  char err[512], cmd[512];
  mira_avatar_renderer *r;
  if (mira_rig_renderer(&a->rig, a->path, 0, &r, err, sizeof err)) return -1;
  size_t bytes = (size_t)r->w * r->h * 3;
  uint8_t *all = malloc(bytes * p->frames);
  if (!all) return -1;
  for (size_t i = 0; i < p->frames; i++) r->render(r, &p->poses[i], all + i * bytes, r->w * 3);
  snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s %dx%d -r 25 -i - -an -c:v libx264 "
           "-preset %s -crf %d -pix_fmt yuv420p -movflags +faststart /tmp/mira-bench-x264-%d.mp4",
           r->w, r->h, PRESET, CRF, (int)getpid());
  r->destroy(r);
  double t0 = now_s();
  FILE *f = popen(cmd, "w");
  int ok = f && fwrite(all, bytes, p->frames, f) == p->frames;
  ok = f && pclose(f) == 0 && ok;
  double dt = now_s() - t0;
  free(all);
  snprintf(cmd, sizeof cmd, "/tmp/mira-bench-x264-%d.mp4", (int)getpid());
  unlink(cmd);
  return ok ? dt : -1;
}

#define MAX_RUNS 9
static int runs = 3;

static int speed_rows(const avatar *a, const char *script) {
  mira_tts_voice v = {.engine = "flite", .name = "rms", .pitch = -1, .range = -1, .volume = -1};
  mira_render_req q = {.text = script, .voice = &v, .tmp_dir = "/tmp", .seed = 1};
  mira_render_plan p; /* the same poses, for the reference's frames */
  char err[512];
  if (mira_render_prepare(&q, &p, err, sizeof err)) return fprintf(stderr, "prepare: %s\n", err), -1;
  double secs = p.pcm.n / (double)p.pcm.sample_rate, o[MAX_RUNS], w[MAX_RUNS], rs[MAX_RUNS], x[MAX_RUNS];
  for (int k = 0; k < runs; k++) { /* alternating, so load changes hit both sides */
    o[k] = run_ours(a, &q, &w[k], &rs[k]);
    x[k] = run_x264(a, &p);
    if (o[k] < 0 || x[k] < 0) return -1;
  }
  double ours = median(o, runs), wall = median(w, runs), render_s = median(rs, runs), ref = median(x, runs);
  double goal = a->rig.w * a->rig.h <= 512 * 512 ? 10 : 3;
  printf("%-9s %4dx%-4d %6.1f s %6zu  %7.2f s %7.1fx %7.1fx  %7.2f s  %7.2f s %6.2f   %s\n", a->label, a->rig.w,
         a->rig.h, secs, p.frames, ours, secs / ours, secs / wall, render_s, ref, ref / ours,
         secs / ours >= goal && ref / ours >= 0.7 ? "met" : "NOT met");
  mira_render_plan_free(&p);
  return 0;
}

/* Peak RSS of `mira render` on a 5-minute script, from wait4's rusage. */
static int peak_rss(const char *mira, const char *photo, const char *script) {
  char out[256];
  snprintf(out, sizeof out, "/tmp/mira-bench-long-%d.mp4", (int)getpid());
  double t0 = now_s();
  fflush(stdout); /* the child must not repeat our buffered output */
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(126);
    execl(mira, mira, "render", "--photo", photo, "--text", script, "--out", out, (char *)NULL);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
    return fprintf(stderr, "mira render failed\n"), -1;
  double dt = now_s() - t0;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ffprobe -v error -show_entries format=duration -of csv=p=0 %s", out);
  FILE *f = popen(cmd, "r");
  double secs = 0;
  if (f && fscanf(f, "%lf", &secs) != 1) secs = 0;
  if (f) pclose(f);
  unlink(out);
  printf("5-minute script (%zu characters): %.1f s of video in %.1f s (%.1fx real time, speech included), "
         "peak RSS %.0f MB (goal <= 300 MB: %s)\n", strlen(script), secs, dt, secs / dt, ru.ru_maxrss / 1024.0,
         ru.ru_maxrss / 1024.0 <= 300 ? "met" : "NOT met");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: bench_render FIXTURES MIRA_BIN SENTENCES\n"), 2;
  char path[512], err[256];
  mira_face_models *fm;
  mira_rgb astro, portrait, wide;
  if (mira_face_models_load(&fm, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  snprintf(path, sizeof path, "%s/astronaut.png", argv[1]);
  if (mira_rgb_load(path, &astro, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  snprintf(path, sizeof path, "%s/230501201_1.jpg", argv[1]);
  if (mira_rgb_load(path, &portrait, err, sizeof err) || wide_frame(&portrait, &wide)) return 1;
  avatar a512, a720;
  if (make_avatar(fm, &astro, "astronaut", &a512) || make_avatar(fm, &wide, "portrait", &a720)) return 1;
  char *script = read_script(argv[3], SCRIPT_CHARS), *long_script = read_script(argv[3], LONG_SCRIPT_CHARS);
  const char *env = getenv("BENCH_RUNS");
  if (env && atoi(env) > 0) runs = atoi(env) < MAX_RUNS ? atoi(env) : MAX_RUNS;
  printf("build: %s\n", MIRA_BUILD_FLAGS);
  printf("render: photo avatar, im2vid_full=false, x264 preset %s CRF %d, AAC 48 kHz; speech: flite rms;\n"
         "median of %d alternating runs per side\n", PRESET, CRF, runs);
  printf("ours = mira_render_video without its speech stage: poses, frames drawn ahead on one thread, H.264/AAC\n"
         "encoding (x RT+tts: with speech); render = time drawing + converting frames; x264 = the ffmpeg CLI\n"
         "encoding the same frames, already rendered, piped in raw (video only). ratio = x264 / ours (goal >= 0.7)\n\n");
  printf("%-9s %-9s %8s %6s  %9s %8s %8s  %9s  %9s %6s   %s\n", "avatar", "size", "audio", "frames", "ours",
         "x RT", "x RT+tts", "render", "x264", "ratio", "goals (10x/3x, 0.7)");
  int rc = speed_rows(&a512, script) || speed_rows(&a720, script);
  printf("\n");
  snprintf(path, sizeof path, "%s/astronaut.png", argv[1]);
  if (!rc) rc = peak_rss(argv[2], path, long_script);
  unlink(a512.path);
  unlink(a720.path);
  return rc ? 1 : 0;
}
