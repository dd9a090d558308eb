/* Our clustergen vocoder: a faster mlsa_resynthesis for flite's statistical
 * voices (slt, awb, rms).
 *
 * mlsa.c defines flite's exported mlsa_resynthesis(), so libflite's call to
 * it (through its PLT) lands here: ELF interposition, as flite.c does for
 * rand(). Same inputs and output as flite 2.2's vocoder (mixed excitation,
 * postfilter, MLSA filter with the 5th-order Pade approximation), the same
 * rand() draws in the same order, so flite.c's per-thread noise keeps output
 * deterministic. Streaming calls and voice shapes it does not handle go to
 * flite's own function. See docs/SPEECH.md ("flite's vocoder, replaced").
 *
 * Thread-safety: everything is per call; the only shared datum is flite's
 * function pointer, looked up once. The two counters/switches below are
 * per thread.
 */
#ifndef MIRA_ENGINES_SPEECH_MLSA_H
#define MIRA_ENGINES_SPEECH_MLSA_H

#include <flite.h>
#include <cst_cg.h>

typedef cst_wave *(*mira_mlsa_fn)(const cst_track *params, const cst_track *str, cst_cg_db *cg_db,
                                  cst_audio_streaming_info *asi, int mlsa_speed_param);

/* Looks up flite's own mlsa_resynthesis (once); 0 or MIRA_ENOTSUP. flite.c
 * calls it at init, which also keeps mlsa.o in every executable: miracore is
 * a static library, and an object nobody references is not linked. */
int mira_mlsa_init(void);

/* flite's own vocoder, or NULL if it could not be found. */
mira_mlsa_fn mira_mlsa_flite(void);

/* How many vocoder calls on this thread our code has synthesised (not
 * counting those handed to flite's): lets tests see the interposition. */
unsigned long mira_mlsa_thread_calls(void);

/* Tests: on this thread, use the portable build of the per-frame code even
 * on a CPU with AVX2 and FMA, which otherwise gets its own build. */
void mira_mlsa_thread_portable(int on);

#endif
