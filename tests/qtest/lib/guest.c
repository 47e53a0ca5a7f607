/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest workloads of mfcolo-vm (see guest.h). */
#include <stdlib.h>
#include <string.h>

#include "base/be.h"
#include "guest.h"

#define GUEST_RECORD 64
#define GUEST_BLOB_MAGIC 0x4d46564du /* "MFVM" */

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

const char *guest_kind_name(uint32_t kind)
{
    switch (kind) {
    case GUEST_INCREMENT:
        return "increment";
    case GUEST_RANDOM:
        return "random";
    case GUEST_SEQUENTIAL:
        return "sequential";
    default:
        return "none";
    }
}

static bool opt_u64(const char *s, const char *key, uint64_t *out)
{
    size_t n = strlen(key);
    char *end;

    if (strncmp(s, key, n) != 0 || s[n] != '=') {
        return false;
    }
    *out = strtoull(s + n + 1, &end, 0);
    if (*end == 'K' || *end == 'k') {
        *out <<= 10;
    } else if (*end == 'M' || *end == 'm') {
        *out <<= 20;
    }
    return true;
}

bool guest_spec_parse(GuestSpec *g, const char *spec, uint64_t ram_size,
                      uint64_t seed)
{
    char *copy = strdup(spec && *spec ? spec : "increment");
    char *save = NULL;
    char *tok;
    bool ok = true;

    memset(g, 0, sizeof(*g));
    g->len = ram_size;
    g->seed = seed;
    g->delay_us = 200;
    if (!copy) {
        return false;
    }
    tok = strtok_r(copy, ",", &save);
    if (strcmp(tok, "increment") == 0) {
        g->kind = GUEST_INCREMENT;
    } else if (strcmp(tok, "random") == 0) {
        g->kind = GUEST_RANDOM;
    } else if (strcmp(tok, "sequential") == 0) {
        g->kind = GUEST_SEQUENTIAL;
    } else if (strcmp(tok, "none") == 0) {
        g->kind = GUEST_NONE;
    } else {
        ok = false;
    }
    while (ok && (tok = strtok_r(NULL, ",", &save)) != NULL) {
        uint64_t v;
        if (opt_u64(tok, "start", &v)) {
            g->start = v;
        } else if (opt_u64(tok, "len", &v)) {
            g->len = v;
        } else if (opt_u64(tok, "delay-us", &v)) {
            g->delay_us = (uint32_t)v;
        } else {
            ok = false;
        }
    }
    free(copy);
    return ok && g->start % GUEST_PAGE_SIZE == 0 &&
           g->len % GUEST_PAGE_SIZE == 0 && g->len >= GUEST_PAGE_SIZE &&
           g->start <= ram_size && g->len <= ram_size - g->start;
}

void guest_state_init(const GuestSpec *g, VcpuState *st)
{
    memset(st, 0, sizeof(*st));
    st->kind = g->kind;
    st->prng = g->seed * 0x9e3779b97f4a7c15ull + 1;
}

void guest_step(const GuestSpec *g, VcpuState *st, const GuestMem *m)
{
    uint64_t pages = g->len / GUEST_PAGE_SIZE;

    switch (st->kind) {
    case GUEST_INCREMENT: {
        uint64_t addr = g->start + st->pos * GUEST_PAGE_SIZE;
        uint8_t b;

        m->read(m->opaque, addr, &b, 1);
        b++;
        m->write(m->opaque, addr, &b, 1);
        if (++st->pos == pages) {
            st->pos = 0;
            st->pass++;
        }
        break;
    }
    case GUEST_RANDOM: {
        uint64_t r = xorshift64s(&st->prng);
        uint64_t page = g->start + (r % pages) * GUEST_PAGE_SIZE;
        uint8_t b = (uint8_t)(r >> 32);

        if (((r >> 24) & 7) == 0) {
            /* One step in eight zeroes the whole page: a page non-zero at
             * one checkpoint and zero at the next
             * (docs/qemu-reference.md#gap-zero-pages). */
            static const uint8_t zero[GUEST_PAGE_SIZE];
            m->write(m->opaque, page, zero, sizeof(zero));
        } else {
            m->write(m->opaque, page + ((r >> 40) % GUEST_PAGE_SIZE), &b, 1);
        }
        break;
    }
    case GUEST_SEQUENTIAL: {
        uint8_t rec[GUEST_RECORD];
        uint64_t addr = g->start + st->pos;
        unsigned i;

        for (i = 0; i < sizeof(rec); i += 8) {
            mf_be64_store(rec + i, (st->pass << 40) ^ (st->pos + i) ^ g->seed);
        }
        m->write(m->opaque, addr, rec, sizeof(rec));
        st->pos += sizeof(rec);
        if (st->pos + sizeof(rec) > g->len) {
            st->pos = 0;
            st->pass++;
        }
        break;
    }
    default:
        return;
    }
    st->steps++;
}

static void flat_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    memcpy(buf, (uint8_t *)opaque + addr, len);
}

static void flat_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
    memcpy((uint8_t *)opaque + addr, buf, len);
}

void guest_replay(const GuestSpec *g, VcpuState *st, uint8_t *mem, uint64_t n)
{
    GuestMem m = { mem, flat_read, flat_write };

    while (n--) {
        guest_step(g, st, &m);
    }
}

void guest_state_encode(const VcpuState *st, uint64_t checkpoint,
                        uint8_t buf[GUEST_STATE_BLOB])
{
    memset(buf, 0, GUEST_STATE_BLOB);
    mf_be32_store(buf, GUEST_BLOB_MAGIC);
    mf_be32_store(buf + 4, st->kind);
    mf_be64_store(buf + 8, checkpoint);
    mf_be64_store(buf + 16, st->pos);
    mf_be64_store(buf + 24, st->pass);
    mf_be64_store(buf + 32, st->prng);
    mf_be64_store(buf + 40, st->steps);
}

bool guest_state_decode(const uint8_t *buf, size_t len, VcpuState *st,
                        uint64_t *checkpoint)
{
    if (len < GUEST_STATE_BLOB || mf_be32_load(buf) != GUEST_BLOB_MAGIC) {
        return false;
    }
    st->kind = mf_be32_load(buf + 4);
    *checkpoint = mf_be64_load(buf + 8);
    st->pos = mf_be64_load(buf + 16);
    st->pass = mf_be64_load(buf + 24);
    st->prng = mf_be64_load(buf + 32);
    st->steps = mf_be64_load(buf + 40);
    return true;
}
