/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Precopy: the QEVM header, CONFIGURATION, commands, the "ram" section
 * (ram-load.c), the device sections (kept opaque) up to QEMU_VM_EOF, and
 * the VM description (QEMU savevm.c qemu_loadvm_state).
 *
 * The device sections carry no length, so their end is found by a
 * pattern that only the end of precopy has (docs/colo-stream.md):
 *
 *   0x7e be32(id)  0x00  0x06 be32(len)  {"page_size":  or  {"configurati
 *   last footer    EOF   VM description  JSON start
 *
 * The JSON starts with "page_size" up to QEMU 7.2 and with the machine's
 * "configuration" object in 10.0.2 (both recorded in tests/data); the
 * pattern holds the first 13 bytes of either.
 *
 * The device sections are read END_PATTERN_LEN bytes at a time, fewer
 * only while the bytes held end in a possible start of the pattern, so
 * it works on a live socket: nothing after the pattern is consumed except
 * the rest of the JSON.
 */
#include <string.h>

#include "base/be.h"
#include "incoming/incoming-int.h"
#include "wire/errors.h"

#define VMDESC_JSON_START_LEN 13
static const char vmdesc_json_start[][VMDESC_JSON_START_LEN + 1] = {
    "{\"page_size\":",
    "{\"configurati",
};
#define VMDESC_JSON_STARTS \
    (sizeof(vmdesc_json_start) / sizeof(vmdesc_json_start[0]))
/* footer(5) + EOF(1) + 0x06(1) + be32(4) + JSON start(13) */
#define END_PATTERN_LEN (5 + 1 + 1 + 4 + VMDESC_JSON_START_LEN)
/* The end pattern's bytes after QEMU_VM_EOF: not device state. */
#define END_PATTERN_TAIL (1 + 4 + VMDESC_JSON_START_LEN)
/* The end of a plain stream without a VM description: footer + EOF. */
#define PLAIN_END_LEN (WIRE_VM_FOOTER_SIZE + 1)

static const char *const command_names[] = {
    "INVALID",
    "OPEN_RETURN_PATH",
    "PING",
    "POSTCOPY_ADVISE",
    "POSTCOPY_LISTEN",
    "POSTCOPY_RUN",
    "POSTCOPY_RAM_DISCARD",
    "PACKAGED",
    "ENABLE_COLO",
    "POSTCOPY_RESUME",
    "RECV_BITMAP",
    "SWITCHOVER_START",
};

static bool in_command(Incoming *in, uint64_t start, MfError *err)
{
    uint8_t b[WIRE_VM_COMMAND_HDR_SIZE];
    uint16_t cmd, len;
    uint32_t data;
    uint8_t pong[8];

    b[0] = WIRE_VM_COMMAND;
    if (!in_read(in, b + 1, sizeof(b) - 1, "QEMU_VM_COMMAND header", start,
                 err)) {
        return false;
    }
    if (!wire_vm_command_decode(b, &cmd, &len, err)) {
        return in_fail_at(in, err, start);
    }
    switch (cmd) {
    case WIRE_CMD_ENABLE_COLO:
        if (in->colo_enabled || in->ram_started) {
            mf_error_set(err, INCOMING_ERR_COMMAND_UNEXPECTED, start,
                         "ENABLE_COLO %s",
                         in->colo_enabled ? "received twice"
                                          : "after the RAM section started");
            return in_fail_at(in, err, 0);
        }
        if (!in->cfg.colo) {
            mf_error_set(err, INCOMING_ERR_COLO_NOT_ENABLED, start,
                         "ENABLE_COLO in the stream but COLO (x-colo) is "
                         "not enabled on this receiver");
            return in_fail_at(in, err, 0);
        }
        in->colo_enabled = true;
        in->stats.colo = true;
        return true;
    case 1: /* OPEN_RETURN_PATH */
        if (len != 0) {
            mf_error_set(err, INCOMING_ERR_COMMAND_LENGTH, start + 3,
                         "OPEN_RETURN_PATH length %u, expected 0", len);
            return in_fail_at(in, err, 0);
        }
        in->return_path = true;
        return true;
    case 2: /* PING */
        if (len != 4) {
            mf_error_set(err, INCOMING_ERR_COMMAND_LENGTH, start + 3,
                         "PING length %u, expected 4", len);
            return in_fail_at(in, err, 0);
        }
        if (!in_read_be32(in, &data, "PING value", start, err)) {
            return false;
        }
        if (!in->return_path) {
            mf_error_set(err, INCOMING_ERR_NO_RETURN_PATH, start,
                         "PING 0x%x received with no return path open", data);
            return in_fail_at(in, err, 0);
        }
        /* The return path shares the reply channel, as in QEMU. */
        mf_be16_store(pong, INCOMING_RP_MSG_PONG);
        mf_be16_store(pong + 2, 4);
        mf_be32_store(pong + 4, data);
        return in_send(in, pong, sizeof(pong), err);
    default:
        mf_error_set(err, INCOMING_ERR_COMMAND_UNSUPPORTED, start + 1,
                     "QEMU_VM_COMMAND %s (%u) is not supported by this "
                     "receiver",
                     cmd < 12 ? command_names[cmd] : "?", cmd);
        return in_fail_at(in, err, 0);
    }
}

static bool in_configuration(Incoming *in, uint64_t start, MfError *err)
{
    uint32_t len;
    char name[256];

    if (!in_read_be32(in, &len, "CONFIGURATION length", start, err)) {
        return false;
    }
    if (len == 0 || len > 255) {
        mf_error_set(err, INCOMING_ERR_CONFIGURATION, start + 1,
                     "CONFIGURATION machine name length %u (1..255)", len);
        return in_fail_at(in, err, 0);
    }
    return in_read(in, name, len, "CONFIGURATION machine name", start, err);
}

/* After QEMU_VM_EOF: an optional VM description (QEMU reads it too). */
static bool in_vmdesc(Incoming *in, MfError *err)
{
    uint8_t type;
    uint32_t len;
    uint64_t start = in_offset(in);
    int r;

    r = chan_peek(in->cfg.main, &type, 1, err);
    if (r < 0) {
        return false;
    }
    if (r == 0 || type != WIRE_VM_VMDESCRIPTION) {
        return true;
    }
    if (!in_read_u8(in, &type, "VM description", start, err) ||
        !in_read_be32(in, &len, "VM description length", start, err)) {
        return false;
    }
    if (len > INCOMING_VMDESC_MAX) {
        mf_error_set(err, INCOMING_ERR_VMDESC_SIZE, start + 1,
                     "VM description length %u above the bound %u", len,
                     INCOMING_VMDESC_MAX);
        return in_fail_at(in, err, 0);
    }
    return in_skip(in, len, "VM description", start, err);
}

/* Do the @m bytes at @p start one of the VM description's JSON starts? */
static bool json_start_prefix(const uint8_t *p, size_t m)
{
    size_t i;

    for (i = 0; i < VMDESC_JSON_STARTS; i++) {
        if (memcmp(p, vmdesc_json_start[i], m) == 0) {
            return true;
        }
    }
    return false;
}

static bool end_pattern(const uint8_t *tail)
{
    return tail[0] == WIRE_VM_SECTION_FOOTER && tail[5] == WIRE_VM_EOF &&
           tail[6] == WIRE_VM_VMDESCRIPTION &&
           json_start_prefix(tail + 11, VMDESC_JSON_START_LEN);
}

/*
 * Does @p (@m bytes, m < END_PATTERN_LEN) match the first @m bytes of the
 * end pattern?  The section id and the description length are wildcards.
 */
static bool end_pattern_prefix(const uint8_t *p, size_t m)
{
    static const uint8_t fixed[11] = {
        WIRE_VM_SECTION_FOOTER, 0, 0, 0, 0, WIRE_VM_EOF, WIRE_VM_VMDESCRIPTION,
    };
    size_t i;

    for (i = 0; i < m && i < sizeof(fixed); i++) {
        bool wildcard = (i >= 1 && i <= 4) || (i >= 7 && i <= 10);

        if (!wildcard && p[i] != fixed[i]) {
            return false;
        }
    }
    return m <= sizeof(fixed) ||
           json_start_prefix(p + sizeof(fixed), m - sizeof(fixed));
}

/*
 * How many bytes in_devices() may read at once without reading past an
 * end pattern: END_PATTERN_LEN minus the longest tail of what it holds
 * that could be the start of one (so a live stream is never read beyond
 * the description's JSON start, which belongs to in_skip()).
 */
static size_t dev_safe_read(const Incoming *in)
{
    size_t m =
        in->dev_len < END_PATTERN_LEN - 1 ? in->dev_len : END_PATTERN_LEN - 1;

    for (; m > 0; m--) {
        if (end_pattern_prefix(in->dev + in->dev_len - m, m)) {
            break;
        }
    }
    return END_PATTERN_LEN - m;
}

static bool in_load_precopy_devstate(Incoming *in, uint64_t start, MfError *err)
{
    const IncomingHooks *h = &in->cfg.hooks;

    if (!h->load_device_state ||
        h->load_device_state(h->opaque, INCOMING_DEVSTATE_PRECOPY, in->dev,
                             in->dev_len, err)) {
        return true;
    }
    if (!mf_error_is_set(err)) {
        mf_error_set(err, INCOMING_ERR_HOOK, start,
                     "load_device_state refused the precopy device state");
    }
    return in_fail_at(in, err, 0);
}

/* The precopy device state from @start exceeds max_device_state. */
static bool in_devices_too_long(Incoming *in, uint64_t start, MfError *err)
{
    mf_error_set(err, INCOMING_ERR_DEVICE_STATE_SIZE, in_offset(in),
                 "precopy device state from offset %llu exceeds the "
                 "bound of %llu bytes up to QEMU_VM_EOF",
                 (unsigned long long)start,
                 (unsigned long long)in->cfg.max_device_state);
    return in_fail_at(in, err, 0);
}

/*
 * The device sections, from the type byte of the first (already read into
 * in->dev) up to QEMU_VM_EOF, then the VM description.
 */
static bool in_devices(Incoming *in, uint64_t start, MfError *err)
{
    /* max_device_state bytes up to QEMU_VM_EOF, then the pattern's tail */
    uint64_t limit = in->cfg.max_device_state + END_PATTERN_TAIL;
    /* the first section's header: a footer can only come after it */
    size_t first_hdr = in->dev_len;
    struct iovec iov;
    uint32_t len;
    ssize_t r;

    in_set_stage(in, INCOMING_STAGE_DEVICES);
    for (;;) {
        if (in->dev_len >= END_PATTERN_LEN &&
            end_pattern(in->dev + in->dev_len - END_PATTERN_LEN)) {
            break;
        }
        if (in->dev_len >= limit) {
            return in_devices_too_long(in, start, err);
        }
        /* Bulk reads, never past a possible end pattern or the limit. */
        iov.iov_len = dev_safe_read(in);
        if (iov.iov_len > limit - in->dev_len) {
            iov.iov_len = (size_t)(limit - in->dev_len);
        }
        if (!in_dev_reserve(in, in->dev_len + iov.iov_len, err)) {
            return false;
        }
        iov.iov_base = in->dev + in->dev_len;
        r = chan_readv(in->cfg.main, &iov, 1, err);
        if (r < 0) {
            return false;
        }
        if (r == 0) {
            /*
             * A plain stream may end with footer + EOF, no description;
             * not a footer made of the first section's header bytes.
             */
            if (!in->colo_enabled && in->dev_len >= first_hdr + PLAIN_END_LEN &&
                in->dev[in->dev_len - PLAIN_END_LEN] ==
                    WIRE_VM_SECTION_FOOTER &&
                in->dev[in->dev_len - 1] == WIRE_VM_EOF) {
                if (in->dev_len > in->cfg.max_device_state) {
                    return in_devices_too_long(in, start, err);
                }
                return in_load_precopy_devstate(in, start, err);
            }
            mf_error_set(err, INCOMING_ERR_TRUNCATED, in_offset(in),
                         "stream ends inside the device state that starts "
                         "at offset %llu (no QEMU_VM_EOF followed by the VM "
                         "description)",
                         (unsigned long long)start);
            return in_fail_at(in, err, 0);
        }
        in->dev_len += (size_t)r;
    }
    len = mf_be32_load(in->dev + in->dev_len - VMDESC_JSON_START_LEN - 4);
    if (len < VMDESC_JSON_START_LEN || len > INCOMING_VMDESC_MAX) {
        mf_error_set(err, INCOMING_ERR_VMDESC_SIZE,
                     in_offset(in) - VMDESC_JSON_START_LEN - 4,
                     "VM description length %u (%u..%u)", len,
                     VMDESC_JSON_START_LEN, INCOMING_VMDESC_MAX);
        return in_fail_at(in, err, 0);
    }
    /* Device state: up to and including QEMU_VM_EOF. */
    in->dev_len -= 1 + 4 + VMDESC_JSON_START_LEN;
    if (!in_load_precopy_devstate(in, start, err)) {
        return false;
    }
    return in_skip(in, len - VMDESC_JSON_START_LEN, "VM description",
                   in_offset(in) - VMDESC_JSON_START_LEN - 5, err);
}

/* A section header in the precopy part. */
static bool in_precopy_section(Incoming *in, uint8_t type, uint64_t start,
                               bool *done, MfError *err)
{
    WireVmSectionHdr hdr;
    uint8_t raw[WIRE_VM_SECTION_HDR_MAX];
    size_t rawlen;

    if (!in_section_header(in, type, start, &hdr, raw, &rawlen, err)) {
        return false;
    }
    switch (type) {
    case WIRE_VM_SECTION_START:
        if (strcmp(hdr.idstr, "ram") != 0) {
            mf_error_set(err, INCOMING_ERR_UNKNOWN_SECTION, start + 5,
                         "SECTION_START of \"%s\" (id %u): only \"ram\" is "
                         "modelled",
                         hdr.idstr, hdr.section_id);
            return in_fail_at(in, err, 0);
        }
        if (in->ram_started) {
            mf_error_set(err, INCOMING_ERR_UNEXPECTED_SECTION, start,
                         "second SECTION_START of \"ram\" (id %u)",
                         hdr.section_id);
            return in_fail_at(in, err, 0);
        }
        if (hdr.instance_id != 0 ||
            hdr.version_id != INCOMING_RAM_SECTION_VERSION) {
            mf_error_set(err, INCOMING_ERR_SECTION_VERSION, start,
                         "\"ram\" section instance %u version %u, expected "
                         "instance 0 version %u",
                         hdr.instance_id, hdr.version_id,
                         INCOMING_RAM_SECTION_VERSION);
            return in_fail_at(in, err, 0);
        }
        in->ram_started = true;
        in->ram_sid = hdr.section_id;
        return in_ram_section(in, IN_RAM_SECTION_START, hdr.section_id, err);
    case WIRE_VM_SECTION_PART:
    case WIRE_VM_SECTION_END:
        if (!in->ram_started || hdr.section_id != in->ram_sid) {
            mf_error_set(err, INCOMING_ERR_UNKNOWN_SECTION, start + 1,
                         "%s of section id %u, which was never started",
                         wire_vm_section_name(type), hdr.section_id);
            return in_fail_at(in, err, 0);
        }
        if (in->ram_ended) {
            mf_error_set(err, INCOMING_ERR_UNEXPECTED_SECTION, start,
                         "%s of \"ram\" after its SECTION_END",
                         wire_vm_section_name(type));
            return in_fail_at(in, err, 0);
        }
        if (type == WIRE_VM_SECTION_END) {
            in->ram_ended = true;
        }
        return in_ram_section(in, IN_RAM_PRECOPY, hdr.section_id, err);
    default: /* SECTION_FULL: a device; RAM loading is over */
        if (!in->ram_ended || strcmp(hdr.idstr, "ram") == 0) {
            mf_error_set(err, INCOMING_ERR_UNEXPECTED_SECTION, start,
                         "SECTION_FULL of \"%s\" %s", hdr.idstr,
                         in->ram_ended
                             ? "(RAM is never a full section)"
                             : "before the end of the \"ram\" section");
            return in_fail_at(in, err, 0);
        }
        *done = true;
        in->dev_len = 0;
        if (!in_dev_reserve(in, rawlen, err)) {
            return false;
        }
        memcpy(in->dev, raw, rawlen);
        in->dev_len = rawlen;
        return in_devices(in, start, err);
    }
}

bool in_precopy(Incoming *in, MfError *err)
{
    uint8_t hdr[WIRE_VM_HEADER_SIZE];
    bool first = true;
    bool done = false;
    uint64_t start;
    uint8_t type;

    if (!in_read(in, hdr, sizeof(hdr), "QEVM file header", 0, err)) {
        return false;
    }
    if (!wire_vm_header_decode(hdr, err)) {
        return in_fail_at(in, err, 0);
    }
    while (!done) {
        start = in_offset(in);
        if (!in_read_u8(in, &type, "section type", start, err)) {
            return false;
        }
        switch (type) {
        case WIRE_VM_CONFIGURATION:
            if (!first) {
                mf_error_set(err, INCOMING_ERR_UNEXPECTED_SECTION, start,
                             "CONFIGURATION is only allowed right after "
                             "the file header");
                return in_fail_at(in, err, 0);
            }
            if (!in_configuration(in, start, err)) {
                return false;
            }
            break;
        case WIRE_VM_COMMAND:
            if (!in_command(in, start, err)) {
                return false;
            }
            break;
        case WIRE_VM_SECTION_START:
        case WIRE_VM_SECTION_PART:
        case WIRE_VM_SECTION_END:
            if (!in_precopy_section(in, type, start, &done, err)) {
                return false;
            }
            break;
        case WIRE_VM_SECTION_FULL:
            if (!in_precopy_section(in, type, start, &done, err)) {
                return false;
            }
            break;
        case WIRE_VM_EOF:
            in->dev_len = 0;
            if (!in_dev_reserve(in, 1, err)) {
                return false;
            }
            in->dev[in->dev_len++] = WIRE_VM_EOF;
            if (!in_load_precopy_devstate(in, start, err)) {
                return false;
            }
            if (!in_vmdesc(in, err)) {
                return false;
            }
            done = true;
            break;
        default:
            if (!wire_vm_section_type_check(type, err)) {
                return in_fail_at(in, err, start);
            }
            mf_error_set(err, INCOMING_ERR_UNEXPECTED_SECTION, start,
                         "%s (0x%02x) not allowed here",
                         wire_vm_section_name(type), type);
            return in_fail_at(in, err, 0);
        }
        first = false;
    }
    in->stats.precopy_end = in_offset(in);
    if (in->cfg.hooks.precopy_done) {
        in->cfg.hooks.precopy_done(in->cfg.hooks.opaque);
    }
    if (!in->colo_enabled && in->cfg.expect_end) {
        int r = chan_peek(in->cfg.main, &type, 1, err);

        if (r < 0) {
            return false;
        }
        if (r > 0) {
            mf_error_set(err, INCOMING_ERR_TRAILING_DATA, in_offset(in),
                         "data after the end of the migration (byte 0x%02x)",
                         type);
            return in_fail_at(in, err, 0);
        }
    }
    return true;
}
