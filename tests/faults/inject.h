/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Nth-hit injection: one libfiu external callback on the mfcolo wildcard counts
 * the hits of the points matching a filter and decides which fail.
 *
 *   INJECT_TRANSIENT   hit N fails, no other
 *   INJECT_PERSISTENT  every hit from N on fails
 *   INJECT_COMPOUND    hit N and hit N + M fail (a second fault while the
 *                      receiver handles the first)
 *   INJECT_RETRY       hits N, N + 2, N + 4, ... fail with errno EINTR:
 *                      not an error, the run must succeed unchanged
 *
 * Counters are atomic (channel threads hit points concurrently).  The
 * state lives in memory shared with a forking parent, so the parent
 * learns how many hits there were and which point failed first.
 */
#ifndef MFCOLO_FAULTS_INJECT_H
#define MFCOLO_FAULTS_INJECT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum InjectMode {
    INJECT_TRANSIENT,
    INJECT_PERSISTENT,
    INJECT_COMPOUND,
    INJECT_RETRY,
} InjectMode;

#define INJECT_NAME_LEN 48
#define INJECT_MAX_FIRED 8

typedef struct Inject {
    /* Set before the run. */
    char filter[INJECT_NAME_LEN]; /* exact name, or prefix ending in '*' */
    InjectMode mode;
    uint64_t n;    /* 1-based hit to fail; 0 = count only */
    uint64_t m;    /* compound: distance of the second fault */
    int errno_pin; /* failinfo: errno for I/O points; 0 = default */
    /* Filled during the run. */
    bool armed;
    uint64_t hits;  /* matching hits */
    uint64_t fired; /* hits made to fail */
    uint32_t nnames;
    char names[INJECT_MAX_FIRED][INJECT_NAME_LEN]; /* distinct, in order */
} Inject;

/* fiu_init + fiu_enable_external on every point, pointing at @state. */
void inject_install(Inject *state);
/* Reset the counters of @state and set what to fail. */
void inject_arm(Inject *state, const char *filter, InjectMode mode, uint64_t n,
                uint64_t m, int errno_pin);
/* Stop failing (counting stops too). */
void inject_disarm(Inject *state);
const char *inject_mode_name(InjectMode mode);
bool inject_mode_parse(const char *s, InjectMode *mode);

#endif /* MFCOLO_FAULTS_INJECT_H */
