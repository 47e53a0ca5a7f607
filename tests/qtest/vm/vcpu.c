/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vCPU thread: runs the guest workload (tests/qtest/lib/guest.c) over
 * guest memory, and stops and resumes on command.  Every write goes
 * through vm_mark_dirty() first, so the primary's dirty log and the
 * secondary's COLO guest-dirty log see it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm.h"

#define VCPU_BATCH 64

static void vcpu_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    vm_mem_read(opaque, addr, buf, len);
}

static void vcpu_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
    vm_mem_write(opaque, addr, buf, len); /* marks the pages dirty */
}

static void *vcpu_thread(void *opaque)
{
    Vm *vm = opaque;
    Vcpu *v = &vm->vcpu;
    GuestMem m = { vm, vcpu_read, vcpu_write };

    pthread_mutex_lock(&v->lock);
    while (!v->quit) {
        int i;

        if (!v->run || v->st.kind == GUEST_NONE) {
            if (v->running) {
                v->running = false;
                pthread_cond_broadcast(&v->cond);
            }
            pthread_cond_wait(&v->cond, &v->lock);
            continue;
        }
        v->running = true;
        pthread_mutex_unlock(&v->lock);
        /* The state is only touched here while running (pause waits). */
        for (i = 0;
             i < VCPU_BATCH && __atomic_load_n(&v->run, __ATOMIC_ACQUIRE);
             i++) {
            guest_step(&v->spec, &v->st, &m);
        }
        if (v->spec.delay_us) {
            struct timespec ts = { 0, (long)v->spec.delay_us * 1000 };
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&v->lock);
    }
    v->running = false;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

bool vcpu_init(Vm *vm, const char *spec)
{
    Vcpu *v = &vm->vcpu;

    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    if (!guest_spec_parse(&v->spec, spec, vm->ram_size, vm->seed)) {
        return false;
    }
    guest_state_init(&v->spec, &v->st);
    if (pthread_create(&v->thread, NULL, vcpu_thread, vm) != 0) {
        return false;
    }
    v->started = true;
    return true;
}

void vcpu_pause(Vm *vm)
{
    Vcpu *v = &vm->vcpu;

    pthread_mutex_lock(&v->lock);
    __atomic_store_n(&v->run, false, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&v->cond);
    while (v->running) {
        pthread_cond_wait(&v->cond, &v->lock);
    }
    pthread_mutex_unlock(&v->lock);
}

void vcpu_resume(Vm *vm)
{
    Vcpu *v = &vm->vcpu;

    pthread_mutex_lock(&v->lock);
    __atomic_store_n(&v->run, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

bool vcpu_is_running(Vm *vm)
{
    bool r;

    pthread_mutex_lock(&vm->vcpu.lock);
    r = vm->vcpu.run;
    pthread_mutex_unlock(&vm->vcpu.lock);
    return r;
}

void vcpu_get_state(Vm *vm, VcpuState *st)
{
    pthread_mutex_lock(&vm->vcpu.lock);
    *st = vm->vcpu.st;
    pthread_mutex_unlock(&vm->vcpu.lock);
}

void vcpu_set_state(Vm *vm, const VcpuState *st)
{
    pthread_mutex_lock(&vm->vcpu.lock);
    vm->vcpu.st = *st;
    pthread_mutex_unlock(&vm->vcpu.lock);
}

void vcpu_destroy(Vm *vm)
{
    Vcpu *v = &vm->vcpu;

    if (!v->started) {
        return;
    }
    pthread_mutex_lock(&v->lock);
    v->quit = true;
    __atomic_store_n(&v->run, false, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    v->started = false;
}
