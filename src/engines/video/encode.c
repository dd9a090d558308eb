/* The MP4 writer: RGB frames -> swscale -> libx264, float PCM -> FFmpeg's
 * aac encoder, both into libavformat's mp4 muxer (see video.h).
 *
 * Timing. The video encoder's time base is 1/fps and frame i has pts i; the
 * audio encoder's is 1/rate and each frame's pts is its first sample. The
 * AAC encoder's packets carry pts shifted back by its priming delay (1024
 * samples) and its last packet's duration counts only the real samples
 * (the encoder has AV_CODEC_CAP_SMALL_LAST_FRAME, so we hand it the short
 * tail as it is; it pads the tail itself). The mp4 muxer turns both into an
 * edit list, so players start audio at sample 0 and stop at the last one.
 *
 * Interleaving. After frame i, the audio up to (i+1)/fps is encoded, so both
 * encoders advance together and av_interleaved_write_frame only ever holds
 * packets for a frame or two (plus x264's lookahead, inside libx264).
 *
 * Paths go to FFmpeg as "file:<path>", so a ':' in a name is never read as
 * a protocol, and faststart's second pass reopens the same file.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "engines/video/video.h"

#define MAX_THREADS 64 /* x264 caps at 128; more than 64 only adds latency */
#define MIN_AUDIO_BITRATE 16000
#define MAX_AUDIO_BITRATE 512000 /* mono AAC-LC has nothing to gain above this */

struct mira_video_writer {
  AVFormatContext *fmt;
  AVCodecContext *venc, *aenc;
  AVStream *vst, *ast;
  mira_video_converter *conv; /* for write_frame's RGB */
  uint8_t *yuv;                /* its output */
  AVFrame *vframe, *aframe;
  AVPacket *pkt;
  int w, h, fps;
  int64_t frames;
  const float *audio;
  size_t audio_n, audio_pos;
  int failed;  /* an encoder or write error: only abort is left */
  int created; /* the file exists because of us */
  char *url;   /* "file:<path>" */
};

static const char *const presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                      "medium",    "slow",      "slower",   "veryslow", "placebo"};

/* av_log_set_level is process-global (decode.c sets the same level); our
 * own messages say what failed, so FFmpeg's stderr chatter is turned off. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_log(void) { av_log_set_level(AV_LOG_QUIET); }

static const char *path_of(const mira_video_writer *w) { return w->url + 5; }

mira_video_params mira_video_default_params(int w, int h) {
  return (mira_video_params){.w = w, .h = h, .fps = MIRA_VIDEO_DEFAULT_FPS, .crf = MIRA_VIDEO_DEFAULT_CRF,
                             .preset = MIRA_VIDEO_DEFAULT_PRESET,
                             .audio_bitrate = MIRA_VIDEO_DEFAULT_AUDIO_BITRATE};
}

int64_t mira_video_frames(const mira_video_writer *w) { return w ? w->frames : 0; }

static int size_ok(int w, int h) {
  return w % 2 == 0 && h % 2 == 0 && w >= MIRA_VIDEO_MIN_SIDE && h >= MIRA_VIDEO_MIN_SIDE &&
         w <= MIRA_VIDEO_MAX_SIDE && h <= MIRA_VIDEO_MAX_SIDE && (long)w * h <= MIRA_VIDEO_MAX_PIXELS;
}

static int preset_ok(const char *name) {
  for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
    if (!strcmp(name, presets[i])) return 1;
  return 0;
}

int mira_video_preset_valid(const char *name) { return name && preset_ok(name); }

static int rate_ok(const AVCodec *aac, int rate) {
  for (const int *r = aac->supported_samplerates; r && *r; r++)
    if (*r == rate) return 1;
  return 0;
}

static int check_audio(const mira_video_params *p, char *err, size_t errlen) {
  if (!p->audio && p->audio_samples)
    return mira_err(err, errlen, MIRA_EINVAL, "audio_samples is %zu but audio is NULL", p->audio_samples);
  if (!p->audio) return 0;
  if (!p->audio_samples) return mira_err(err, errlen, MIRA_EINVAL, "audio has no samples (pass NULL for none)");
  if (p->audio_bitrate && (p->audio_bitrate < MIN_AUDIO_BITRATE || p->audio_bitrate > MAX_AUDIO_BITRATE))
    return mira_err(err, errlen, MIRA_EINVAL, "audio_bitrate must be %d..%d: got %d", MIN_AUDIO_BITRATE,
                    MAX_AUDIO_BITRATE, p->audio_bitrate);
  const AVCodec *aac = avcodec_find_encoder_by_name("aac");
  if (!aac)
    return mira_err(err, errlen, MIRA_ENOTSUP,
                    "aac encoder not available in this FFmpeg build: install libavcodec59 from Debian");
  if (!rate_ok(aac, p->audio_rate))
    return mira_err(err, errlen, MIRA_EINVAL,
                    "audio_rate %d Hz is not an AAC rate (8000..96000, e.g. 48000): resample first",
                    p->audio_rate);
  return 0;
}

static int check_params(const char *path, const mira_video_params *p, char *err, size_t errlen) {
  if (!path || !*path) return mira_err(err, errlen, MIRA_EINVAL, "no output path");
  if (!size_ok(p->w, p->h))
    return mira_err(err, errlen, MIRA_EINVAL,
                    "video size %dx%d: width and height must be even, %d..%d, and at most %d pixels", p->w,
                    p->h, MIRA_VIDEO_MIN_SIDE, MIRA_VIDEO_MAX_SIDE, MIRA_VIDEO_MAX_PIXELS);
  if (p->fps < 1 || p->fps > MIRA_VIDEO_MAX_FPS)
    return mira_err(err, errlen, MIRA_EINVAL, "fps must be 1..%d: got %d", MIRA_VIDEO_MAX_FPS, p->fps);
  if (p->crf < 0 || p->crf > 51)
    return mira_err(err, errlen, MIRA_EINVAL, "crf must be 1..51 (0 for %d): got %d", MIRA_VIDEO_DEFAULT_CRF,
                    p->crf);
  if (p->preset && !preset_ok(p->preset))
    return mira_err(err, errlen, MIRA_EINVAL, "unknown x264 preset \"%s\" (ultrafast..veryslow, placebo)",
                    p->preset);
  if (p->threads < 0 || p->threads > MAX_THREADS)
    return mira_err(err, errlen, MIRA_EINVAL, "threads must be 0..%d: got %d", MAX_THREADS, p->threads);
  return check_audio(p, err, errlen);
}

/* Adds a stream for an opened encoder. */
static AVStream *add_stream(AVFormatContext *fmt, AVCodecContext *c) {
  AVStream *st = avformat_new_stream(fmt, NULL);
  if (!st || avcodec_parameters_from_context(st->codecpar, c) < 0) return NULL;
  st->time_base = c->time_base;
  if (c->codec_type == AVMEDIA_TYPE_VIDEO) st->avg_frame_rate = c->framerate;
  return st;
}

