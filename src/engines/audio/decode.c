/* Uploaded audio -> mono float PCM, with FFmpeg's libraries.
 *
 * Pipeline: libavformat demuxes the best audio stream, libavcodec decodes
 * it (send_packet/receive_frame, drained at EOF), libswresample mixes to
 * mono float and resamples, writing straight into the growing output buffer
 * (flushed at the end so the resampler's tail is not lost).
 *
 * Hostile input. Uploads are untrusted, so:
 *  - only the "file" protocol and the demuxers in FORMATS may open: an HLS
 *    playlist, concat script or image sequence would otherwise make FFmpeg
 *    open other files (or URLs) named inside the upload;
 *  - sample rates and channel counts from the stream are bounded;
 *  - max_seconds is enforced on the decoded output as it grows (and up front
 *    when the container states a longer length), so a file cannot make us
 *    allocate more than the limit;
 *  - every failure frees everything and returns a message naming the file's
 *    basename, never its directory;
 *  - FFmpeg running out of memory on the file's say-so (a header asking for
 *    a huge table) is MIRA_EINVAL; MIRA_ENOMEM is kept for our own buffers.
 *
 * Error policy for damaged files (the decision the contract asks for):
 *  - a demuxer error other than EOF is fatal: MIRA_EINVAL;
 *  - packets the decoder rejects are skipped, as players do, unless nothing
 *    decoded at all or more packets failed than decoded (then it is not
 *    audio we should trust): MIRA_EINVAL;
 *  - when the container states the stream's length (WAV data size, FLAC
 *    STREAMINFO, MP4 edit list, MP3 Xing/Info frame count, Ogg last
 *    granule; not a bitrate guess) and we decoded less than that by more
 *    than a slack (slack_seconds), the file was cut short (an interrupted
 *    upload) or packets were lost to damage; either way the rest of a
 *    lip-synced video would drift, so: MIRA_EINVAL. Streams with no stated
 *    length (ADTS AAC, MP3 without a Xing/Info frame) cannot be checked:
 *    the demuxer skips junk silently and we return the audio it found.
 *    FFmpeg clamps a WAV's data size to the file's, so for RIFF WAVE we
 *    read the data chunk's size ourselves (wav_missing_seconds). Ogg
 *    states its length from its own last page, so a cut Ogg file is
 *    indistinguishable from a shorter one and decodes to what is there.
 *  - decoded audio up to the slack longer than the stated length is codec
 *    padding (AAC's last frame in MP4 is padded to 1024 samples and FFmpeg
 *    5.1 does not trim it), so it is cut to the stated length.
 * Encoder delay is removed by libavcodec itself (MP3 LAME tag, MP4 edit
 * list, Opus pre-skip), so output starts at the first real sample.
 *
 * Mono mix: swresample's default matrix (each of L and R at -3 dB, no
 * normalisation). For the common dual-mono or strongly correlated stereo
 * this keeps BS.1770 loudness equal to the stereo file's; float output is
 * not clipped, so such a mix of a loud master may exceed 1.0 until
 * mira_audio_normalize.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswresample/swresample.h>

#include "core/error.h"
#include "engines/audio/audio.h"

/* Demuxers an audio upload may use (libavformat names; "mov" covers
 * mp4/m4a, "matroska" webm, "wav" RF64). */
#define FORMATS "wav,w64,mp3,aac,mov,ogg,flac,matroska,aiff,caf,asf,amr,ac3,eac3,au,wv"
#define MAX_RATE 768000   /* highest rate any FFmpeg decoder reports */
#define MIN_OUT_RATE 1000 /* lowest rate we resample to: below any use */
#define MAX_CHANNELS 64   /* SWR_CH_MAX: swresample's own limit */
#define SLACK_MS 250      /* stated vs decoded length: padding vs truncation, */
#define SLACK_FRAMES 2    /* ... plus this many codec frames (see slack_seconds) */
#define INITIAL_CAP (1 << 16)
#define WAV_MAX_CHUNKS 64 /* chunks walked before giving up on finding data */
#define MAX_SAMPLE 16.0f  /* +24 dBFS: past any real float master, keeps x*x finite */

