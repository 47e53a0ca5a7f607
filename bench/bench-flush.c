/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO flush throughput (core/colo colo_flush) against memcpy of the same
 * pages, for a dense bitmap (every page dirty) and a 1% sparse one
 * (pseudo-random pages), in the same run.  The memcpy baseline copies the
 * same runs of contiguous dirty pages cache -> guest, i.e. the least a
 * flush has to do.  Both memories are pre-faulted; best of REPEATS.
 *
 * usage: bench-flush [BLOCK_MIB (default 256)] [REPEATS (default 5)]
 * Not a test: numbers depend on the machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "colo/colo.h"
#include "ram/ram.h"

#define PS 4096

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pages of the pattern: all (permille 1000) or ~permille/1000 of them. */
static uint64_t pick(uint64_t npages, unsigned permille, uint64_t *out)
{
    uint64_t rng = 0x2545f4914f6cdd1dull, n = 0, i;

    for (i = 0; i < npages; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (permille >= 1000 || rng % 1000 < permille) {
            out[n++] = i * PS;
        }
    }
    return n;
}

static double time_memcpy(uint8_t *guest, const uint8_t *cache,
                          const uint64_t *off, uint64_t n)
{
    double t0 = now();
    uint64_t i = 0;

    while (i < n) {
        uint64_t j = i + 1;

        while (j < n && off[j] == off[j - 1] + PS) {
            j++;
        }
        memcpy(guest + off[i], cache + off[i], (j - i) * PS);
        i = j;
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    static const unsigned permille[2] = { 1000, 10 };
    static const char *names[2] = { "dense 100%", "sparse 1%" };
    uint64_t mib = argc > 1 ? (uint64_t)atoi(argv[1]) : 256;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    uint64_t bytes = mib << 20, npages = bytes / PS;
    uint64_t *off = malloc(npages * sizeof(*off));
    RamTable ram;
    ColoState colo;
    RamBlock *b;
    MfError err;
    int k, r, rc = 0;

    if (!off || mib == 0 || repeats < 1) {
        fprintf(stderr, "usage: %s [BLOCK_MIB] [REPEATS]\n", argv[0]);
        return 2;
    }
    mf_error_clear(&err);
    if (!ram_table_init(&ram, PS, &err) ||
        !(b = ram_table_add(&ram, "pc.ram", bytes, NULL, &err)) ||
        !colo_init(&colo, &ram, &err) || !colo_enter(&colo, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    /* pre-fault both sides */
    memset(b->host, 1, bytes);
    memset(b->colo_cache, 2, bytes);
    printf("bench-flush: one %llu MiB block, %llu pages, best of %d\n",
           (unsigned long long)mib, (unsigned long long)npages, repeats);
    printf("%-11s %8s %6s | %11s | %11s | %6s\n", "bitmap", "pages", "runs",
           "flush MB/s", "memcpy MB/s", "ratio");
    for (k = 0; k < 2; k++) {
        uint64_t n = pick(npages, permille[k], off), runs = 0;
        double best_f = -1, best_m = -1;

        for (r = 0; r < repeats; r++) {
            ColoFlushStats st;
            double t0, tf, tm;
            uint64_t i;

            for (i = 0; i < n; i += 128) {
                uint32_t m = n - i < 128 ? (uint32_t)(n - i) : 128;
                uint8_t *slots[128];
                ColoPacket pk;

                /* recorded at the begin; the cache keeps its bytes */
                if (!colo_place_packet_begin(&pk, &colo, b, off + i, m, NULL, 0,
                                             slots, 0, &err)) {
                    fprintf(stderr, "place: %s\n", err.msg);
                    return 1;
                }
                colo_place_packet_end(&pk);
            }
            t0 = now();
            if (!colo_flush(&colo, &st, &err)) {
                fprintf(stderr, "flush: %s\n", err.msg);
                rc = 1;
                break;
            }
            tf = now() - t0;
            if (st.pages != n) {
                fprintf(stderr, "flush copied %llu pages, expected %llu\n",
                        (unsigned long long)st.pages, (unsigned long long)n);
                rc = 1;
            }
            runs = st.runs;
            tm = time_memcpy(b->host, b->colo_cache, off, n);
            if (best_f < 0 || tf < best_f) {
                best_f = tf;
            }
            if (best_m < 0 || tm < best_m) {
                best_m = tm;
            }
        }
        if (best_f > 0 && best_m > 0) {
            double mf = n * (double)PS / best_f / 1e6;
            double mm = n * (double)PS / best_m / 1e6;

            printf("%-11s %8llu %6llu | %11.0f | %11.0f | %6.2f\n", names[k],
                   (unsigned long long)n, (unsigned long long)runs, mf, mm,
                   mf / mm);
        }
    }
    printf("MB/s = dirty page bytes copied per second; ratio = flush / "
           "memcpy of the same runs.\n");
    colo_destroy(&colo);
    ram_table_destroy(&ram);
    free(off);
    return rc;
}
