/* mira voices, mira speak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/wav.h"
#include "engines/speech/catalog.h"
#include "engines/speech/timeline.h"
#include "store/store.h"

static const char *usage_voices = "usage: mira voices [--all]\n"
                                  "  Lists the voices this machine can speak: id, engine voice, language,\n"
                                  "  gender and name. --all adds every installed voice outside the catalog.\n";
static const char *usage_speak =
    "usage: mira speak --voice ID --text TEXT --out FILE.wav [--timeline FILE.json] [--data DIR]\n"
    "  ID: a voice id from `mira voices`, ENGINE:VOICE (flite:slt, espeak-ng:fr-fr+f3),\n"
    "      or a custom voice id from the server's data directory (--data, default ./data).\n"
    "  TEXT may contain pauses: <break time=\"500ms\"/>.\n"
    "  --timeline writes words, phonemes and visemes with start/end in ms as JSON.\n";

static int print_voice(void *ud, const mira_tts_voice_info *v, const mira_catalog_entry *e) {
  int all = *(int *)ud;
  if (!e && !all) return 0;
  char id[MIRA_ID_SIZE];
  mira_catalog_voice_id(v->engine, v->name, id);
  printf("%s  %-10s %-22s %-15s %-7s %s\n", id, v->engine, v->name, e ? e->language : v->language,
         e ? e->gender : v->gender, e ? e->name : v->description);
  return 0;
}

int mira_cli_voices(int argc, char **argv) {
  int all = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--all")) all = 1;
    else if (!strcmp(argv[i], "--help")) return fputs(usage_voices, stdout), 0;
    else return fprintf(stderr, "mira voices: unexpected '%s'\n%s", argv[i], usage_voices), 2;
  }
  char err[256] = "";
  printf("%-25s  %-10s %-22s %-15s %-7s %s\n", "ID", "ENGINE", "VOICE", "LANGUAGE", "GENDER", "NAME");
  if (mira_catalog_walk(print_voice, &all, err, sizeof err)) return fprintf(stderr, "mira: %s\n", err), 1;
  return 0;
}

typedef struct find_ctx {
  const char *id;
  char engine[32], voice[64];
} find_ctx;

static int match_id(void *ud, const mira_tts_voice_info *v, const mira_catalog_entry *e) {
  find_ctx *f = ud;
  char id[MIRA_ID_SIZE];
  mira_catalog_voice_id(v->engine, v->name, id);
  if (strcmp(id, f->id) != 0) return 0;
  snprintf(f->engine, sizeof f->engine, "%s", v->engine);
  snprintf(f->voice, sizeof f->voice, "%s", v->name);
  return 1;
}

/* ENGINE:VOICE, a stock id, or a custom voice from the store. */
int mira_cli_resolve_voice(const char *spec, const char *data, char *engine, size_t elen, char *params, size_t plen,
                   char *err, size_t errlen) {
  const char *colon = strchr(spec, ':');
  if (colon && !mira_id_valid(spec)) {
    snprintf(engine, elen, "%.*s", (int)(colon - spec), spec);
    snprintf(params, plen, "{\"voice\":\"%s\"}", colon + 1);
    return 0;
  }
  find_ctx f = {.id = spec};
  if (mira_catalog_walk(match_id, &f, err, errlen) == 1) {
    snprintf(engine, elen, "%s", f.engine);
    snprintf(params, plen, "{\"voice\":\"%s\"}", f.voice);
    return 0;
  }
  char dsn[1100];
  mira_store *st;
  mira_voice v;
  snprintf(dsn, sizeof dsn, "%s/mira.db", data);
  int rc = mira_id_valid(spec) ? mira_store_open(&st, "sqlite", dsn, err, errlen) : MIRA_ENOENT;
  if (rc == 0) {
    rc = st->ops->voice_get(st, spec, NULL, &v, err, errlen);
    mira_store_close(st);
  }
  if (rc) return mira_err(err, errlen, MIRA_ENOENT, "unknown voice '%s' (see `mira voices`)", spec);
  snprintf(engine, elen, "%s", v.engine);
  snprintf(params, plen, "%s", v.engine_params);
  return 0;
}

static int write_timeline(const char *path, const mira_speech *sp, const char *engine, const char *text) {
  json_t *t = mira_speech_timeline_json(sp, engine, text);
  int rc = t ? json_dump_file(t, path, JSON_INDENT(1)) : -1;
  json_decref(t);
  if (rc) fprintf(stderr, "mira: cannot write %s\n", path);
  return rc ? 1 : 0;
}

int mira_cli_speak(int argc, char **argv) {
  const char *voice = NULL, *text = NULL, *out = NULL, *timeline = NULL, *data = getenv("MIRA_DATA");
  for (int i = 0; i < argc; i++) {
    const char **slot = !strcmp(argv[i], "--voice") ? &voice : !strcmp(argv[i], "--text") ? &text
                        : !strcmp(argv[i], "--out") ? &out : !strcmp(argv[i], "--timeline") ? &timeline
                        : !strcmp(argv[i], "--data") ? &data : NULL;
    if (!strcmp(argv[i], "--help")) return fputs(usage_speak, stdout), 0;
    if (!slot || i + 1 >= argc) return fprintf(stderr, "mira speak: unexpected '%s'\n%s", argv[i], usage_speak), 2;
    *slot = argv[++i];
  }
  if (!voice || !text || !out) return fprintf(stderr, "mira speak: --voice, --text and --out are required\n%s", usage_speak), 2;
  char engine[32], params[600], name[96], err[512];
  mira_tts_voice tv;
  mira_speech sp = {0};
  int rc = mira_cli_resolve_voice(voice, data && *data ? data : "./data", engine, sizeof engine, params, sizeof params, err, sizeof err);
  if (rc == 0) rc = mira_catalog_tts_voice(engine, params, &tv, name, sizeof name, err, sizeof err);
  if (rc == 0) rc = mira_speech_synth(&tv, text, &sp, err, sizeof err);
  if (rc == 0) rc = mira_wav_write(out, sp.pcm, sp.samples, sp.sample_rate, err, sizeof err);
  if (rc) return fprintf(stderr, "mira: %s\n", err), 1;
  printf("%s: %.2f s at %d Hz, %zu words, %zu phonemes\n", out, mira_speech_duration_ms(&sp) / 1000.0,
         sp.sample_rate, sp.nwords, sp.nphonemes);
  int status = timeline ? write_timeline(timeline, &sp, engine, text) : 0;
  mira_speech_free(&sp);
  return status;
}
