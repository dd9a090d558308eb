#include "core/sniff.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Longest declared type we look up; anything longer is not one of ours. */
enum { MAX_TYPE_LEN = 64 };

static bool has(const uint8_t *b, size_t n, size_t off, const char *magic, size_t mlen) {
  return n >= off + mlen && memcmp(b + off, magic, mlen) == 0;
}

/* MPEG audio frame header (ISO 11172-3 2.4.2.3): 11 sync bits, then version
 * (01 reserved), layer (00 reserved), and in byte 2 a bitrate index (1111
 * invalid) and sample-rate index (11 reserved). Checking all of them keeps
 * random 0xFF-led data (and AAC ADTS, layer 00) from passing as MP3. */
static bool mpeg_frame(const uint8_t *b, size_t n) {
  if (n < 3 || b[0] != 0xFF || (b[1] & 0xE0) != 0xE0) return false;
  int version = (b[1] >> 3) & 3, layer = (b[1] >> 1) & 3;
  int bitrate = b[2] >> 4, rate = (b[2] >> 2) & 3;
  return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

/* ISO-BMFF brands that are still images (HEIF/AVIF); every other 'ftyp'
 * file is taken as audio/mp4 because M4A brands vary too much to list. */
static bool image_brand(const uint8_t *b, size_t n) {
  static const char *const brands[] = {"heic", "heix", "heim", "heis", "mif1",
                                       "msf1", "avif", "avis"};
  if (n < 12) return false;
  for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++)
    if (memcmp(b + 8, brands[i], 4) == 0) return true;
  return false;
}

const char *mira_sniff(const void *buf, size_t n) {
  const uint8_t *b = buf;
  if (!b) return NULL;
  if (has(b, n, 0, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (has(b, n, 0, "\xFF\xD8\xFF", 3)) return "image/jpeg";
  if (has(b, n, 0, "RIFF", 4) && has(b, n, 8, "WEBP", 4)) return "image/webp";
  if (has(b, n, 0, "RIFF", 4) && has(b, n, 8, "WAVE", 4)) return "audio/wav";
  if (has(b, n, 0, "ID3", 3) || mpeg_frame(b, n)) return "audio/mpeg";
  if (has(b, n, 4, "ftyp", 4) && !image_brand(b, n)) return "audio/mp4";
  if (has(b, n, 0, "OggS", 4)) return "audio/ogg";
  if (has(b, n, 0, "fLaC", 4)) return "audio/flac";
  return NULL;
}

static const struct {
  const char *name, *canonical;
} types[] = {
    {"image/png", "image/png"},       {"image/jpeg", "image/jpeg"},
    {"image/jpg", "image/jpeg"},      {"image/webp", "image/webp"},
    {"audio/wav", "audio/wav"},       {"audio/x-wav", "audio/wav"},
    {"audio/wave", "audio/wav"},      {"audio/mpeg", "audio/mpeg"},
    {"audio/mp3", "audio/mpeg"},      {"audio/mp4", "audio/mp4"},
    {"audio/x-m4a", "audio/mp4"},     {"audio/m4a", "audio/mp4"},
    {"audio/aac", "audio/mp4"},       {"audio/ogg", "audio/ogg"},
    {"application/ogg", "audio/ogg"}, {"audio/opus", "audio/ogg"},
    {"audio/flac", "audio/flac"},     {"audio/x-flac", "audio/flac"},
};

static bool is_space(char c) { return c == ' ' || c == '\t'; }

const char *mira_sniff_canonical(const char *content_type) {
  if (!content_type) return NULL;
  const char *s = content_type;
  while (is_space(*s)) s++;
  size_t len = strcspn(s, ";");
  while (len > 0 && is_space(s[len - 1])) len--;
  if (len == 0 || len > MAX_TYPE_LEN) return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strlen(types[i].name) == len && strncasecmp(s, types[i].name, len) == 0)
      return types[i].canonical;
  return NULL;
}

bool mira_sniff_matches(const char *declared, const char *sniffed) {
  const char *c = mira_sniff_canonical(declared);
  return c && sniffed && strcmp(c, sniffed) == 0;
}

bool mira_sniff_is_image(const char *canonical) {
  return canonical && strncmp(canonical, "image/", 6) == 0;
}
