/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mutexes of core/: pthread mutexes of the error-checking kind, whose
 * misuse is fatal.
 *
 * mf_mutex_init() makes a PTHREAD_MUTEX_ERRORCHECK mutex and returns 0,
 * or the errno value of the failure for the caller to report (the mutex
 * is then unusable and must not be destroyed).  Fault point
 * "mfcolo/base/mutex-init" simulates that failure (errno from its
 * failinfo, EAGAIN by default).
 *
 * The other calls return only on success.  When pthread refuses one (a
 * lock of a mutex the calling thread holds: EDEADLK; an unlock, or a
 * condition wait, by a thread that does not hold it: EPERM; a destroy of
 * a locked mutex: EBUSY), it writes one line naming the call site
 *
 *     mfcolo: <file>:<line>: <pthread call> failed: <ERRNO> (<description>)
 *
 * to stderr and calls abort().  Such a failure is a programming error in
 * core/ (a lock or unlock missing, doubled or on the wrong thread), never
 * a consequence of input: no byte of a stream, no configuration and no
 * failed allocation can lead to one, so an embedder has nothing to
 * handle.  Being fatal, a missing lock or unlock aborts the first test
 * that runs the path, every time, instead of leaving a data race that a
 * test catches only sometimes.  (QEMU's qemu_mutex_lock and
 * qemu_mutex_unlock also treat a failure as fatal.)
 */
#ifndef MFCOLO_BASE_MUTEX_H
#define MFCOLO_BASE_MUTEX_H

#include <pthread.h>

int mf_mutex_init(pthread_mutex_t *m);

void mf_mutex_destroy_at(pthread_mutex_t *m, const char *file, int line);
void mf_mutex_lock_at(pthread_mutex_t *m, const char *file, int line);
void mf_mutex_unlock_at(pthread_mutex_t *m, const char *file, int line);
/* pthread_cond_wait() of @c on @m, which the caller holds. */
void mf_cond_wait_at(pthread_cond_t *c, pthread_mutex_t *m, const char *file,
                     int line);

#define mf_mutex_destroy(m) mf_mutex_destroy_at((m), __FILE__, __LINE__)
#define mf_mutex_lock(m) mf_mutex_lock_at((m), __FILE__, __LINE__)
#define mf_mutex_unlock(m) mf_mutex_unlock_at((m), __FILE__, __LINE__)
#define mf_cond_wait(c, m) mf_cond_wait_at((c), (m), __FILE__, __LINE__)

#endif /* MFCOLO_BASE_MUTEX_H */
