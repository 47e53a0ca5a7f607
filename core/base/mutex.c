/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/mutex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fault.h"

int mf_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    int rc;

    if (mf_fault("mfcolo/base/mutex-init")) {
        return mf_fault_errno(EAGAIN);
    }
    /*
     * Handled, though glibc never fails these two (the attribute is plain
     * memory and the type is valid): coverage leaves their failure
     * branches out (GCOVR_EXCL_BR_LINE, docs/ci.md).
     */
    rc = pthread_mutexattr_init(&attr);
    if (rc == 0) { /* GCOVR_EXCL_BR_LINE */
        rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
        if (rc == 0) { /* GCOVR_EXCL_BR_LINE */
            rc = pthread_mutex_init(m, &attr);
        }
        pthread_mutexattr_destroy(&attr);
    }
    return rc;
}

/* A pthread call refused: a bug of the caller (base/mutex.h). */
__attribute__((noreturn)) static void mutex_fail(const char *call, int rc,
                                                 const char *file, int line)
{
    const char *name = strerrorname_np(rc);
    const char *desc = strerrordesc_np(rc);

    /* @rc comes from pthread: always a known errno. */
    name = name ? name : "unknown errno"; /* GCOVR_EXCL_BR_LINE */
    desc = desc ? desc : "unknown error"; /* GCOVR_EXCL_BR_LINE */
    fprintf(stderr, "mfcolo: %s:%d: %s failed: %s (%s)\n", file, line, call,
            name, desc);
    abort();
}

void mf_mutex_destroy_at(pthread_mutex_t *m, const char *file, int line)
{
    int rc = pthread_mutex_destroy(m);

    if (rc != 0) {
        mutex_fail("pthread_mutex_destroy", rc, file, line);
    }
}

void mf_mutex_lock_at(pthread_mutex_t *m, const char *file, int line)
{
    int rc = pthread_mutex_lock(m);

    if (rc != 0) {
        mutex_fail("pthread_mutex_lock", rc, file, line);
    }
}

void mf_mutex_unlock_at(pthread_mutex_t *m, const char *file, int line)
{
    int rc = pthread_mutex_unlock(m);

    if (rc != 0) {
        mutex_fail("pthread_mutex_unlock", rc, file, line);
    }
}

void mf_cond_wait_at(pthread_cond_t *c, pthread_mutex_t *m, const char *file,
                     int line)
{
    int rc = pthread_cond_wait(c, m);

    if (rc != 0) {
        mutex_fail("pthread_cond_wait", rc, file, line);
    }
}
