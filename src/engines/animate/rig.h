/* Avatar rigs: how a stored avatar is animated, as the JSON kept in
 * mira_avatar.rig, and the renderer it makes.
 *
 *   mira_rig rig;
 *   if (mira_rig_parse(avatar.rig, &rig, err, sizeof err)) fail(err);
 *   mira_avatar_renderer *r;
 *   mira_rig_renderer(&rig, image_path, full, &r, err, sizeof err);  // photo: image_path = the photo
 *
 * JSON: {"kind":"photo","image":"<blob key>","w":512,"h":512,"landmarks":[x0,y0,...,x67,y67]}
 *       {"kind":"cartoon","index":3,"w":512,"h":512}
 * Thread-safety: thread-safe; the structs are plain values.
 */
#ifndef MIRA_ENGINES_ANIMATE_RIG_H
#define MIRA_ENGINES_ANIMATE_RIG_H

#include <stddef.h>

#include "core/ids.h"
#include "engines/animate/animate.h"

typedef enum mira_rig_kind { MIRA_RIG_PHOTO = 1, MIRA_RIG_CARTOON = 2 } mira_rig_kind;

typedef struct mira_rig {
  mira_rig_kind kind;
  int index;                           /* cartoon: mira_cartoon_info_of(index) */
  char image[MIRA_ID_SIZE + 16];       /* photo: the image's blob key */
  int w, h;                            /* frame size the avatar renders at */
  mira_point pts[MIRA_FACE_POINTS];    /* photo: landmarks in that frame */
} mira_rig;

int mira_rig_parse(const char *json, mira_rig *out, char *err, size_t errlen);
/* Writes the JSON; MIRA_ETOOBIG if outlen is too small. */
int mira_rig_format(const mira_rig *r, char *out, size_t outlen, char *err, size_t errlen);
/* A renderer for the rig at its own size. image_path: the photo (photo rigs;
 * ignored for cartoons). */
int mira_rig_renderer(const mira_rig *r, const char *image_path, int full, mira_avatar_renderer **out,
                      char *err, size_t errlen);

#endif
