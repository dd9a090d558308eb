/* Avatar creation from a photo: bring it to a frame the animator and the
 * encoder take (at most 1920x1080 either way, even sides), find the one face,
 * fit its landmarks and judge it.
 *
 *   mira_face_models *fm;
 *   mira_face_models_load(&fm, err, sizeof err);       // ~0.5 s, read-only after
 *   mira_rgb frame; mira_point pts[68]; char msg[256];
 *   mira_face_verdict v = mira_avatar_prepare(fm, &photo, &frame, pts, NULL, msg, sizeof msg);
 *   if (v == MIRA_FACE_OK) ... frame + pts make a photo rig ...; else msg says what to change
 *
 * Ownership: *frame is the caller's (mira_rgb_free) when the verdict is OK.
 * Thread-safety: models are shared read-only; prepare is thread-safe.
 */
#ifndef MIRA_ENGINES_FACE_AVATAR_H
#define MIRA_ENGINES_FACE_AVATAR_H

#include <stddef.h>

#include "engines/face/face.h"
#include "engines/image/rgb.h"

#define MIRA_AVATAR_MAX_LONG 1920
#define MIRA_AVATAR_MAX_SHORT 1080

typedef struct mira_face_models {
  mira_cascade *faces, *eyes;
  mira_shape_model *shape;
} mira_face_models;

/* Loads Debian's cascade, eye cascade and 68-point model. MIRA_ENOTSUP with
 * the package to install when a file is missing. */
int mira_face_models_load(mira_face_models **out, char *err, size_t errlen);
void mira_face_models_free(mira_face_models *m);

/* Returns MIRA_FACE_OK with *frame and pts filled, or the verdict with msg
 * saying what to change. A failure that is not the photo's fault (out of
 * memory) is reported as MIRA_FACE_NONE with msg saying so; *err_rc, when
 * not NULL, then gets the error code (0 otherwise). */
mira_face_verdict mira_avatar_prepare(const mira_face_models *m, const mira_rgb *photo, mira_rgb *frame,
                                      mira_point pts[MIRA_FACE_POINTS], int *err_rc, char *msg, size_t msglen);

/* Area-averaging downscale into a new image of w x h; sides that shrink by
 * at most one pixel are cropped instead (exact copy). MIRA_ENOMEM. */
int mira_rgb_resize(const mira_rgb *in, int w, int h, mira_rgb *out);

#endif