/* x264 settings; the tags say what the RGB->YUV conversion (open_scaler) does. */
static void set_video_fields(AVCodecContext *c, const mira_video_params *p, int global_header) {
  c->width = p->w, c->height = p->h;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = (AVRational){1, p->fps};
  c->framerate = (AVRational){p->fps, 1};
  c->sample_aspect_ratio = (AVRational){1, 1};
  c->color_range = AVCOL_RANGE_MPEG;
  c->colorspace = AVCOL_SPC_BT709;
  c->color_primaries = AVCOL_PRI_BT709;
  c->color_trc = AVCOL_TRC_BT709;
  c->thread_count = p->threads;
  c->profile = FF_PROFILE_H264_HIGH;
  if (global_header) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* avcC in the MP4 header */
  av_opt_set(c->priv_data, "preset", p->preset ? p->preset : MIRA_VIDEO_DEFAULT_PRESET, 0);
  av_opt_set(c->priv_data, "profile", "high", 0);
  av_opt_set_double(c->priv_data, "crf", p->crf ? p->crf : MIRA_VIDEO_DEFAULT_CRF, 0);
}

/* ---- RGB -> yuv420p ---- */

struct mira_video_converter {
  struct SwsContext *sws;
  int w, h;
  uint8_t *stage; /* the caller's frame, copied with padding for swscale */
  int stage_stride;
};

void mira_video_converter_free(mira_video_converter *c) {
  if (!c) return;
  sws_freeContext(c->sws);
  av_freep(&c->stage);
  free(c);
}

