/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cut the RAM block list and the device tail out of a recorded main
 * channel (recording.h), parsing with core/wire.
 */
#include "recording.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/be.h"
#include "buf.h"
#include "wire/stream.h"

#define RAM_SECTION_VERSION 4 /* what primary-main.c writes */

typedef struct RecParser {
    const uint8_t *data;
    size_t len;
    size_t pos;
    uint32_t page_size;
    RecordedMain *r;
    char *why;
    size_t why_len;
} RecParser;

static bool __attribute__((format(printf, 3, 4)))
rec_fail(RecParser *p, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->why, p->why_len,
                     "offset %llu: ", (unsigned long long)offset);

    if (n >= 0 && (size_t)n < p->why_len) {
        va_start(ap, fmt);
        vsnprintf(p->why + n, p->why_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A core/wire error at buffer offset @base + err.offset. */
static bool rec_fail_wire(RecParser *p, uint64_t base, const MfError *err)
{
    return rec_fail(p, base + err->offset, "%s (%s)", err->msg, err->code_name);
}

static bool rec_need(RecParser *p, size_t n, const char *what)
{
    if (p->len - p->pos < n) {
        return rec_fail(p, p->pos, "%s: %zu bytes needed, %zu left", what, n,
                        p->len - p->pos);
    }
    return true;
}

static bool rec_idstr(RecParser *p, char name[WIRE_IDSTR_SIZE],
                      const char *what)
{
    MfError err;
    size_t used;
    size_t need;

    mf_error_clear(&err);
    if (!rec_need(p, 1, what)) {
        return false;
    }
    need = wire_idstr_need(p->data + p->pos, p->len - p->pos);
    if (!rec_need(p, need, what) ||
        !wire_idstr_decode(p->data + p->pos, p->len - p->pos, name, &used,
                           &err)) {
        return mf_error_is_set(&err) ? rec_fail_wire(p, p->pos, &err) : false;
    }
    p->pos += used;
    return true;
}

/* The MEM_SIZE list announcing @total bytes (the record word is read). */
static bool rec_mem_size(RecParser *p, uint64_t total)
{
    uint64_t sum = 0;

    p->r->layout = mem_image_new(p->page_size);
    while (sum < total) {
        char name[WIRE_IDSTR_SIZE];
        uint64_t at = p->pos;
        uint64_t size;

        if (!rec_idstr(p, name, "MEM_SIZE entry")) {
            return false;
        }
        if (!rec_need(p, 8, "MEM_SIZE used_length")) {
            return false;
        }
        size = mf_be64_load(p->data + p->pos);
        p->pos += 8;
        if (name[0] == '\0') {
            return rec_fail(p, at, "MEM_SIZE entry with an empty block name");
        }
        if (mem_image_find(p->r->layout, name) >= 0) {
            return rec_fail(p, at, "block \"%s\" listed twice", name);
        }
        if (size == 0 || size % p->page_size || size > total - sum) {
            return rec_fail(p, at,
                            "block \"%s\": used_length %llu is not a page "
                            "multiple within the announced total",
                            name, (unsigned long long)size);
        }
        mem_image_add(p->r->layout, name, size);
        sum += size;
    }
    return true;
}

/* A ZERO or PAGE record whose word is read: name, then fill or data. */
static bool rec_page(RecParser *p, uint64_t at, uint64_t addr, uint32_t flags,
                     long *block)
{
    if (!p->r->layout) {
        return rec_fail(p, at, "page record before the MEM_SIZE list");
    }
    if (!(flags & WIRE_RAM_CONTINUE)) {
        char name[WIRE_IDSTR_SIZE];

        if (!rec_idstr(p, name, "page record block name")) {
            return false;
        }
        *block = mem_image_find(p->r->layout, name);
        if (*block < 0) {
            return rec_fail(p, at, "page record names unknown block \"%s\"",
                            name);
        }
    } else if (*block < 0) {
        return rec_fail(p, at, "CONTINUE page record without a block");
    }
    if (addr >= p->r->layout->blocks[*block].size) {
        return rec_fail(p, at, "page offset %llu outside block \"%s\"",
                        (unsigned long long)addr,
                        p->r->layout->blocks[*block].name);
    }
    if (flags & WIRE_RAM_ZERO) {
        MfError err;

        mf_error_clear(&err);
        if (!rec_need(p, 1, "ZERO fill byte")) {
            return false;
        }
        if (!wire_ram_zero_fill_check(p->data[p->pos], &err)) {
            return rec_fail_wire(p, p->pos, &err);
        }
        p->pos += 1;
        p->r->ram_zero++;
        return true;
    }
    if (!rec_need(p, p->page_size, "PAGE data")) {
        return false;
    }
    p->pos += p->page_size;
    p->r->ram_pages++;
    return true;
}

/* Records of one "ram" section up to and including its EOS. */
static bool rec_ram_records(RecParser *p, bool start, long *block)
{
    bool first = true;

    for (;;) {
        uint64_t at = p->pos;
        uint64_t word;
        uint64_t addr;
        uint32_t flags;
        MfError err;

        mf_error_clear(&err);
        if (!rec_need(p, 8, "RAM record")) {
            return false;
        }
        word = mf_be64_load(p->data + p->pos);
        if (!wire_ram_record_decode(word, p->page_size, &addr, &flags, &err)) {
            return rec_fail_wire(p, at, &err);
        }
        p->pos += 8;
        if (flags == WIRE_RAM_MEM_SIZE) {
            if (!start || !first || p->r->layout) {
                return rec_fail(p, at,
                                "MEM_SIZE other than first in SECTION_START");
            }
            p->r->mem_size_offset = at;
            if (!rec_mem_size(p, addr)) {
                return false;
            }
            p->r->mem_size_len = p->pos - at;
        } else if (flags & (WIRE_RAM_ZERO | WIRE_RAM_PAGE)) {
            if (!rec_page(p, at, addr, flags, block)) {
                return false;
            }
        } else if (flags == WIRE_RAM_MULTIFD_FLUSH) {
            p->r->ram_flushes++;
        } else if (flags == WIRE_RAM_EOS) {
            p->r->ram_eos++;
            return true;
        }
        first = false;
    }
}

/* One section header at p->pos that must be a "ram" section. */
static bool rec_ram_section(RecParser *p, bool *end, long *block)
{
    uint64_t at = p->pos;
    WireVmSectionHdr hdr;
    MfError err;
    size_t used;
    size_t need;
    uint8_t type = p->data[p->pos];
    bool start = type == WIRE_VM_SECTION_START;

    mf_error_clear(&err);
    if (type != WIRE_VM_SECTION_START && type != WIRE_VM_SECTION_PART &&
        type != WIRE_VM_SECTION_END) {
        const char *name = wire_vm_section_name(type);

        return rec_fail(p, at,
                        "%s (0x%02x) before the end of the RAM section: "
                        "the test primary cannot reproduce it",
                        name ? name : "unknown section type", type);
    }
    need = wire_vm_section_hdr_need(p->data + p->pos, p->len - p->pos);
    if (!rec_need(p, need, "section header")) {
        return false;
    }
    if (!wire_vm_section_hdr_decode(p->data + p->pos, p->len - p->pos, &hdr,
                                    &used, &err)) {
        return rec_fail_wire(p, at, &err);
    }
    if (start) {
        if (strcmp(hdr.idstr, "ram") != 0 || p->r->ram_sections) {
            return rec_fail(p, at,
                            "SECTION_START \"%s\" before the end of the RAM "
                            "section: the test primary cannot reproduce it",
                            hdr.idstr);
        }
        if (hdr.instance_id != 0 || hdr.version_id != RAM_SECTION_VERSION) {
            return rec_fail(p, at,
                            "\"ram\" instance %u version %u (the test "
                            "primary writes instance 0 version %u)",
                            hdr.instance_id, hdr.version_id,
                            RAM_SECTION_VERSION);
        }
        p->r->ram_section_id = hdr.section_id;
    } else if (!p->r->ram_sections || hdr.section_id != p->r->ram_section_id) {
        return rec_fail(p, at, "%s of section %u, not the \"ram\" section",
                        wire_vm_section_name(type), hdr.section_id);
    }
    p->pos += used;
    p->r->ram_sections++;
    if (!rec_ram_records(p, start, block)) {
        return false;
    }
    if (start && !p->r->layout) {
        return rec_fail(p, at, "\"ram\" SECTION_START without MEM_SIZE");
    }
    if (!rec_need(p, WIRE_VM_FOOTER_SIZE, "section footer")) {
        return false;
    }
    if (!wire_vm_footer_decode(p->data + p->pos, p->r->ram_section_id, &err)) {
        return rec_fail_wire(p, p->pos, &err);
    }
    p->pos += WIRE_VM_FOOTER_SIZE;
    *end = type == WIRE_VM_SECTION_END;
    return true;
}

/* The tail ends with EOF + VMDESCRIPTION up to the last byte. */
static bool rec_tail(RecParser *p)
{
    RecordedMain *r = p->r;
    size_t start = p->pos;

    if (start == p->len) {
        return rec_fail(p, start, "nothing after the RAM section");
    }
    for (size_t q = start; q + 6 <= p->len; q++) {
        uint64_t jlen;

        if (p->data[q] != WIRE_VM_EOF ||
            p->data[q + 1] != WIRE_VM_VMDESCRIPTION) {
            continue;
        }
        jlen = mf_be32_load(p->data + q + 2);
        if (q + 6 + jlen == p->len && jlen > 0 && p->data[q + 6] == '{' &&
            !memchr(p->data + q + 6, 0, jlen)) {
            r->tail_eof = q - start;
            r->vmdesc = true;
            break;
        }
    }
    if (!r->vmdesc) {
        /* A lone EOF at the end cannot be told from a cut recording. */
        return rec_fail(p, p->len - 1,
                        "the recording does not end with QEMU_VM_EOF + "
                        "a VMDESCRIPTION that reaches its last byte");
    }
    r->tail_offset = start;
    r->tail_len = p->len - start;
    r->tail = sup_check_alloc(malloc(r->tail_len), "recorded tail");
    memcpy(r->tail, p->data + start, r->tail_len);
    return true;
}

static bool rec_parse(RecParser *p)
{
    MfError err;
    uint32_t clen;
    bool end = false;
    long block = -1;

    mf_error_clear(&err);
    if (!rec_need(p, WIRE_VM_HEADER_SIZE, "QEVM header")) {
        return false;
    }
    if (!wire_vm_header_decode(p->data, &err)) {
        return rec_fail_wire(p, 0, &err);
    }
    p->pos = WIRE_VM_HEADER_SIZE;
    if (!rec_need(p, 5, "CONFIGURATION")) {
        return false;
    }
    if (p->data[p->pos] != WIRE_VM_CONFIGURATION) {
        return rec_fail(p, p->pos,
                        "type 0x%02x where CONFIGURATION (0x07) "
                        "must follow the header",
                        p->data[p->pos]);
    }
    clen = mf_be32_load(p->data + p->pos + 1);
    p->pos += 5;
    if (clen == 0 || clen >= sizeof(p->r->machine)) {
        return rec_fail(p, p->pos - 4, "machine name of %u bytes", clen);
    }
    if (!rec_need(p, clen, "machine name")) {
        return false;
    }
    memcpy(p->r->machine, p->data + p->pos, clen);
    p->r->machine[clen] = '\0';
    p->pos += clen;
    while (!end) {
        if (!rec_need(p, 1, "section type")) {
            return false;
        }
        if (!rec_ram_section(p, &end, &block)) {
            return false;
        }
    }
    return rec_tail(p);
}

bool recorded_main_parse(const uint8_t *data, size_t len, uint32_t page_size,
                         RecordedMain *r, char *why, size_t why_len)
{
    RecParser p = {
        .data = data,
        .len = len,
        .page_size = page_size,
        .r = r,
        .why = why,
        .why_len = why_len,
    };

    memset(r, 0, sizeof(*r));
    if (why_len) {
        why[0] = '\0';
    }
    if (!rec_parse(&p)) {
        recorded_main_free(r);
        return false;
    }
    return true;
}

bool recorded_main_load(const char *path, uint32_t page_size, RecordedMain *r,
                        char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    SupBuf b = SUP_BUF_INIT;
    uint8_t chunk[65536];
    size_t n;
    bool ok;

    memset(r, 0, sizeof(*r));
    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return false;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sup_buf_append(&b, chunk, n);
    }
    if (ferror(f)) {
        snprintf(why, why_len, "%s: read error", path);
        fclose(f);
        sup_buf_free(&b);
        return false;
    }
    fclose(f);
    ok = recorded_main_parse(b.data, b.len, page_size, r, why, why_len);
    if (!ok) {
        char inner[512];

        snprintf(inner, sizeof(inner), "%s", why);
        snprintf(why, why_len, "%s: %s", path, inner);
    }
    sup_buf_free(&b);
    return ok;
}

void recorded_main_free(RecordedMain *r)
{
    mem_image_free(r->layout);
    free(r->tail);
    memset(r, 0, sizeof(*r));
}
