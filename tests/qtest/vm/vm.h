/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-vm: a simulated VM for the qtest tier.  One binary runs as a COLO
 * primary or (with -incoming) as a secondary.  Guest memory is a set of
 * named RAM blocks laid out one after another in a flat guest address
 * space; a vCPU thread runs a seeded workload over it; QMP and the qtest
 * line protocol control it.  Test code only: the secondary hands every
 * byte it receives to core/.
 */
#ifndef MFCOLO_QTEST_VM_H
#define MFCOLO_QTEST_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "wire/multifd.h"

#define VM_MAX_BLOCKS 8
#define VM_PAGE_SIZE 4096u

typedef struct VmBlock {
    char name[256];
    uint64_t base; /* guest address of the block's first byte */
    uint64_t size; /* used_length */
    uint8_t *host; /* points into Vm.mem */
} VmBlock;

typedef struct Vcpu {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool run;     /* requested */
    bool running; /* acknowledged by the thread */
    bool quit;
    VcpuState st;
    GuestSpec spec;
} Vcpu;

typedef struct Qmp Qmp;
typedef struct MigSrc MigSrc;
typedef struct MigDst MigDst;

/* A hook the secondary installs to see its vCPU's writes (COLO dirty). */
typedef void (*VmDirtyHook)(void *opaque, const VmBlock *b, uint64_t off);

typedef struct Vm {
    const char *name;
    const char *incoming; /* -incoming URI or NULL (primary) */
    const char *ckpt_dir; /* primary: checkpoint images go here */
    uint64_t seed;
    uint8_t uuid[WIRE_UUID_SIZE];

    VmBlock blocks[VM_MAX_BLOCKS];
    size_t nblocks;
    uint64_t ram_size;
    uint64_t npages;
    uint8_t *mem;

    /* Pages written since the primary last sent them (atomic bits). */
    unsigned long *dirty;
    /* Secondary: pages its vCPU wrote since the last applied checkpoint. */
    unsigned long *own_dirty;
    VmDirtyHook dirty_hook; /* changed only with the vCPU stopped */
    void *dirty_opaque;

    Vcpu vcpu;
    Qmp *qmp;

    pthread_mutex_t lock; /* run state and migration settings */
    char runstate[32];
    bool cap_multifd, cap_colo, cap_return_path;
    uint32_t channels;
    WireCompression compression;
    uint32_t checkpoint_delay_ms;
    bool sender_72; /* x-mfcolo-sender "qemu-7.2" (primary) */
    char mig_status[32];

    MigSrc *src;
    MigDst *dst;
    bool quit;
    int wake_fd[2]; /* main loop wake-up (quit) */
} Vm;

/* main.c */
const VmBlock *vm_block_at(const Vm *vm, uint64_t addr);
const VmBlock *vm_block_by_name(const Vm *vm, const char *name);
/* Copy guest memory out/in; false when the range leaves guest memory. */
bool vm_mem_read(Vm *vm, uint64_t addr, void *buf, uint64_t len);
bool vm_mem_write(Vm *vm, uint64_t addr, const void *buf, uint64_t len);
/* Mark @addr's page written (dirty log, own log, hook). */
void vm_mark_dirty(Vm *vm, uint64_t addr);
/* Run state changes with their QMP events. */
void vm_set_runstate(Vm *vm, const char *state);
void vm_get_runstate(Vm *vm, char *buf, size_t size);
void vm_set_mig_status(Vm *vm, const char *status);
void vm_get_mig_status(Vm *vm, char *buf, size_t size);
/* Stop (STOP event, @state) / start (RESUME event, "running"). */
void vm_stop(Vm *vm, const char *state);
void vm_start(Vm *vm);
void vm_request_quit(Vm *vm);
void vm_log(Vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vcpu.c */
bool vcpu_init(Vm *vm, const char *spec);
void vcpu_pause(Vm *vm); /* returns once the thread stopped writing */
void vcpu_resume(Vm *vm);
bool vcpu_is_running(Vm *vm);
void vcpu_get_state(Vm *vm, VcpuState *st); /* vCPU paused */
void vcpu_set_state(Vm *vm, const VcpuState *st);
void vcpu_destroy(Vm *vm);

/* The vCPU state rides in the device state as a GUEST_STATE_BLOB. */
#define VM_DEVSTATE_SIZE GUEST_STATE_BLOB

#endif /* MFCOLO_QTEST_VM_H */
