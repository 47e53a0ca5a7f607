/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-hostile-gen: write the hostile inputs of the qemu tier
 * (hostile-cases.h) as files, and their manifest.
 *
 *   mfcolo-hostile-gen --data ROOT [--out DIR] [--list] [--check FILE]
 *                      [CASE...]
 *
 * ROOT is the recorded data (tests/data).  With --out, each case goes to
 * DIR/<case, '/' replaced by '_'>/ as main.bin, chan-0.bin, ...; the
 * manifest line of every case (name, compression, file sizes and SHA-256,
 * the edits) is printed on stdout, which is how
 * tests/qemu/hostile-inputs.txt is made.  --list prints the case names
 * with their one-line description.  --check FILE compares the manifest
 * with FILE line by line (the committed tests/qemu/hostile-inputs.txt):
 * exit 1 and the differing lines when an input is not the one recorded.
 * No CASE: every case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostile-cases.h"

static int usage(void)
{
    fprintf(stderr, "usage: mfcolo-hostile-gen --data ROOT [--out DIR] "
                    "[--list] [--check FILE] [CASE...]\n");
    return 2;
}

static void free_all(HostileRecording *rec)
{
    size_t i;

    for (i = 0; i < HOSTILE_NRECORDINGS; i++) {
        hostile_recording_free(&rec[i]);
    }
}

int main(int argc, char **argv)
{
    const char *root = NULL, *out = NULL, *check = NULL;
    FILE *cf = NULL;
    int mismatches = 0;
    const char *want[128];
    size_t nwant = 0, i;
    bool list = false;
    HostileRecording rec[HOSTILE_NRECORDINGS];
    char why[512];
    int a;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--data") && a + 1 < argc) {
            root = argv[++a];
        } else if (!strcmp(argv[a], "--out") && a + 1 < argc) {
            out = argv[++a];
        } else if (!strcmp(argv[a], "--check") && a + 1 < argc) {
            check = argv[++a];
        } else if (!strcmp(argv[a], "--list")) {
            list = true;
        } else if (argv[a][0] != '-' && nwant < 128) {
            if (!hostile_case_find(argv[a])) {
                fprintf(stderr, "mfcolo-hostile-gen: unknown case %s\n",
                        argv[a]);
                return 2;
            }
            want[nwant++] = argv[a];
        } else {
            return usage();
        }
    }
    if (list) {
        for (i = 0; i < hostile_ncases(); i++) {
            const HostileCase *c = hostile_case(i);

            printf("%-32s %s%s\n", c->name, c->what,
                   c->slice ? " [slice]" : "");
        }
        return 0;
    }
    if (!root) {
        return usage();
    }
    memset(rec, 0, sizeof(rec));
    for (i = 0; i < HOSTILE_NRECORDINGS; i++) {
        if (!hostile_recording_load(root, hostile_recordings[i], &rec[i], why,
                                    sizeof(why))) {
            fprintf(stderr, "mfcolo-hostile-gen: %s\n", why);
            free_all(rec);
            return 3;
        }
    }
    if (check) {
        cf = fopen(check, "r");
        if (!cf) {
            fprintf(stderr, "mfcolo-hostile-gen: %s: cannot open\n", check);
            free_all(rec);
            return 3;
        }
    }
    for (i = 0; i < hostile_ncases(); i++) {
        const HostileCase *c = hostile_case(i);
        HostileInput in;
        char line[2048];
        size_t k;
        bool pick = nwant == 0;

        for (k = 0; k < nwant; k++) {
            pick |= !strcmp(want[k], c->name);
        }
        if (!pick) {
            continue;
        }
        hostile_make(c, &rec[hostile_recording_index(c->recording)], &in);
        if (out) {
            char dir[1024], *s;

            snprintf(dir, sizeof(dir), "%s/%s", out, c->name);
            for (s = dir + strlen(out) + 1; *s; s++) {
                *s = *s == '/' ? '_' : *s;
            }
            mkdir(out, 0755);
            if (!hostile_input_write(&in, dir, why, sizeof(why))) {
                fprintf(stderr, "mfcolo-hostile-gen: %s\n", why);
                hostile_input_free(&in);
                free_all(rec);
                return 3;
            }
        }
        hostile_manifest_line(c, &in, line, sizeof(line));
        printf("%s\n", line);
        if (cf) {
            char rec_line[2048];

            if (!fgets(rec_line, sizeof(rec_line), cf)) {
                rec_line[0] = 0;
            }
            rec_line[strcspn(rec_line, "\n")] = 0;
            if (strcmp(rec_line, line)) {
                fprintf(stderr,
                        "MISMATCH %s\n  recorded: %s\n  made:     %s"
                        "\n",
                        c->name, rec_line, line);
                mismatches++;
            }
        }
        hostile_input_free(&in);
    }
    if (cf) {
        char extra[2048];

        if (fgets(extra, sizeof(extra), cf)) {
            fprintf(stderr, "MISMATCH: %s has more lines than cases\n", check);
            mismatches++;
        }
        fclose(cf);
        fprintf(stderr, "%s: %d mismatch(es) in %zu cases\n", check, mismatches,
                hostile_ncases());
    }
    free_all(rec);
    return mismatches ? 1 : 0;
}
