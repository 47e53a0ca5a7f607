/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest of mfcolo-vm, shared by the VM (its vCPU runs it) and the
 * harness (which replays it to know exactly what a VM wrote).
 *
 * A workload is a deterministic function of its VcpuState: one step
 * writes guest memory and advances the state.  So the memory a VM must
 * hold is "image at checkpoint f, then (steps_now - steps_f) steps from
 * the vCPU state recorded at f" - computable without trusting the VM.
 *
 *   increment   QEMU migration-test's guest: add 1 to the first byte of
 *               each page of the range, page after page, forever
 *   random      xorshift64*: a page, a byte in it and a value per step;
 *               one step in eight zeroes the page instead (zero pages
 *               that were not zero at the previous checkpoint)
 *   sequential  a file upload: 64-byte records in address order, wrapping
 */
#ifndef MFCOLO_QTEST_GUEST_H
#define MFCOLO_QTEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_PAGE_SIZE 4096u

typedef enum GuestKind {
    GUEST_NONE,
    GUEST_INCREMENT,
    GUEST_RANDOM,
    GUEST_SEQUENTIAL,
} GuestKind;

/* The workload's range and constants (same on every VM of a test). */
typedef struct GuestSpec {
    uint32_t kind;
    uint64_t start; /* guest address, page aligned */
    uint64_t len;   /* bytes, page multiple */
    uint64_t seed;
    uint32_t delay_us; /* vCPU pause every 64 steps (not state) */
} GuestSpec;

/* The vCPU's architectural state: all a checkpoint must carry. */
typedef struct VcpuState {
    uint32_t kind;
    uint64_t pos;   /* next page (increment) or byte (sequential) */
    uint64_t pass;  /* completed passes */
    uint64_t prng;  /* random workload generator */
    uint64_t steps; /* steps done since the VM started (primary's count) */
} VcpuState;

/* Memory access of one step; write marks the page dirty first. */
typedef struct GuestMem {
    void *opaque;
    void (*read)(void *opaque, uint64_t addr, void *buf, size_t len);
    void (*write)(void *opaque, uint64_t addr, const void *buf, size_t len);
} GuestMem;

/* Parse "KIND[,start=A][,len=N][,delay-us=U]" over @ram_size bytes. */
bool guest_spec_parse(GuestSpec *g, const char *spec, uint64_t ram_size,
                      uint64_t seed);
/* The state a VM starts with. */
void guest_state_init(const GuestSpec *g, VcpuState *st);
/* One step. */
void guest_step(const GuestSpec *g, VcpuState *st, const GuestMem *m);
/* Replay @n steps over a flat memory image of the whole guest. */
void guest_replay(const GuestSpec *g, VcpuState *st, uint8_t *mem, uint64_t n);
const char *guest_kind_name(uint32_t kind);

/* State blob: the checkpoint's device state, ckpt-<n>.vcpu files. */
#define GUEST_STATE_BLOB 64
void guest_state_encode(const VcpuState *st, uint64_t checkpoint,
                        uint8_t buf[GUEST_STATE_BLOB]);
bool guest_state_decode(const uint8_t *buf, size_t len, VcpuState *st,
                        uint64_t *checkpoint);

#endif /* MFCOLO_QTEST_GUEST_H */
