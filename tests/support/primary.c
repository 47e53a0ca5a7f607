/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake primary: configuration, stages (precopy, checkpoints), the
 * expected memory per stage, marks and fault bookkeeping.  The bytes of
 * the main channel are in primary-main.c, those of the multifd channels
 * in primary-multifd.c.
 */
#include "primary-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static const uint8_t capture_uuid[WIRE_UUID_SIZE] = {
    0x6d, 0x75, 0x6c, 0x74, 0x69, 0x66, 0x64, 0x63,
    0x61, 0x70, 0x74, 0x75, 0x72, 0x65, 0x21, 0x21,
};

static void primary_die(const char *msg)
{
    fprintf(stderr, "mfcolo fake primary: %s\n", msg);
    abort();
}

void primary_config_init(PrimaryConfig *cfg, PrimaryStyle style,
                         uint32_t channels, WireCompression comp)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->style = style;
    cfg->channels = channels;
    cfg->page_size = WIRE_DEFAULT_PAGE_SIZE;
    cfg->compression = comp;
    cfg->level = 1;
    cfg->zero_pages = PRIMARY_ZERO_DEFAULT;
    memcpy(cfg->uuid, capture_uuid, sizeof(capture_uuid));
    cfg->colo = true;
    cfg->seed = 1;
    cfg->ram_section_id = 2;
    cfg->machine = "pc-i440fx-7.2";
    cfg->sync_ride_percent = 50;
    cfg->device_state_size = 4096;
    cfg->keep_images = true;
}

Primary *primary_new(const PrimaryConfig *cfg, const MemImage *initial)
{
    Primary *p = sup_check_alloc(calloc(1, sizeof(*p)), "primary");

    p->cfg = *cfg;
    snprintf(p->machine, sizeof(p->machine), "%s",
             cfg->machine ? cfg->machine : "pc-i440fx-7.2");
    p->cfg.machine = p->machine;
    if (cfg->device_tail) {
        if (cfg->device_tail_eof >= cfg->device_tail_len ||
            cfg->device_tail[cfg->device_tail_eof] != WIRE_VM_EOF) {
            primary_die("device_tail_eof is not at a QEMU_VM_EOF byte");
        }
        p->device_tail =
            sup_check_alloc(malloc(cfg->device_tail_len), "device tail");
        memcpy(p->device_tail, cfg->device_tail, cfg->device_tail_len);
        p->cfg.device_tail = p->device_tail;
    }
    if (p->cfg.level == 0) {
        p->cfg.level = 1;
    }
    if (initial->page_size != cfg->page_size) {
        primary_die("image page size differs from the configuration");
    }
    p->page_count = wire_page_count(cfg->page_size);
    p->pkt_size = wire_packet_size(cfg->page_size);
    if (p->page_count == 0) {
        primary_die("unusable page size");
    }
    if (p->cfg.max_packet_pages == 0 ||
        p->cfg.max_packet_pages > p->page_count) {
        p->cfg.max_packet_pages = p->page_count;
    }
    p->zero_mode = cfg->zero_pages;
    if (p->zero_mode == PRIMARY_ZERO_DEFAULT ||
        (p->zero_mode == PRIMARY_ZERO_MULTIFD &&
         cfg->style == PRIMARY_QEMU_7_2)) {
        p->zero_mode = cfg->style == PRIMARY_QEMU_9 ? PRIMARY_ZERO_MULTIFD
                                                    : PRIMARY_ZERO_LEGACY;
    }
    p->mem = mem_image_clone(initial);
    p->dirty = page_set_new(p->mem);
    sup_rng_seed(&p->rng, cfg->seed);
    sup_rng_seed(&p->fault_rng, cfg->seed ^ 0x6661756c74ULL);
    p->last_block = -1;
    /* Connection 0: main; 1 + id: multifd. */
    p->conns = sup_check_alloc(calloc(1 + cfg->channels, sizeof(*p->conns)),
                               "connections");
    p->nconns = 1 + cfg->channels;
    p->conns[0].kind = PRIMARY_CONN_MAIN;
    for (uint32_t i = 0; i < cfg->channels; i++) {
        p->conns[1 + i].kind = PRIMARY_CONN_MULTIFD;
        p->conns[1 + i].id = i;
    }
    pmf_init(p);
    return p;
}

