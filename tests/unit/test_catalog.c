/* The curated voice catalog (issue 3): every stock voice speaks a sentence
 * in its language to non-silent PCM whose length matches its timeline; ids
 * are stable and unique; the default English voice is the measured best. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "engines/speech/catalog.h"

static const char *sentence(const char *lang) {
  static const char *const s[][2] = {
      {"en", "The weather is lovely today."}, {"fr", "Il fait beau aujourd'hui."},
      {"de", "Das Wetter ist heute schön."}, {"es", "Hoy hace buen tiempo."},
      {"it", "Oggi fa bel tempo."}, {"pt", "O tempo está bom hoje."},
      {"nl", "Het is mooi weer vandaag."}, {"pl", "Dziś jest ładna pogoda."},
      {"ru", "Сегодня хорошая погода."}, {"uk", "Сьогодні гарна погода."},
      {"sv", "Det är fint väder idag."}, {"nb", "Det er fint vær i dag."},
      {"da", "Det er godt vejr i dag."}, {"fi", "Tänään on kaunis sää."},
      {"cs", "Dnes je hezké počasí."}, {"el", "Σήμερα ο καιρός είναι ωραίος."},
      {"tr", "Bugün hava çok güzel."}, {"ar", "الطقس جميل اليوم."},
      {"hi", "आज मौसम अच्छा है।"}, {"zh", "今天天气很好。"},
      {"ja", "今日はいい天気です。"}, {"ko", "오늘 날씨가 좋아요."},
      {"id", "Cuacanya bagus hari ini."}, {"vi", "Hôm nay trời đẹp."}};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
    if (!strncmp(lang, s[i][0], 2)) return s[i][1];
  return NULL;
}

static double rms(const mira_speech *sp) {
  double acc = 0;
  for (size_t i = 0; i < sp->samples; i++) acc += (double)sp->pcm[i] * sp->pcm[i];
  return sp->samples ? sqrt(acc / (double)sp->samples) : 0;
}

static void speak_every_voice(void) {
  int n = 0;
  for (const mira_catalog_entry *e = mira_catalog; e->engine; e++, n++) {
    char params[128], name[96], err[256] = "";
    mira_tts_voice v;
    mira_speech sp = {0};
    const char *text = sentence(e->language);
    CHECK("catalog-1.1", text != NULL);
    if (!text) continue;
    snprintf(params, sizeof params, "{\"voice\":\"%s\"}", e->voice);
    int rc = mira_catalog_tts_voice(e->engine, params, &v, name, sizeof name, err, sizeof err);
    if (rc == 0) rc = mira_speech_synth(&v, text, &sp, err, sizeof err);
    if (rc) fprintf(stderr, "catalog-1.2: %s %s: %s\n", e->engine, e->voice, err);
    CHECK_INT("catalog-1.2", rc, 0);
    if (rc) continue;
    int64_t ms = mira_speech_duration_ms(&sp);
    CHECK("catalog-1.3", ms > 500 && ms < 10000);
    CHECK("catalog-1.4", rms(&sp) > 300.0); /* clearly not silence */
    CHECK("catalog-1.5", sp.nphonemes > 5 && sp.nwords >= 1);
    if (sp.nphonemes) {
      int32_t end = sp.phonemes[sp.nphonemes - 1].end_ms;
      CHECK("catalog-1.6", llabs((long long)end - ms) <= 50); /* the timeline covers the audio */
      CHECK_INT("catalog-1.6", sp.phonemes[0].start_ms, 0);
    }
    mira_speech_free(&sp);
  }
  CHECK("catalog-1.7", n >= 20 && n <= 40);
  printf("catalog: %d curated voices spoke\n", n);
}

static void stable_ids(void) {
  char a[MIRA_ID_SIZE], b[MIRA_ID_SIZE];
  mira_catalog_voice_id("flite", "rms", a);
  CHECK_STR("catalog-2.1", a, "cmzpn9f465z4vf2oxe9sc4kjf"); /* published in docs; must never change */
  CHECK("catalog-2.1", mira_id_valid(a));
  for (const mira_catalog_entry *e = mira_catalog; e->engine; e++)
    for (const mira_catalog_entry *f = e + 1; f->engine; f++) {
      mira_catalog_voice_id(e->engine, e->voice, a);
      mira_catalog_voice_id(f->engine, f->voice, b);
      CHECK("catalog-2.2", strcmp(a, b) != 0);
    }
}

static void defaults(void) {
  const mira_catalog_entry *en = mira_catalog_default_for("en");
  CHECK("catalog-3.1", en && !strcmp(en->engine, "flite") && !strcmp(en->voice, "rms"));
  const mira_catalog_entry *fr = mira_catalog_default_for("fr-FR");
  CHECK("catalog-3.2", fr && !strncmp(fr->language, "fr", 2));
  CHECK("catalog-3.3", mira_catalog_default_for("xx") == NULL);
  mira_tts_voice v;
  char name[16], err[128];
  CHECK_INT("catalog-3.4", mira_catalog_tts_voice("flite", "{}", &v, name, sizeof name, err, sizeof err), MIRA_EINVAL);
  CHECK_INT("catalog-3.4", mira_catalog_tts_voice("flite", "not json", &v, name, sizeof name, err, sizeof err),
            MIRA_EINVAL);
}

int main(void) {
  speak_every_voice();
  stable_ids();
  defaults();
  return CHECK_EXIT();
}
