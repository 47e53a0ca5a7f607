/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The real libfiu calls, not fiu-local's no-op macros. */
#ifndef FIU_ENABLE
#define FIU_ENABLE 1
#endif
#include <fiu.h>
#include <fiu-control.h>

#include "catalogue.h"
#include "inject.h"

/* The one callback libfiu calls; test code, so a global is fine here. */
static Inject *inject_state;
static pthread_mutex_t inject_lock = PTHREAD_MUTEX_INITIALIZER;

static bool inject_match(const char *filter, const char *name)
{
    size_t len = strlen(filter);

    if (len && filter[len - 1] == '*') {
        return !strncmp(filter, name, len - 1);
    }
    return !strcmp(filter, name);
}

static bool inject_decide(const Inject *s, uint64_t h)
{
    switch (s->mode) {
    case INJECT_TRANSIENT:
        return h == s->n;
    case INJECT_PERSISTENT:
        return h >= s->n;
    case INJECT_COMPOUND:
        return h == s->n || h == s->n + s->m;
    case INJECT_RETRY:
        return h >= s->n && (h - s->n) % 2 == 0;
    }
    return false;
}

static void inject_record(Inject *s, const char *name)
{
    uint32_t i;

    s->fired++;
    for (i = 0; i < s->nnames; i++) {
        if (!strcmp(s->names[i], name)) {
            return;
        }
    }
    if (s->nnames < INJECT_MAX_FIRED) {
        snprintf(s->names[s->nnames++], INJECT_NAME_LEN, "%s", name);
    }
}

static int inject_cb(const char *name, int *failnum, void **failinfo,
                     unsigned *flags)
{
    Inject *s = inject_state;
    bool fail = false;

    (void)flags;
    pthread_mutex_lock(&inject_lock);
    if (!strcmp(name, "mfcolo/*")) {
        name = "mfcolo/(not in the catalogue)";
    }
    if (s && s->armed && inject_match(s->filter, name)) {
        uint64_t h = ++s->hits;

        fail = s->n && inject_decide(s, h);
        if (fail) {
            inject_record(s, name);
        }
        *failinfo = (void *)(intptr_t)s->errno_pin;
    }
    pthread_mutex_unlock(&inject_lock);
    *failnum = 1;
    return fail;
}

void inject_install(Inject *state)
{
    memset(state, 0, sizeof(*state));
    size_t i;

    inject_state = state;
    fiu_init(0);
    /*
     * libfiu hands the callback the name it was enabled with, so every
     * catalogued point is enabled by its own name; the wildcard catches
     * a point core/ has and the catalogue lacks (reported by that name).
     */
    for (i = 0; i < catalogue_count(); i++) {
        if (fiu_enable_external(catalogue_point(i)->name, 1, NULL, 0,
                                inject_cb) != 0) {
            fprintf(stderr, "fiu_enable_external failed\n");
            exit(99);
        }
    }
    if (fiu_enable_external("mfcolo/*", 1, NULL, 0, inject_cb) != 0) {
        fprintf(stderr, "fiu_enable_external failed\n");
        exit(99);
    }
}

void inject_arm(Inject *s, const char *filter, InjectMode mode, uint64_t n,
                uint64_t m, int errno_pin)
{
    pthread_mutex_lock(&inject_lock);
    snprintf(s->filter, sizeof(s->filter), "%s", filter);
    s->mode = mode;
    s->n = n;
    s->m = m;
    s->errno_pin = mode == INJECT_RETRY ? EINTR : errno_pin;
    s->hits = 0;
    s->fired = 0;
    s->nnames = 0;
    s->armed = true;
    pthread_mutex_unlock(&inject_lock);
}

void inject_disarm(Inject *s)
{
    pthread_mutex_lock(&inject_lock);
    s->armed = false;
    pthread_mutex_unlock(&inject_lock);
}

static const char *const mode_names[] = {
    [INJECT_TRANSIENT] = "transient",
    [INJECT_PERSISTENT] = "persistent",
    [INJECT_COMPOUND] = "compound",
    [INJECT_RETRY] = "eintr",
};

const char *inject_mode_name(InjectMode mode)
{
    return mode_names[mode];
}

bool inject_mode_parse(const char *s, InjectMode *mode)
{
    size_t i;

    for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
        if (!strcmp(s, mode_names[i])) {
            *mode = (InjectMode)i;
            return true;
        }
    }
    return false;
}