void primary_free(Primary *p)
{
    if (!p) {
        return;
    }
    pmf_cleanup(p);
    for (size_t i = 0; i < p->nconns; i++) {
        sup_buf_free(&p->conns[i].buf);
    }
    free(p->conns);
    free(p->device_tail);
    sup_buf_free(&p->replies);
    for (size_t i = 0; i < p->nstages; i++) {
        free(p->stages[i].start);
        free(p->stages[i].end);
        free(p->stages[i].digest);
        mem_image_free(p->stages[i].image);
    }
    free(p->stages);
    free(p->marks);
    free(p->faults);
    page_set_free(p->dirty);
    mem_image_free(p->mem);
    free(p);
}

const PrimaryConfig *primary_config(const Primary *p)
{
    return &p->cfg;
}

MemImage *primary_memory(Primary *p)
{
    return p->mem;
}

PageSet *primary_dirty(Primary *p)
{
    return p->dirty;
}

void primary_add_fault(Primary *p, const PrimaryFault *f)
{
    PrimaryFaultSlot *s;

    p->faults = sup_check_alloc(
        realloc(p->faults, (p->nfaults + 1) * sizeof(*p->faults)), "faults");
    s = &p->faults[p->nfaults++];
    memset(s, 0, sizeof(*s));
    s->f = *f;
    if (f->name) {
        snprintf(s->name, sizeof(s->name), "%s", f->name);
    }
    s->f.name = NULL;
    if (f->kind == PF_EXTRA_CONN) {
        p->conns = sup_check_alloc(
            realloc(p->conns, (p->nconns + 1) * sizeof(*p->conns)),
            "connections");
        memset(&p->conns[p->nconns], 0, sizeof(p->conns[0]));
        p->conns[p->nconns].kind = PRIMARY_CONN_MULTIFD;
        p->conns[p->nconns].id = (uint32_t)f->value;
        p->nconns++;
        if (p->begun) {
            primary_die("PF_EXTRA_CONN must be armed before precopy");
        }
    }
}

PrimaryFaultSlot *primary_fault_find(Primary *p, PrimaryFaultKind kind,
                                     uint32_t chan, uint64_t nth)
{
    for (size_t i = 0; i < p->nfaults; i++) {
        PrimaryFaultSlot *s = &p->faults[i];

        if (s->f.kind == kind && s->f.chan == chan && s->f.nth == nth) {
            return s;
        }
    }
    return NULL;
}

SupBuf *primary_main_buf(Primary *p)
{
    return &p->conns[PRIMARY_MAIN_CONN].buf;
}

void primary_mark_add(Primary *p, PrimaryMarkKind kind, size_t conn)
{
    PrimaryMark *m;

    if (p->nmarks == p->marks_cap) {
        p->marks_cap = p->marks_cap ? 2 * p->marks_cap : 64;
        p->marks = sup_check_alloc(
            realloc(p->marks, p->marks_cap * sizeof(*p->marks)), "marks");
    }
    m = &p->marks[p->nmarks++];
    m->kind = kind;
    m->stage = p->stage;
    m->conn = conn;
    m->offset = p->conns[conn].buf.len;
}

bool primary_page_is_zero(const Primary *p, size_t block, uint64_t page)
{
    const uint8_t *d = mem_image_page(p->mem, block, page);
    uint32_t len = mem_image_page_len(p->mem, block, page);

    if (p->zero_mode == PRIMARY_ZERO_NONE) {
        return false;
    }
    for (uint32_t i = 0; i < len; i++) {
        if (d[i]) {
            return false;
        }
    }
    return true;
}