typedef struct dec {
  const char *name; /* basename of the path, for messages */
  AVFormatContext *fmt;
  AVCodecContext *cc;
  SwrContext *swr;
  AVPacket *pkt;
  AVFrame *frame;
  int stream;
  int out_rate; /* 0 until the first frame when keeping the input rate */
  int max_seconds;
  int64_t limit;       /* output samples allowed */
  int in_rate, in_fmt; /* what swr is configured for */
  AVChannelLayout in_layout;
  float *buf;
  size_t n, cap;
  long frames, bad; /* decoded frames, rejected packets/frames */
  int last_averr;   /* the last decoder error, for the message */
  char *err;
  size_t errlen;
} dec;

/* av_log_set_level is process-global; set it once, from whichever thread
 * decodes first. FFmpeg's own messages would otherwise go to stderr. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_log(void) { av_log_set_level(AV_LOG_QUIET); }

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* An FFmpeg call on our own resources (contexts, resampler) failed. */
static int av_fail(dec *d, int averr) {
  if (averr == AVERROR(ENOMEM))
    return mira_err(d->err, d->errlen, MIRA_ENOMEM, "out of memory decoding %s", d->name);
  return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: %s", d->name,
                  av_err2str(averr));
}

/* FFmpeg failed on the file's contents. ENOMEM here too is the file's
 * fault: a hostile header (an MP4 table of a billion entries) asks for
 * more than FFmpeg's allocation cap far more often than the heap is full. */
static int input_fail(dec *d, int averr) {
  return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: %s", d->name,
                  av_err2str(averr));
}

static int open_input(dec *d, const char *path) {
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  av_dict_set(&opts, "format_whitelist", FORMATS, 0);
  int ret = avformat_open_input(&d->fmt, path, NULL, &opts);
  av_dict_free(&opts);
  if (ret == AVERROR(ENOENT))
    return mira_err(d->err, d->errlen, MIRA_ENOENT, "cannot open %s: no such file", d->name);
  /* Not on the whitelist (or an odd path) comes back as EINVAL. */
  if (ret == AVERROR(EINVAL))
    return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: not an audio format",
                    d->name);
  if (ret < 0) return input_fail(d, ret);
  ret = avformat_find_stream_info(d->fmt, NULL);
  return ret < 0 ? input_fail(d, ret) : 0;
}

static int open_decoder(dec *d) {
  const AVCodec *codec = NULL;
  int ret = av_find_best_stream(d->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (ret == AVERROR_STREAM_NOT_FOUND)
    return mira_err(d->err, d->errlen, MIRA_EINVAL, "no audio stream in %s", d->name);
  if (ret == AVERROR_DECODER_NOT_FOUND)
    return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: no decoder for its codec",
                    d->name);
  if (ret < 0) return input_fail(d, ret);
  d->stream = ret;
  for (unsigned i = 0; i < d->fmt->nb_streams; i++) /* don't queue video etc. */
    if ((int)i != d->stream) d->fmt->streams[i]->discard = AVDISCARD_ALL;
  AVStream *st = d->fmt->streams[d->stream];
  if (!(d->cc = avcodec_alloc_context3(codec))) return av_fail(d, AVERROR(ENOMEM));
  if ((ret = avcodec_parameters_to_context(d->cc, st->codecpar)) < 0) return av_fail(d, ret);
  d->cc->pkt_timebase = st->time_base; /* lets the decoder apply skip-samples exactly */
  if ((ret = avcodec_open2(d->cc, codec, NULL)) < 0) return input_fail(d, ret); /* extradata */
  if (!(d->pkt = av_packet_alloc()) || !(d->frame = av_frame_alloc()))
    return av_fail(d, AVERROR(ENOMEM));
  return 0;
}

/* The length the container states for the stream in seconds, or -1 when it
 * states none or only guessed it from the bitrate. */