int mira_video_converter_new(int w, int h, mira_video_converter **out, char *err, size_t errlen) {
  *out = NULL;
  mira_video_converter *c = calloc(1, sizeof *c);
  if (!c) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory for a %dx%d converter", w, h);
  c->w = w, c->h = h;
  /* Bilinear: at equal sizes only the 2:1 chroma decimation filters, and
   * bicubic's sharper kernel rings on saturated edges. */
  c->sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
  /* swscale's SIMD reads past the end of a row, and so past the end of the
   * last one: a frame whose buffer ends at a page boundary makes it fault
   * (seen under ThreadSanitizer's allocator). Frames go through a copy
   * with aligned rows and a padded end instead (~0.2 ms at 720p). */
  c->stage_stride = (w * 3 + 63) & ~63;
  c->stage = av_malloc((size_t)c->stage_stride * (h + 1) + 64);
  const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
  int rc = !c->sws || !c->stage ? mira_err(err, errlen, MIRA_ENOMEM, "swscale cannot convert RGB24 to yuv420p")
           : sws_setColorspaceDetails(c->sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16) < 0
               ? mira_err(err, errlen, MIRA_ENOTSUP, "swscale cannot convert to BT.709 limited range")
               : 0;
  if (rc) mira_video_converter_free(c);
  else *out = c;
  return rc;
}

size_t mira_video_yuv_bytes(int w, int h) { return (size_t)w * h + 2 * (size_t)(w / 2) * (h / 2); }

void mira_video_convert(mira_video_converter *c, const uint8_t *rgb, int stride, uint8_t *yuv) {
  for (int y = 0; y < c->h; y++)
    memcpy(c->stage + (size_t)y * c->stage_stride, rgb + (size_t)y * stride, (size_t)c->w * 3);
  const uint8_t *src = c->stage;
  uint8_t *dst[3] = {yuv, yuv + (size_t)c->w * c->h, yuv + (size_t)c->w * c->h + (size_t)(c->w / 2) * (c->h / 2)};
  int lines[3] = {c->w, c->w / 2, c->w / 2};
  sws_scale(c->sws, &src, &c->stage_stride, 0, c->h, dst, lines);
}

static int open_scaler(mira_video_writer *w, char *err, size_t errlen) {
  int rc = mira_video_converter_new(w->w, w->h, &w->conv, err, errlen);
  if (!rc && !(w->yuv = malloc(mira_video_yuv_bytes(w->w, w->h))))
    rc = mira_err(err, errlen, MIRA_ENOMEM, "out of memory for a %dx%d frame", w->w, w->h);
  return rc;
}

static int open_video(mira_video_writer *w, const mira_video_params *p, char *err, size_t errlen) {
  const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
  if (!x264)
    return mira_err(err, errlen, MIRA_ENOTSUP,
                    "libx264 encoder not available in this FFmpeg build: install libavcodec59 from Debian");
  if (!(w->venc = avcodec_alloc_context3(x264))) return MIRA_ENOMEM;
  set_video_fields(w->venc, p, w->fmt->oformat->flags & AVFMT_GLOBALHEADER);
  int rc = avcodec_open2(w->venc, x264, NULL);
  if (rc < 0)
    return mira_err(err, errlen, MIRA_EIO, "libx264 refused %dx%d, preset %s, crf %d: %s", p->w, p->h,
                    p->preset ? p->preset : MIRA_VIDEO_DEFAULT_PRESET, p->crf ? p->crf : MIRA_VIDEO_DEFAULT_CRF,
                    av_err2str(rc));
  if (!(w->vst = add_stream(w->fmt, w->venc))) return MIRA_ENOMEM;
  if (!(w->vframe = av_frame_alloc())) return MIRA_ENOMEM;
  w->vframe->format = AV_PIX_FMT_YUV420P;
  w->vframe->width = p->w, w->vframe->height = p->h;
  w->vframe->color_range = AVCOL_RANGE_MPEG;
  w->vframe->colorspace = AVCOL_SPC_BT709;
  if (av_frame_get_buffer(w->vframe, 0) < 0) return MIRA_ENOMEM;
  return open_scaler(w, err, errlen);
}

static int open_audio(mira_video_writer *w, const mira_video_params *p, char *err, size_t errlen) {
  const AVCodec *aac = avcodec_find_encoder_by_name("aac"); /* check_audio found it */
  AVCodecContext *c = w->aenc = avcodec_alloc_context3(aac);
  if (!c) return MIRA_ENOMEM;
  c->sample_fmt = AV_SAMPLE_FMT_FLTP;
  c->sample_rate = p->audio_rate;
  c->time_base = (AVRational){1, p->audio_rate};
  c->bit_rate = p->audio_bitrate ? p->audio_bitrate : MIRA_VIDEO_DEFAULT_AUDIO_BITRATE;
  av_channel_layout_default(&c->ch_layout, 1);
  if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int rc = avcodec_open2(c, aac, NULL);
  if (rc < 0)
    return mira_err(err, errlen, MIRA_EIO, "aac encoder refused mono %d Hz at %" PRId64 " b/s: %s",
                    p->audio_rate, c->bit_rate, av_err2str(rc));
  if (!(w->ast = add_stream(w->fmt, c))) return MIRA_ENOMEM;
  if (!(w->aframe = av_frame_alloc())) return MIRA_ENOMEM;
  w->aframe->format = c->sample_fmt;
  w->aframe->sample_rate = c->sample_rate;
  w->aframe->nb_samples = c->frame_size;
  if (av_channel_layout_copy(&w->aframe->ch_layout, &c->ch_layout) < 0 || av_frame_get_buffer(w->aframe, 0) < 0)
    return MIRA_ENOMEM;
  w->audio = p->audio, w->audio_n = p->audio_samples;
  return 0;
}

