/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The harnesses' allocator for core/'s large buffers (fuzz-pool.h). */
#include "fuzz-pool.h"

#include <pthread.h>
#include <stdint.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_POOL_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_POOL_CACHE 1
#endif
#endif

#ifdef FUZZ_POOL_CACHE
#include <sanitizer/asan_interface.h>
#endif

#define POOL_BUCKETS 256              /* free lists, by size hash */
#define POOL_CACHE_MAX (512ull << 20) /* bytes kept at most */

/*
 * Each buffer starts with its size and, while cached, the next cached
 * buffer of its bucket (32 bytes keep the user part aligned).
 */
typedef union PoolHdr {
    struct {
        size_t size;
        union PoolHdr *next;
    } h;
    max_align_t align[2];
} PoolHdr;

typedef struct Pool {
    pthread_mutex_t lock;
    uint64_t out;                  /* buffers handed out, not back */
    PoolHdr *bucket[POOL_BUCKETS]; /* cached buffers */
    uint64_t cached;               /* their bytes */
} Pool;

static Pool pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned pool_bucket(size_t size)
{
    return (unsigned)((size * 0x9e3779b97f4a7c15ull) >> 56) % POOL_BUCKETS;
}

static void *pool_alloc(void *opaque, size_t size)
{
    PoolHdr **link, *h = NULL;

    (void)opaque;
    pthread_mutex_lock(&pool.lock);
    for (link = &pool.bucket[pool_bucket(size)]; *link;
         link = &(*link)->h.next) {
        if ((*link)->h.size == size) {
            h = *link;
            *link = h->h.next;
            pool.cached -= size;
            break;
        }
    }
    pool.out++;
    pthread_mutex_unlock(&pool.lock);
    if (h) {
#ifdef FUZZ_POOL_CACHE
        ASAN_UNPOISON_MEMORY_REGION(h + 1, size);
#endif
        return h + 1;
    }
    if (size > SIZE_MAX - sizeof(*h)) {
        h = NULL;
    } else {
        h = malloc(sizeof(*h) + size);
    }
    if (!h) {
        pthread_mutex_lock(&pool.lock);
        pool.out--;
        pthread_mutex_unlock(&pool.lock);
        return NULL;
    }
    h->h.size = size;
    return h + 1;
}

static void pool_free(void *opaque, void *ptr)
{
    PoolHdr *h = (PoolHdr *)ptr - 1;

    (void)opaque;
    pthread_mutex_lock(&pool.lock);
    pool.out--;
#ifdef FUZZ_POOL_CACHE
    if (pool.cached + h->h.size <= POOL_CACHE_MAX) {
        unsigned b = pool_bucket(h->h.size);

        h->h.next = pool.bucket[b];
        pool.bucket[b] = h;
        pool.cached += h->h.size;
        ASAN_POISON_MEMORY_REGION(ptr, h->h.size);
        pthread_mutex_unlock(&pool.lock);
        return;
    }
#endif
    pthread_mutex_unlock(&pool.lock);
    free(h);
}

/*
 * ASan's quarantine, 4 MiB instead of 256 (every harness links this
 * file).  With 256 MiB of recently freed memory held back, every small
 * malloc/free pair cost 1-1.5 us here (cold cache lines, page faults),
 * more than the harnesses' own work.  Each harness frees everything it
 * allocated within the input, nothing freed is reachable from a later
 * input and no input frees anywhere near 4 MiB (large buffers come from
 * the pool above): a use after free can only hit memory freed during the
 * current input, which is still in quarantine.  ASAN_OPTIONS overrides
 * this, flag by flag.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=4";
}

static const MfAllocator pool_ops = {
    .alloc = pool_alloc,
    .free = pool_free,
    .opaque = NULL,
};

const MfAllocator *fuzz_pool(void)
{
    return &pool_ops;
}

void fuzz_pool_check_empty(void)
{
    uint64_t out;

    pthread_mutex_lock(&pool.lock);
    out = pool.out;
    pthread_mutex_unlock(&pool.lock);
    FUZZ_CHECK(out == 0, "%llu buffer(s) of core/ never given back",
               (unsigned long long)out);
}