static double stated_seconds(const dec *d) {
  if (av_fmt_ctx_get_duration_estimation_method(d->fmt) == AVFMT_DURATION_FROM_BITRATE) return -1;
  const AVStream *st = d->fmt->streams[d->stream];
  if (st->duration > 0 && st->time_base.num > 0 && st->time_base.den > 0)
    return st->duration * av_q2d(st->time_base);
  if (d->fmt->duration > 0) return d->fmt->duration / (double)AV_TIME_BASE;
  return -1;
}

/* How far decoded and stated lengths may differ. MP3's stated length
 * counts the encoder delay and padding that decoding drops (LAME: 1105
 * samples plus up to a frame; we measured up to 214 ms at 8 kHz), and
 * other encoders pad by their own frame, so the margin grows with the
 * codec's frame size at low rates. */
static double slack_seconds(const dec *d) {
  double s = SLACK_MS / 1000.0;
  if (d->cc->frame_size > 0 && d->cc->sample_rate > 0)
    s += (double)SLACK_FRAMES * d->cc->frame_size / d->cc->sample_rate;
  return s;
}

static int too_long(dec *d) {
  return mira_err(d->err, d->errlen, MIRA_ETOOBIG, "%s is longer than the %d s limit", d->name,
                  d->max_seconds);
}

/* Makes room for extra more samples; never grows far past the limit. */
static int reserve(dec *d, size_t extra) {
  if (d->buf && d->n + extra <= d->cap) return 0;
  size_t want = d->n + extra, cap = d->cap ? d->cap : INITIAL_CAP;
  while (cap < want) cap *= 2;
  size_t ceiling = (size_t)d->limit + extra;
  if (cap > ceiling && want <= ceiling) cap = ceiling;
  if (cap > SIZE_MAX / sizeof(float)) return av_fail(d, AVERROR(ENOMEM));
  float *p = realloc(d->buf, cap * sizeof(float));
  if (!p) return av_fail(d, AVERROR(ENOMEM));
  d->buf = p;
  d->cap = cap;
  return 0;
}

/* Runs in (or, with in == NULL, the resampler's buffered tail) through swr
 * into the output buffer. */
static int resample(dec *d, const uint8_t **in, int count) {
  for (;;) {
    int room = swr_get_out_samples(d->swr, count);
    if (room < 0) return av_fail(d, room);
    if (room == 0 && !in) return 0;
    int ret = reserve(d, (size_t)room);
    if (ret) return ret;
    uint8_t *dst = (uint8_t *)(d->buf + d->n);
    int got = swr_convert(d->swr, &dst, room, in, count);
    if (got < 0) return av_fail(d, got);
    d->n += (size_t)got;
    if ((int64_t)d->n > d->limit) return too_long(d);
    if (in || got == 0) return 0; /* input consumed; a flush loops until empty */
  }
}

static int frame_ok(const AVFrame *f) {
  return f->sample_rate > 0 && f->sample_rate <= MAX_RATE && f->ch_layout.nb_channels > 0 &&
         f->ch_layout.nb_channels <= MAX_CHANNELS && f->format >= 0 &&
         f->format < AV_SAMPLE_FMT_NB && f->nb_samples >= 0;
}

/* (Re)configures swr for this frame's format. A chained Ogg or an MP3 that
 * changes rate mid-file gets the old resampler flushed first. */
static int setup_swr(dec *d, const AVFrame *f) {
  int ret;
  if (d->swr && (ret = resample(d, NULL, 0))) return ret;
  swr_free(&d->swr);
  av_channel_layout_uninit(&d->in_layout);
  if ((ret = av_channel_layout_copy(&d->in_layout, &f->ch_layout)) < 0) return av_fail(d, ret);
  d->in_rate = f->sample_rate;
  d->in_fmt = f->format;
  if (!d->out_rate) d->out_rate = f->sample_rate;
  d->limit = (int64_t)d->max_seconds * d->out_rate;
  AVChannelLayout in = {0}, mono = AV_CHANNEL_LAYOUT_MONO;
  if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) /* e.g. WAV without a mask */
    av_channel_layout_default(&in, f->ch_layout.nb_channels);
  else if ((ret = av_channel_layout_copy(&in, &f->ch_layout)) < 0)
    return av_fail(d, ret);
  ret = swr_alloc_set_opts2(&d->swr, &mono, AV_SAMPLE_FMT_FLT, d->out_rate, &in, f->format,
                            f->sample_rate, 0, NULL);
  av_channel_layout_uninit(&in);
  if (ret < 0 || (ret = swr_init(d->swr)) < 0) return av_fail(d, ret);
  return 0;
}

