/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Expected outcomes per QEMU version (expect.h). */
#include "expect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libqtest.h"

/* The expectations file to read into @file; false (and why) if none. */
static bool expect_file(const char *prefix, const QTestVersion *v, char *file,
                        size_t fsize)
{
    const char *dir = getenv("MFCOLO_QEMU_EXPECT_DIR");
    const char *name = getenv("MFCOLO_QEMU_EXPECT");

    if (!dir) {
        qt_fail("MFCOLO_QEMU_EXPECT_DIR is not set (run through meson test)");
    }
    if (name) {
        snprintf(file, fsize, "%s/%s.txt", dir, name);
        return access(file, R_OK) == 0;
    }
    snprintf(file, fsize, "%s/%s-%d.%d.%d.txt", dir, prefix, v->major, v->minor,
             v->micro);
    if (!access(file, R_OK)) {
        return true;
    }
    snprintf(file, fsize, "%s/%s-%d.%d.txt", dir, prefix, v->major, v->minor);
    if (!access(file, R_OK)) {
        return true;
    }
    snprintf(file, fsize, "no %s-%d.%d[.%d].txt in %s", prefix, v->major,
             v->minor, v->micro, dir);
    return false;
}

void qemu_expect_lookup(const char *prefix, const QTestVersion *v,
                        const char *name, char *want, size_t size, char *file,
                        size_t fsize)
{
    char line[512];
    FILE *f;

    snprintf(want, size, "ok");
    if (getenv("MFCOLO_QEMU_GATE")) {
        snprintf(file, fsize, "(gate mode: no expectations)");
        return;
    }
    if (!expect_file(prefix, v, file, fsize)) {
        qt_log("no expectations file (%s): every case is expected ok", file);
        return;
    }
    f = fopen(file, "r");
    if (!f) {
        qt_fail("%s: %s", file, strerror(errno));
    }
    while (fgets(line, sizeof(line), f)) {
        char n[256];
        char o[128];

        if (line[0] == '#' || sscanf(line, "%255s %127s", n, o) != 2) {
            continue;
        }
        if (!strcmp(n, name)) {
            snprintf(want, size, "%s", o);
        }
    }
    fclose(f);
}
