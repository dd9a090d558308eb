/* Speech recognition for tests and benchmarks: how intelligible is our
 * synthetic speech to an off-the-shelf recogniser? Wraps PocketSphinx
 * (Debian's 0.8+5prealpha C API, US English model from pocketsphinx-en-us),
 * with a resampler to its 16 kHz input, word normalisation and word error
 * rate. Not part of the server: tests/unit/test_intelligibility.c and
 * bench/speech.c compile it in.
 *
 *   mira_asr *a;
 *   if (mira_asr_open(&a, NULL, err, sizeof err)) fail(err);
 *   char hyp[512];
 *   mira_asr_recognize(a, sp.pcm, sp.samples, sp.sample_rate, hyp, sizeof hyp, err, sizeof err);
 *   int refw, e = mira_asr_word_errors("The cat sat.", hyp, &refw);  // WER = e / refw
 *   mira_asr_close(a);
 *
 * Each utterance is decoded independently: the same PCM gives the same
 * hypothesis whatever the handle decoded before (each starts a new stream,
 * which resets PocketSphinx's adaptive noise estimate; the model's CMN is
 * per utterance).
 *
 * Ownership: the decoder belongs to the mira_asr handle; strings are the
 * caller's buffers; mira_asr_resample returns malloc'd memory.
 * Thread-safety: one thread per mira_asr handle (a PocketSphinx decoder is
 * not thread-safe); separate handles may decode in parallel. mira_asr_open
 * turns PocketSphinx's logging off process-wide (err_set_logfp(NULL)).
 */
#ifndef MIRA_BENCH_ASR_H
#define MIRA_BENCH_ASR_H

#include <stddef.h>
#include <stdint.h>

#define MIRA_ASR_MODEL_DIR "/usr/share/pocketsphinx/model/en-us" /* pocketsphinx-en-us */
#define MIRA_ASR_SAMPLE_RATE 16000 /* what the en-us acoustic model was trained on */
#define MIRA_ASR_MAX_WORDS 256     /* per sentence, in mira_asr_word_errors */

typedef struct mira_asr mira_asr;

/* Loads the acoustic model (model_dir/en-us), language model
 * (model_dir/en-us.lm.bin) and dictionary (model_dir/cmudict-en-us.dict).
 * model_dir NULL means MIRA_ASR_MODEL_DIR. Takes about half a second.
 * Returns 0, or -1 with a message in err naming the missing file or package;
 * *out is NULL on failure. */
int mira_asr_open(mira_asr **out, const char *model_dir, char *err, size_t errlen);
void mira_asr_close(mira_asr *a);

/* Recognises one utterance of 16-bit mono PCM at any sample rate (it is
 * resampled to 16 kHz first). hyp receives the recogniser's best
 * hypothesis, lowercase words separated by spaces ("" when it heard
 * nothing). Returns 0, or -1 with a message in err. */
int mira_asr_recognize(mira_asr *a, const int16_t *pcm, size_t samples, int sample_rate, char *hyp,
                       size_t hyplen, char *err, size_t errlen);

/* Resamples 16-bit mono PCM from in_rate to out_rate with a windowed-sinc
 * low-pass (Blackman window, 16 zero crossings each side, cutoff at 95% of
 * the lower Nyquist frequency), so downsampling espeak-ng's 22050 Hz or
 * festival's 48 kHz to 16 kHz does not alias. Returns a malloc'd buffer of
 * *out_samples samples, or NULL (out of memory, bad rates). */
int16_t *mira_asr_resample(const int16_t *in, size_t samples, int in_rate, int out_rate, size_t *out_samples);

/* Normalises text for scoring: ASCII lowercase; letters, digits and
 * apostrophes inside words kept; everything else (punctuation, hyphens)
 * becomes a single space. "Don't stop, Mary-Ann!" -> "don't stop mary ann".
 * Numbers are not spelled out: reference sentences write them as words.
 * Writes at most outlen bytes, always NUL-terminated; returns the word count. */
size_t mira_asr_normalize(const char *text, char *out, size_t outlen);

/* Word-level Levenshtein distance (substitutions + insertions + deletions)
 * between normalised ref and hyp; *ref_words receives the reference's word
 * count. WER = errors / ref_words, summed over sentences for a total.
 * Words past MIRA_ASR_MAX_WORDS are ignored. */
int mira_asr_word_errors(const char *ref, const char *hyp, int *ref_words);

/* Reads a text file of one sentence per line (blank lines and lines
 * starting with '#' skipped) into a malloc'd array of malloc'd strings.
 * Returns the count, or -1 with a message in err. Free with
 * mira_asr_free_lines. */
int mira_asr_read_lines(const char *path, char ***lines, char *err, size_t errlen);
void mira_asr_free_lines(char **lines, int n);

#endif