static int take_frame(dec *d, const AVFrame *f) {
  if (!frame_ok(f))
    return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: unsupported sample layout",
                    d->name);
  int ret;
  if (!d->swr || f->sample_rate != d->in_rate || f->format != d->in_fmt ||
      av_channel_layout_compare(&f->ch_layout, &d->in_layout) != 0)
    if ((ret = setup_swr(d, f))) return ret;
  d->frames++;
  return resample(d, (const uint8_t **)f->extended_data, f->nb_samples);
}

/* A decoder error on one packet is counted, not fatal (see the policy). */
static int decoder_error(dec *d, int averr) {
  d->bad++;
  d->last_averr = averr;
  return 0;
}

/* Sends one packet (NULL: drain at EOF) and takes every frame it yields. */
static int decode_packet(dec *d, const AVPacket *pkt) {
  int ret = avcodec_send_packet(d->cc, pkt);
  if (ret < 0 && ret != AVERROR_EOF) return decoder_error(d, ret);
  for (;;) {
    ret = avcodec_receive_frame(d->cc, d->frame);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
    if (ret < 0) return decoder_error(d, ret);
    ret = take_frame(d, d->frame);
    av_frame_unref(d->frame);
    if (ret) return ret;
  }
}

static int read_all(dec *d) {
  int ret;
  while ((ret = av_read_frame(d->fmt, d->pkt)) >= 0) {
    int rc = 0;
    /* An empty packet would read as "drain" to send_packet and end decoding. */
    if (d->pkt->stream_index == d->stream && d->pkt->size > 0) rc = decode_packet(d, d->pkt);
    av_packet_unref(d->pkt);
    if (rc) return rc;
  }
  if (ret != AVERROR_EOF) return input_fail(d, ret);
  if ((ret = decode_packet(d, NULL))) return ret;
  return d->swr ? resample(d, NULL, 0) : 0;
}

/* Float WAVs (and float decoders fed junk) can carry NaN, Inf or absurd
 * values, which would poison every sum downstream (one NaN ends a
 * loudness measurement). */
static void sanitize(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i]))
      x[i] = 0.0f;
    else if (x[i] > MAX_SAMPLE)
      x[i] = MAX_SAMPLE;
    else if (x[i] < -MAX_SAMPLE)
      x[i] = -MAX_SAMPLE;
  }
}

/* Applies the damaged-file policy and trims codec padding (see the top). */
static int finish(dec *d, double stated) {
  if (d->n == 0 || d->frames == 0 || d->bad > d->frames) {
    if (d->bad) return input_fail(d, d->last_averr);
    return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: no audio in it", d->name);
  }
  if (stated > 0) {
    double slack = slack_seconds(d) * d->out_rate, want = stated * d->out_rate;
    if ((double)d->n < want - slack)
      return mira_err(d->err, d->errlen, MIRA_EINVAL,
                      "cannot decode %s: damaged or truncated (%.2f s of %.2f s decoded)", d->name,
                      (double)d->n / d->out_rate, stated);
    if ((double)d->n > want && (double)d->n <= want + slack) d->n = (size_t)llround(want);
  }
  sanitize(d->buf, d->n);
  float *p = realloc(d->buf, (d->n ? d->n : 1) * sizeof(float)); /* give back the slack */
  if (p) d->buf = p;
  return 0;
}