static int open_file(mira_video_writer *w, char *err, size_t errlen) {
  int rc = avio_open(&w->fmt->pb, w->url, AVIO_FLAG_WRITE);
  if (rc < 0) return mira_err(err, errlen, MIRA_EIO, "cannot create %s: %s", path_of(w), av_err2str(rc));
  w->created = 1;
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "movflags", "+faststart", 0);
  rc = avformat_write_header(w->fmt, &opts);
  av_dict_free(&opts);
  if (rc < 0) return mira_err(err, errlen, MIRA_EIO, "cannot write the MP4 header to %s: %s", path_of(w),
                              av_err2str(rc));
  return 0;
}

/* Frees everything; removes the file if it was created and remove_file. */
static void release(mira_video_writer *w, int remove_file) {
  if (!w) return;
  if (w->fmt) avio_closep(&w->fmt->pb);
  if (w->created && remove_file) unlink(path_of(w));
  avformat_free_context(w->fmt);
  avcodec_free_context(&w->venc);
  avcodec_free_context(&w->aenc);
  mira_video_converter_free(w->conv);
  free(w->yuv);
  av_frame_free(&w->vframe);
  av_frame_free(&w->aframe);
  av_packet_free(&w->pkt);
  free(w->url);
  free(w);
}

int mira_video_open(const char *path, const mira_video_params *p, mira_video_writer **out, char *err,
                    size_t errlen) {
  *out = NULL;
  pthread_once(&quiet_once, quiet_log);
  int rc = check_params(path, p, err, errlen);
  if (rc) return rc;
  mira_video_writer *w = calloc(1, sizeof *w);
  if (!w || !(w->url = malloc(strlen(path) + 6))) return free(w), mira_err(err, errlen, MIRA_ENOMEM, "out of memory");
  sprintf(w->url, "file:%s", path);
  w->w = p->w, w->h = p->h, w->fps = p->fps;
  if (avformat_alloc_output_context2(&w->fmt, NULL, "mp4", w->url) < 0 || !(w->pkt = av_packet_alloc()))
    rc = mira_err(err, errlen, MIRA_ENOMEM, "cannot set up the mp4 muxer");
  if (!rc) rc = open_video(w, p, err, errlen);
  if (!rc && p->audio) rc = open_audio(w, p, err, errlen);
  if (!rc) rc = open_file(w, err, errlen);
  if (rc) {
    if (rc == MIRA_ENOMEM) mira_err(err, errlen, rc, "out of memory opening %s", path);
    release(w, 1);
    return rc;
  }
  *out = w;
  return 0;
}

/* Writes every packet the encoder has ready. */
static int drain(mira_video_writer *w, AVCodecContext *c, AVStream *st, char *err, size_t errlen) {
  for (;;) {
    int rc = avcodec_receive_packet(c, w->pkt);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
    if (rc < 0)
      return w->failed = 1, mira_err(err, errlen, MIRA_EIO, "%s encoder failed: %s", c->codec->name, av_err2str(rc));
    if (!w->pkt->duration && c == w->venc) w->pkt->duration = 1; /* one frame: the last one needs it */
    av_packet_rescale_ts(w->pkt, c->time_base, st->time_base);
    w->pkt->stream_index = st->index;
    rc = av_interleaved_write_frame(w->fmt, w->pkt); /* takes the packet's data */
    if (rc < 0)
      return w->failed = 1, mira_err(err, errlen, MIRA_EIO, "cannot write %s: %s", path_of(w), av_err2str(rc));
  }
}

/* Sends frame (NULL: flush) to c and writes what comes out. */
static int encode(mira_video_writer *w, AVCodecContext *c, AVStream *st, AVFrame *frame, char *err,
                  size_t errlen) {
  int rc = avcodec_send_frame(c, frame);
  if (rc < 0)
    return w->failed = 1, mira_err(err, errlen, MIRA_EIO, "%s encoder refused a frame: %s", c->codec->name,
                                   av_err2str(rc));
  return drain(w, c, st, err, errlen);
}

