/* Resource ids: 25 lowercase alphanumerics starting with 'c', like the cuids
 * Miraflow hands out ("cm42ab3ou0008aggajj0jy5e2"), so clients that check the
 * shape keep working.
 *
 *   char id[MIRA_ID_SIZE];
 *   mira_id_new(id);              // "c" + time + counter + random
 *   if (!mira_id_valid(s)) ...    // shape check for ids from requests
 *
 * Layout: 'c', 8 base36 chars of milliseconds since the epoch, 4 of a
 * process-wide counter, 12 of OS randomness (getrandom). Sortable by time.
 * Thread-safety: thread-safe (atomic counter).
 */
#ifndef MIRA_CORE_IDS_H
#define MIRA_CORE_IDS_H

#include <stdbool.h>

#define MIRA_ID_LEN 25
#define MIRA_ID_SIZE (MIRA_ID_LEN + 1)

/* Writes a fresh NUL-terminated id into out (MIRA_ID_SIZE bytes). */
void mira_id_new(char out[MIRA_ID_SIZE]);

/* True if s is exactly 25 chars of [a-z0-9] starting with 'c'. NULL is false. */
bool mira_id_valid(const char *s);

/* A stable id derived from a key ("mira-voice:flite:rms"): "c" + 24 base36
 * chars of SHA-256(key). Stock records and files derived from another id
 * (a video's thumbnail) get the same id on every machine and every start. */
void mira_id_derive(const char *key, char out[MIRA_ID_SIZE]);

#endif