static uint32_t le32(const unsigned char *b) {
  return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Seconds of audio a RIFF WAVE's data chunk declares beyond the end of the
 * file; 0 when it is whole, unknown (size 0 or ~0: a streaming writer) or
 * not RIFF. Reads only chunk headers and the fmt chunk's byte rate. */
static double wav_missing_seconds(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  unsigned char h[16];
  double missing = 0;
  uint32_t byte_rate = 0;
  if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) goto done;
  if (fseeko(f, 0, SEEK_END) != 0) goto done;
  off_t file_size = ftello(f), pos = 12;
  for (int i = 0; i < WAV_MAX_CHUNKS && pos + 8 <= file_size; i++) {
    if (fseeko(f, pos, SEEK_SET) != 0 || fread(h, 1, 16, f) < 8) break;
    uint32_t size = le32(h + 4);
    if (!memcmp(h, "fmt ", 4) && size >= 16) {
      if (fseeko(f, pos + 16, SEEK_SET) != 0 || fread(h, 1, 4, f) != 4) break;
      byte_rate = le32(h); /* fmt: tag(2) channels(2) rate(4) byte_rate(4) */
    } else if (!memcmp(h, "data", 4)) {
      off_t end = pos + 8 + (off_t)size;
      if (size && size != UINT32_MAX && byte_rate && end > file_size)
        missing = (double)(end - file_size) / byte_rate;
      break;
    }
    pos += 8 + (off_t)size + (size & 1); /* chunks are word-aligned */
  }
done:
  fclose(f);
  return missing;
}

static void dec_free(dec *d) {
  swr_free(&d->swr);
  av_channel_layout_uninit(&d->in_layout);
  av_frame_free(&d->frame);
  av_packet_free(&d->pkt);
  avcodec_free_context(&d->cc);
  avformat_close_input(&d->fmt);
  free(d->buf);
}

/* Checks made before decoding: a stated length over the limit (it is
 * checked against the output later, so the claim fails either way: refuse
 * now rather than decode up to the limit), and a WAV cut short. */
static int precheck(dec *d, const char *path, double stated) {
  if (stated > d->max_seconds + slack_seconds(d)) return too_long(d);
  double missing = strcmp(d->fmt->iformat->name, "wav") ? 0 : wav_missing_seconds(path);
  if (missing > SLACK_MS / 1000.0)
    return mira_err(d->err, d->errlen, MIRA_EINVAL, "cannot decode %s: truncated (%.2f s missing)",
                    d->name, missing);
  return 0;
}

int mira_audio_decode(const char *path, int out_rate, int max_seconds, mira_pcm *out, char *err,
                      size_t errlen) {
  if (out) memset(out, 0, sizeof *out); /* safe to mira_pcm_free after a failure */
  if (!path || !out || max_seconds <= 0 || out_rate < 0 || (out_rate && out_rate < MIN_OUT_RATE) ||
      out_rate > MAX_RATE)
    return mira_err(err, errlen, MIRA_EINVAL, "mira_audio_decode: bad arguments");
  pthread_once(&quiet_once, quiet_log);
  dec d = {.name = base_name(path),
           .out_rate = out_rate,
           .max_seconds = max_seconds,
           .err = err,
           .errlen = errlen};
  d.limit = (int64_t)max_seconds * (out_rate ? out_rate : MAX_RATE);
  double stated = -1;
  int ret = open_input(&d, path);
  if (!ret) ret = open_decoder(&d);
  if (!ret) ret = precheck(&d, path, stated = stated_seconds(&d));
  if (!ret) ret = read_all(&d);
  if (!ret) ret = finish(&d, stated);
  if (ret) {
    dec_free(&d);
    return ret;
  }
  out->samples = d.buf;
  out->n = d.n;
  out->sample_rate = d.out_rate;
  d.buf = NULL;
  dec_free(&d);
  return 0;
}

void mira_pcm_free(mira_pcm *p) {
  if (!p) return;
  free(p->samples);
  memset(p, 0, sizeof *p);
}

int64_t mira_pcm_duration_ms(const mira_pcm *p) {
  if (!p || p->sample_rate <= 0) return 0;
  return ((int64_t)p->n * 1000 + p->sample_rate / 2) / p->sample_rate;
}