static void stage_begin(Primary *p)
{
    PrimaryStage *s;

    p->stages = sup_check_alloc(
        realloc(p->stages, (p->nstages + 1) * sizeof(*p->stages)), "stages");
    s = &p->stages[p->nstages];
    memset(s, 0, sizeof(*s));
    s->index = (uint32_t)p->nstages;
    s->start = sup_check_alloc(calloc(p->nconns, sizeof(uint64_t)), "stage");
    s->end = sup_check_alloc(calloc(p->nconns, sizeof(uint64_t)), "stage");
    p->stage = s->index;
    p->in_stage = true;
    p->stage_pages = 0;
    p->stage_zero = 0;
    for (size_t i = 0; i < p->nconns; i++) {
        s->start[i] = p->conns[i].buf.len;
        primary_mark_add(p, PM_STAGE_START, i);
    }
}

static void stage_end(Primary *p)
{
    PrimaryStage *s = &p->stages[p->nstages];

    for (size_t i = 0; i < p->nconns; i++) {
        s->end[i] = p->conns[i].buf.len;
        primary_mark_add(p, PM_STAGE_END, i);
    }
    s->replies_end = p->replies.len;
    s->pages = p->stage_pages;
    s->zero_pages = p->stage_zero;
    s->digest = sup_check_alloc(calloc(p->mem->nblocks + 1, sizeof(*s->digest)),
                                "digests");
    primary_digest_image(p->mem, s->digest);
    if (p->cfg.keep_images) {
        s->image = mem_image_clone(p->mem);
    }
    p->nstages++;
    p->in_stage = false;
}

void primary_digest_image(const MemImage *img, uint8_t (*digest)[32])
{
    for (size_t i = 0; i < img->nblocks; i++) {
        sha256_digest(img->blocks[i].data, img->blocks[i].size, digest[i]);
    }
}

/* Send every dirty page, as QEMU's RAM iteration does, and clear the set. */
static void send_dirty(Primary *p)
{
    size_t block = 0;
    uint64_t page = 0;

    while (page_set_next(p->dirty, &block, &page)) {
        bool zero = primary_page_is_zero(p, block, page);

        p->stage_pages++;
        p->stage_zero += zero;
        if (p->cfg.channels == 0 ||
            (zero && p->zero_mode == PRIMARY_ZERO_LEGACY)) {
            pm_put_ram_page(p, block, page, zero);
        } else {
            pmf_queue_page(p, block, page, zero);
        }
        page++;
    }
    page_set_clear(p->dirty);
}

/* Sync point before an EOS; then EOS and the section footer. */
static void end_ram_section(Primary *p)
{
    if (p->cfg.channels > 0) {
        pmf_sync(p);
        if (p->cfg.style == PRIMARY_QEMU_9) {
            primary_mark_add(p, PM_SYNC, PRIMARY_MAIN_CONN);
            pm_put_flag(p, WIRE_RAM_MULTIFD_FLUSH);
        } else {
            primary_mark_add(p, PM_SYNC, PRIMARY_MAIN_CONN);
        }
    }
    primary_mark_add(p, PM_EOS, PRIMARY_MAIN_CONN);
    pm_put_flag(p, WIRE_RAM_EOS);
    pm_put_footer(p, p->cfg.ram_section_id);
}

void primary_precopy_begin(Primary *p)
{
    if (p->begun) {
        primary_die("precopy already begun");
    }
    p->begun = true;
    stage_begin(p);
    pmf_handshakes(p);
    pm_put_header(p);
    pm_put_configuration(p);
    if (p->cfg.colo) {
        primary_mark_add(p, PM_ENABLE_COLO, PRIMARY_MAIN_CONN);
        pm_put_enable_colo(p);
    }
    primary_mark_add(p, PM_RAM_SECTION, PRIMARY_MAIN_CONN);
    pm_put_section_start(p);
    pm_put_mem_size(p);
    end_ram_section(p);
    page_set_add_all(p->dirty);
}

void primary_precopy_round(Primary *p)
{
    if (!p->begun || p->precopy_done) {
        primary_die("precopy round outside precopy");
    }
    primary_mark_add(p, PM_RAM_SECTION, PRIMARY_MAIN_CONN);
    pm_put_section_part(p, WIRE_VM_SECTION_PART);
    send_dirty(p);
    end_ram_section(p);
}

