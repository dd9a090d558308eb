/* Engine commands for people and scripts: each engine can be tried alone,
 * without a server. They return the process exit status (0 ok, 1 failure,
 * 2 usage error) and print errors to stderr. Main thread only. */
#ifndef MIRA_CLI_CLI_H
#define MIRA_CLI_CLI_H

/* mira voices [--all] */
int mira_cli_voices(int argc, char **argv);
/* mira speak --voice ID --text TEXT --out FILE.wav [--timeline FILE.json] [--data DIR] */
int mira_cli_speak(int argc, char **argv);

/* A voice spec (ENGINE:VOICE, a stock id, or a custom voice id in the data
 * directory's store) -> engine name and engine parameters JSON. */
#include <stddef.h>
int mira_cli_resolve_voice(const char *spec, const char *data, char *engine, size_t elen, char *params, size_t plen,
                           char *err, size_t errlen);

/* mira render (--avatar ID|NAME | --photo FILE) (--text TEXT [--voice ID] | --audio FILE) --out FILE.mp4 ... */
int mira_cli_render(int argc, char **argv);

/* mira face IMAGE [--out annotated.png] [--json] [--cascade FILE] [--box x,y,w,h] */
int mira_cli_face(int argc, char **argv);

#endif