/* Encodes audio up to sample `upto` in whole encoder frames; only the
 * track's last frame may be short. */
static int feed_audio(mira_video_writer *w, size_t upto, char *err, size_t errlen) {
  size_t fs = (size_t)w->aenc->frame_size;
  while (w->audio_pos < upto) {
    size_t n = upto - w->audio_pos < fs ? upto - w->audio_pos : fs;
    if (n < fs && upto < w->audio_n) return 0; /* wait for the next video frame */
    if (av_frame_make_writable(w->aframe) < 0)
      return w->failed = 1, mira_err(err, errlen, MIRA_ENOMEM, "out of memory encoding audio");
    float *d = (float *)w->aframe->data[0];
    const float *s = w->audio + w->audio_pos;
    /* clipped like a DAC would; NaN (s != s) becomes silence rather than noise in every later frame */
    for (size_t i = 0; i < n; i++) d[i] = s[i] > 1.f ? 1.f : s[i] < -1.f ? -1.f : s[i] == s[i] ? s[i] : 0.f;
    w->aframe->nb_samples = (int)n;
    w->aframe->pts = (int64_t)w->audio_pos;
    int rc = encode(w, w->aenc, w->ast, w->aframe, err, errlen);
    if (rc) return rc;
    w->audio_pos += n;
  }
  return 0;
}

int mira_video_write_frame(mira_video_writer *w, const uint8_t *rgb, int stride, char *err, size_t errlen) {
  if (w->failed) return mira_err(err, errlen, MIRA_ESTATE, "writer failed earlier: abort it");
  if (!rgb || stride < w->w * 3)
    return mira_err(err, errlen, MIRA_EINVAL, "frame stride %d is less than width*3 (%d)", stride, w->w * 3);
  mira_video_convert(w->conv, rgb, stride, w->yuv);
  return mira_video_write_yuv(w, w->yuv, err, errlen);
}

/* Copies packed planes into the encoder's frame (its rows may be padded). */
static void fill_frame(AVFrame *f, const uint8_t *yuv, int w, int h) {
  const uint8_t *src = yuv;
  for (int pl = 0; pl < 3; pl++) {
    int pw = pl ? w / 2 : w, ph = pl ? h / 2 : h;
    for (int y = 0; y < ph; y++, src += pw) memcpy(f->data[pl] + (size_t)y * f->linesize[pl], src, (size_t)pw);
  }
}

int mira_video_write_yuv(mira_video_writer *w, const uint8_t *yuv, char *err, size_t errlen) {
  if (w->failed) return mira_err(err, errlen, MIRA_ESTATE, "writer failed earlier: abort it");
  if (!yuv) return mira_err(err, errlen, MIRA_EINVAL, "no frame");
  if (av_frame_make_writable(w->vframe) < 0)
    return w->failed = 1, mira_err(err, errlen, MIRA_ENOMEM, "out of memory encoding video");
  fill_frame(w->vframe, yuv, w->w, w->h);
  w->vframe->pts = w->frames;
  int rc = encode(w, w->venc, w->vst, w->vframe, err, errlen);
  if (rc) return rc;
  w->frames++;
  if (!w->aenc) return 0;
  int64_t upto = av_rescale(w->frames, w->aenc->sample_rate, w->fps);
  return feed_audio(w, (size_t)upto < w->audio_n ? (size_t)upto : w->audio_n, err, errlen);
}

static int finish(mira_video_writer *w, char *err, size_t errlen) {
  if (w->failed) return mira_err(err, errlen, MIRA_ESTATE, "writer failed earlier: nothing to close");
  if (!w->frames) return mira_err(err, errlen, MIRA_EINVAL, "no frames were written to %s", path_of(w));
  int rc = encode(w, w->venc, w->vst, NULL, err, errlen);
  if (!rc && w->aenc) rc = feed_audio(w, w->audio_n, err, errlen);
  if (!rc && w->aenc) rc = encode(w, w->aenc, w->ast, NULL, err, errlen);
  if (rc) return rc;
  if ((rc = av_write_trailer(w->fmt)) < 0 || (rc = avio_closep(&w->fmt->pb)) < 0)
    return mira_err(err, errlen, MIRA_EIO, "cannot finish %s: %s", path_of(w), av_err2str(rc));
  return 0;
}

int mira_video_close(mira_video_writer *w, char *err, size_t errlen) {
  if (!w) return mira_err(err, errlen, MIRA_EINVAL, "no writer");
  int rc = finish(w, err, errlen);
  release(w, rc != 0);
  return rc;
}

void mira_video_abort(mira_video_writer *w) { release(w, 1); }
