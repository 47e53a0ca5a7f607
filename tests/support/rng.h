/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny deterministic PRNG (splitmix64) for seeded test support: the
 * same seed gives the same sequence on every platform and build.
 */
#ifndef MFCOLO_SUPPORT_RNG_H
#define MFCOLO_SUPPORT_RNG_H

#include <stdint.h>

typedef struct SupRng {
    uint64_t state;
} SupRng;

static inline void sup_rng_seed(SupRng *r, uint64_t seed)
{
    r->state = seed;
}

static inline uint64_t sup_rng_next(SupRng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, @n); 0 when @n is 0. */
static inline uint64_t sup_rng_below(SupRng *r, uint64_t n)
{
    return n ? sup_rng_next(r) % n : 0;
}

/* True with probability @percent / 100. */
static inline int sup_rng_percent(SupRng *r, unsigned percent)
{
    return sup_rng_below(r, 100) < percent;
}

#endif /* MFCOLO_SUPPORT_RNG_H */
