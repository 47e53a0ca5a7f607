/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The leak check of the default run (leak-check.h): ld --wrap wrappers
 * of malloc, calloc, realloc and free over a set of live blocks, checked
 * when the program exits.  The set is an open-addressing hash table in
 * memory of its own (mmap), so it never calls the allocator it watches.
 */
#include "leak-check.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What ld --wrap=NAME links: __real_NAME is the C library's NAME. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
void __wrap_free(void *ptr);

#define LEAK_TOMB ((void *)1)
#define LEAK_MIN_CAP 4096u
#define LEAK_SHOW 20u
#define LEAK_CALLERS 8192u

typedef struct LeakEntry {
    void *ptr; /* NULL: never used; LEAK_TOMB: freed */
    size_t size;
    void *caller;
} LeakEntry;

typedef struct LeakSet {
    pthread_mutex_t lock;
    LeakEntry *tab;
    size_t cap;    /* a power of two */
    size_t filled; /* live and freed slots */
    size_t live;
    size_t bytes;
    bool broken; /* the table could not grow: no check */
    pid_t pid;   /* the process that checks at exit */
    /* every distinct allocating call, for MFCOLO_LEAK_SITES */
    void *callers[LEAK_CALLERS];
    size_t ncallers;
} LeakSet;

/* The one set of the process: the wrappers have no argument to carry it. */
static LeakSet leak_set = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t leak_hash(const void *ptr, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)ptr >> 4;

    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static void leak_place(LeakEntry *tab, size_t cap, const LeakEntry *e)
{
    size_t i = leak_hash(e->ptr, cap);

    while (tab[i].ptr) {
        i = (i + 1) & (cap - 1);
    }
    tab[i] = *e;
}

/* Room for one more entry; false when no memory (the check is off). */
static bool leak_reserve(LeakSet *s)
{
    size_t cap = s->cap ? s->cap : LEAK_MIN_CAP;
    LeakEntry *tab;
    size_t i;

    if (s->tab && (s->filled + 1) * 4 < s->cap * 3) {
        return true;
    }
    while ((s->live + 1) * 2 > cap) {
        cap *= 2;
    }
    tab = mmap(NULL, cap * sizeof(*tab), PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tab == MAP_FAILED) {
        s->broken = true;
        return false;
    }
    for (i = 0; i < s->cap; i++) {
        if (s->tab[i].ptr && s->tab[i].ptr != LEAK_TOMB) {
            leak_place(tab, cap, &s->tab[i]);
        }
    }
    if (s->tab) {
        munmap(s->tab, s->cap * sizeof(*s->tab));
    }
    s->tab = tab;
    s->cap = cap;
    s->filled = s->live;
    return true;
}

/* Note @caller among the distinct calls (a full table drops it). */
static void leak_note_caller(LeakSet *s, void *caller)
{
    size_t i = leak_hash(caller, LEAK_CALLERS);

    while (s->callers[i] && s->callers[i] != caller) {
        i = (i + 1) & (LEAK_CALLERS - 1);
    }
    if (!s->callers[i] && s->ncallers < LEAK_CALLERS / 2) {
        s->callers[i] = caller;
        s->ncallers++;
    }
}

static void leak_add(void *ptr, size_t size, void *caller)
{
    LeakSet *s = &leak_set;
    LeakEntry e = { ptr, size, caller };

    pthread_mutex_lock(&s->lock);
    leak_note_caller(s, caller);
    if (!s->broken && leak_reserve(s)) {
        leak_place(s->tab, s->cap, &e);
        s->filled++;
        s->live++;
        s->bytes += size;
    }
    pthread_mutex_unlock(&s->lock);
}

