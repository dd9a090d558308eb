/* Content sniffing by magic bytes, so a finalized medium is what it claims.
 *
 *   const char *t = mira_sniff(buf, n);     // "image/png", ... or NULL
 *   if (!mira_sniff_matches("audio/x-wav", t)) reject;
 *
 * Recognised: image/png, image/jpeg, image/webp, audio/wav, audio/mpeg
 * (ID3 tag or MPEG frame sync), audio/mp4 (ISO-BMFF 'ftyp' with an M4A/mp4
 * brand), audio/ogg, audio/flac. Give it at least the first 64 bytes.
 * Thread-safety: thread-safe, no state.
 */
#ifndef MIRA_CORE_SNIFF_H
#define MIRA_CORE_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

/* Canonical type of the bytes, or NULL if none recognised. Static string. */
const char *mira_sniff(const void *buf, size_t n);

/* Canonical form of a declared Content-Type (lowercase, parameters dropped,
 * aliases folded: image/jpg -> image/jpeg, audio/x-wav|audio/wave -> audio/wav,
 * audio/mp3 -> audio/mpeg, audio/x-m4a|audio/m4a|audio/aac -> audio/mp4,
 * audio/x-flac -> audio/flac, application/ogg|audio/opus -> audio/ogg).
 * Returns a static string, or NULL if the type is not one Mira accepts. */
const char *mira_sniff_canonical(const char *content_type);

/* True if the declared type's canonical form equals the sniffed type. */
bool mira_sniff_matches(const char *declared, const char *sniffed);

/* True for image/..., false for audio/... (canonical types). */
bool mira_sniff_is_image(const char *canonical);

#endif