void primary_precopy_end(Primary *p)
{
    if (!p->begun || p->precopy_done) {
        primary_die("precopy end outside precopy");
    }
    primary_mark_add(p, PM_RAM_SECTION, PRIMARY_MAIN_CONN);
    pm_put_section_part(p, WIRE_VM_SECTION_END);
    send_dirty(p);
    end_ram_section(p);
    if (p->device_tail) {
        SupBuf *b = primary_main_buf(p);
        size_t eof = p->cfg.device_tail_eof;

        primary_mark_add(p, PM_DEVICE_SECTION, PRIMARY_MAIN_CONN);
        sup_buf_append(b, p->device_tail, eof);
        primary_mark_add(p, PM_VM_EOF, PRIMARY_MAIN_CONN);
        sup_buf_append(b, p->device_tail + eof, p->cfg.device_tail_len - eof);
    } else {
        if (p->cfg.device_section) {
            primary_mark_add(p, PM_DEVICE_SECTION, PRIMARY_MAIN_CONN);
            pm_put_device_section(p);
        }
        primary_mark_add(p, PM_VM_EOF, PRIMARY_MAIN_CONN);
        pm_put_eof(p);
        if (p->cfg.vmdesc) {
            pm_put_vmdesc(p);
        }
    }
    if (p->cfg.colo) {
        sup_buf_put_be32(&p->replies, WIRE_COLO_CHECKPOINT_READY);
    }
    p->precopy_done = true;
    stage_end(p);
}

void primary_precopy(Primary *p)
{
    primary_precopy_begin(p);
    primary_precopy_round(p);
    primary_precopy_end(p);
}

void primary_checkpoint(Primary *p)
{
    if (!p->cfg.colo || !p->precopy_done) {
        primary_die("checkpoint needs cfg.colo and a finished precopy");
    }
    stage_begin(p);
    primary_mark_add(p, PM_CHECKPOINT_REQUEST, PRIMARY_MAIN_CONN);
    pm_put_colo_message(p, WIRE_COLO_CHECKPOINT_REQUEST);
    sup_buf_put_be32(&p->replies, WIRE_COLO_CHECKPOINT_REPLY);
    primary_mark_add(p, PM_VMSTATE_SEND, PRIMARY_MAIN_CONN);
    pm_put_colo_message(p, WIRE_COLO_VMSTATE_SEND);
    primary_mark_add(p, PM_RAM_SECTION, PRIMARY_MAIN_CONN);
    pm_put_section_part(p, WIRE_VM_SECTION_END);
    send_dirty(p);
    end_ram_section(p);
    primary_mark_add(p, PM_VM_EOF, PRIMARY_MAIN_CONN);
    pm_put_eof(p);
    primary_mark_add(p, PM_VMSTATE_SIZE, PRIMARY_MAIN_CONN);
    pm_put_vmstate(p);
    sup_buf_put_be32(&p->replies, WIRE_COLO_VMSTATE_RECEIVED);
    sup_buf_put_be32(&p->replies, WIRE_COLO_VMSTATE_LOADED);
    stage_end(p);
}

size_t primary_nconns(const Primary *p)
{
    return p->nconns;
}

const PrimaryConn *primary_conn(const Primary *p, size_t i)
{
    return i < p->nconns ? &p->conns[i] : NULL;
}

const SupBuf *primary_replies(const Primary *p)
{
    return &p->replies;
}

size_t primary_nstages(const Primary *p)
{
    return p->nstages;
}

const PrimaryStage *primary_stage(const Primary *p, size_t i)
{
    return i < p->nstages ? &p->stages[i] : NULL;
}

size_t primary_nmarks(const Primary *p)
{
    return p->nmarks;
}

const PrimaryMark *primary_mark(const Primary *p, size_t i)
{
    return i < p->nmarks ? &p->marks[i] : NULL;
}

const PrimaryMark *primary_find_mark(const Primary *p, PrimaryMarkKind kind,
                                     uint32_t stage, size_t conn)
{
    for (size_t i = 0; i < p->nmarks; i++) {
        const PrimaryMark *m = &p->marks[i];

        if (m->kind == kind && m->stage == stage && m->conn == conn) {
            return m;
        }
    }
    return NULL;
}