/* Forget @ptr; false when it is not in the set (not ours). */
static bool leak_remove(void *ptr, LeakEntry *was)
{
    LeakSet *s = &leak_set;
    bool found = false;
    size_t i;

    pthread_mutex_lock(&s->lock);
    if (s->tab) {
        for (i = leak_hash(ptr, s->cap); s->tab[i].ptr;
             i = (i + 1) & (s->cap - 1)) {
            if (s->tab[i].ptr == ptr) {
                *was = s->tab[i];
                s->tab[i].ptr = LEAK_TOMB;
                s->live--;
                s->bytes -= s->tab[i].size;
                found = true;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

void *__wrap_malloc(size_t size)
{
    void *p = __real_malloc(size);

    if (p) {
        leak_add(p, size, __builtin_return_address(0));
    }
    return p;
}

void *__wrap_calloc(size_t nmemb, size_t size)
{
    void *p = __real_calloc(nmemb, size);

    if (p) {
        leak_add(p, nmemb * size, __builtin_return_address(0));
    }
    return p;
}

void *__wrap_realloc(void *ptr, size_t size)
{
    LeakEntry was = { 0 };
    bool ours = ptr == NULL || leak_remove(ptr, &was);
    void *p = __real_realloc(ptr, size);

    if (p && ours) {
        leak_add(p, size, __builtin_return_address(0));
    } else if (!p && ptr && size && ours) {
        /* refused: the old block is still there, and still ours */
        leak_add(ptr, was.size, was.caller);
    }
    return p;
}

void __wrap_free(void *ptr)
{
    LeakEntry was;

    if (ptr) {
        leak_remove(ptr, &was);
    }
    __real_free(ptr);
}

SupLeakCount sup_leak_live(void)
{
    SupLeakCount c;

    pthread_mutex_lock(&leak_set.lock);
    c.blocks = leak_set.live;
    c.bytes = leak_set.bytes;
    pthread_mutex_unlock(&leak_set.lock);
    return c;
}

/* "PROGRAM+0xOFFSET" of the call instruction before @ret. */
static void leak_where(void *ret, char *buf, size_t size)
{
    Dl_info info;

    if (dladdr(ret, &info) && info.dli_fname) {
        snprintf(buf, size, "%s+0x%" PRIxPTR, info.dli_fname,
                 (uintptr_t)ret - 1 - (uintptr_t)info.dli_fbase);
    } else {
        snprintf(buf, size, "%p", ret);
    }
}

static void leak_report_one(const LeakEntry *e)
{
    char where[1100];

    leak_where(e->caller, where, sizeof(where));
    fprintf(stderr, "leak-check:   %zu bytes allocated at %s\n", e->size,
            where);
}

/*
 * MFCOLO_LEAK_SITES=FILE: append one line "PROGRAM OFFSET" per distinct
 * allocating call of this run (docs/verification.md lists core/'s).
 */
static void leak_write_sites(const LeakSet *s, const char *path)
{
    FILE *f = fopen(path, "a");
    char where[1100], *plus;
    size_t i;

    if (!f) {
        return;
    }
    for (i = 0; i < LEAK_CALLERS; i++) {
        if (s->callers[i]) {
            leak_where(s->callers[i], where, sizeof(where));
            plus = strrchr(where, '+');
            if (plus) {
                *plus = ' ';
            }
            fprintf(f, "%s\n", where);
        }
    }
    fclose(f);
}

static void leak_at_exit(void)
{
    LeakSet *s = &leak_set;
    const char *env = getenv("MFCOLO_LEAK_CHECK");
    const char *sites = getenv("MFCOLO_LEAK_SITES");
    size_t i, shown = 0;

    if (sites && getpid() == s->pid) {
        pthread_mutex_lock(&s->lock);
        leak_write_sites(s, sites);
        pthread_mutex_unlock(&s->lock);
    }
    if (getpid() != s->pid || (env && strcmp(env, "0") == 0) || s->broken) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->live == 0) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    fflush(NULL);
    fprintf(stderr,
            "leak-check: %zu blocks (%zu bytes) still live at exit "
            "(addr2line -e PROGRAM OFFSET names the call)\n",
            s->live, s->bytes);
    for (i = 0; i < s->cap && shown < LEAK_SHOW; i++) {
        if (s->tab[i].ptr && s->tab[i].ptr != LEAK_TOMB) {
            leak_report_one(&s->tab[i]);
            shown++;
        }
    }
    _exit(1);
}

static void leak_fork_prepare(void)
{
    pthread_mutex_lock(&leak_set.lock);
}

static void leak_fork_done(void)
{
    pthread_mutex_unlock(&leak_set.lock);
}

__attribute__((constructor)) static void leak_init(void)
{
    leak_set.pid = getpid();
    pthread_atfork(leak_fork_prepare, leak_fork_done, leak_fork_done);
    atexit(leak_at_exit);
}
