/* engines/render.c: the whole composition on a small illustrated avatar —
 * outputs written and sized right, nothing left behind on failure or stop.
 * scripts/tsan runs it too: frames are drawn ahead on a second thread. */
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "engines/render.h"

static char mp4[128], jpg[128], vtt[128];

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && st.st_size > 0;
}

static int stop_now(void *ctx) { return ++*(int *)ctx > 20; }

int main(void) {
  snprintf(mp4, sizeof mp4, "/tmp/mira-test-render-%d.mp4", (int)getpid());
  snprintf(jpg, sizeof jpg, "/tmp/mira-test-render-%d.jpg", (int)getpid());
  snprintf(vtt, sizeof vtt, "/tmp/mira-test-render-%d.vtt", (int)getpid());
  mira_rig rig = {.kind = MIRA_RIG_CARTOON, .index = 0, .w = 128, .h = 128};
  mira_tts_voice v = {.engine = "flite", .name = "slt", .pitch = -1, .range = -1, .volume = -1};
  mira_render_req q = {.text = "Hello there. This is a short test of the renderer.", .voice = &v, .rig = &rig,
                       .tmp_dir = "/tmp", .out_mp4 = mp4, .out_thumb = jpg, .out_vtt = vtt, .seed = 3};
  mira_render_result res;
  char err[512] = "";
  CHECK_INT("render-1", mira_render_video(&q, &res, err, sizeof err), 0);
  if (err[0]) fprintf(stderr, "%s\n", err);
  CHECK("render-1", exists(mp4) && exists(jpg) && exists(vtt) && res.wrote_vtt);
  CHECK_INT("render-1", res.frames, llround(res.duration_ms * 25 / 1000.0));
  CHECK("render-1", res.w == 128 && res.h == 128 && res.duration_ms > 1000);
  printf("render: %zu frames, %.2f s of speech; drawing %.3f s, encoding %.3f s\n", res.frames,
         res.duration_ms / 1000.0, res.render_s, res.encode_s);
  unlink(mp4), unlink(jpg), unlink(vtt);

  /* an upload that is not there: an error, and no output files */
  mira_render_req bad = q;
  bad.text = NULL, bad.voice = NULL, bad.audio_path = "/nonexistent/audio.wav";
  CHECK("render-2", mira_render_video(&bad, &res, err, sizeof err) != 0);
  CHECK("render-2", !exists(mp4) && !exists(jpg) && !exists(vtt));

  /* a stop request mid-render: MIRA_EBUSY, and nothing left behind */
  int calls = 0;
  mira_render_req stop = q;
  stop.should_stop = stop_now, stop.ctx = &calls;
  CHECK_INT("render-3", mira_render_video(&stop, &res, err, sizeof err), MIRA_EBUSY);
  CHECK("render-3", !exists(mp4) && !exists(jpg) && !exists(vtt));

  /* no source, or two */
  mira_render_req none = q;
  none.text = NULL;
  CHECK_INT("render-4", mira_render_video(&none, &res, err, sizeof err), MIRA_EINVAL);
  return CHECK_EXIT();
}
