/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the incoming layer over hand-built main-channel streams:
 * every error path with its exact code, stream offset and message (one
 * table, err_cases: a stream builder per case), the happy paths (plain
 * precopy, COLO checkpoints), failover and its memory guarantee.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/errors.h"
#include "colo/colo.h"
#include "incoming/incoming.h"
#include "ram/errors.h"
#include "secondary.h"
#include "stream-build.h"
#include "wire/errors.h"

typedef struct Fx {
    SupBuf s;
    Secondary *sec;
    bool no_colo; /* receiver without x-colo */
    bool replay;  /* create_blocks */
    bool expect_end;
    uint64_t max_devstate;
    uint64_t max_ram;
    MfError err;
    IncomingOutcome outcome;
    bool ok;
    /* hooks */
    bool fail_stop;
    bool fail_load;
    bool failover_in_stop;
    bool failover_in_done;
    bool failover_at_loading; /* at the stage checkpoint-loading */
    bool failover_in_load;    /* inside a checkpoint's device load */
    bool failover_idle;       /* at start_guest after checkpoint 0 */
    bool shutdown_idle;       /* same, chan_shutdown(main) only */
    bool shutdown_in_stop;    /* chan_shutdown(main) in stop_guest */
    uint8_t ram_at_load[8];   /* pc.ram byte 0 of pages 0..7 at the load */
    size_t cp_dev_len;        /* the last checkpoint device state */
    size_t cp_dev_d5;         /* of which bytes 0xd5 (sb_cp_end's blob) */
    char log[1024];
    uint64_t cps;
    IncomingCheckpoint last_cp; /* as checkpoint_done saw it */
    size_t precopy_dev_len;
    uint8_t ram_at_cp[8]; /* pc.ram byte 0 of pages 0..7 at checkpoints */
    char stages[512];
    bool fail_precopy_load;
    /* chan_shutdown(main) in the precopy load_device_state */
    bool shutdown_in_precopy_load;
    bool shutdown_in_precopy_done; /* chan_shutdown(main) in precopy_done */
    bool shutdown_at_cp_device;    /* same, at the stage checkpoint-device */
    size_t cut_extra;              /* cut_in_cp1 */
    const struct ErrCase *ec;      /* the error case this fixture runs */
} Fx;

static void logf_(Fx *fx, const char *s)
{
    size_t n = strlen(fx->log);

    snprintf(fx->log + n, sizeof(fx->log) - n, "%s ", s);
}

static bool h_stop(void *opaque, MfError *err)
{
    Fx *fx = opaque;

    (void)err;
    logf_(fx, "stop");
    if (fx->shutdown_in_stop) {
        chan_shutdown(fx->sec->main);
    }
    if (fx->failover_in_stop) {
        incoming_request_failover(fx->sec->in);
    }
    return !fx->fail_stop;
}

static void h_start(void *opaque)
{
    Fx *fx = opaque;

    logf_(fx, "start");
    /* after checkpoint 0: the receiver then waits for the next REQUEST */
    if (fx->cps == 1 && fx->failover_idle) {
        incoming_request_failover(fx->sec->in);
    }
    if (fx->cps == 1 && fx->shutdown_idle) {
        chan_shutdown(fx->sec->main);
    }
}

static bool h_load(void *opaque, IncomingDeviceStateKind kind,
                   const uint8_t *data, size_t len, MfError *err)
{
    Fx *fx = opaque;
    RamBlock *b = ram_table_find(&fx->sec->ram, "pc.ram");
    size_t i;

    (void)err;
    if (kind == INCOMING_DEVSTATE_PRECOPY) {
        logf_(fx, "devpre");
        fx->precopy_dev_len = len;
        if (fx->shutdown_in_precopy_load) {
            chan_shutdown(fx->sec->main);
        }
        return !fx->fail_precopy_load;
    }
    logf_(fx, "load");
    fx->cp_dev_len = len;
    fx->cp_dev_d5 = 0;
    for (i = 0; i < len; i++) {
        fx->cp_dev_d5 += data[i] == 0xd5;
    }
    for (i = 0; i < 8; i++) {
        fx->ram_at_load[i] = b->host[i * SB_PAGE];
    }
    if (fx->failover_in_load) {
        incoming_request_failover(fx->sec->in);
    }
    return !fx->fail_load;
}

static void h_stage(void *opaque, IncomingStage stage)
{
    Fx *fx = opaque;
    size_t n = strlen(fx->stages);

    snprintf(fx->stages + n, sizeof(fx->stages) - n, "%s ",
             incoming_stage_name(stage));
    if (stage == INCOMING_STAGE_CP_LOADING && fx->failover_at_loading) {
        incoming_request_failover(fx->sec->in);
    }
    if (stage == INCOMING_STAGE_CP_DEVICE && fx->shutdown_at_cp_device) {
        chan_shutdown(fx->sec->main);
    }
}

static void h_precopy(void *opaque)
{
    Fx *fx = opaque;

    logf_(fx, "precopy");
    if (fx->shutdown_in_precopy_done) {
        chan_shutdown(fx->sec->main);
    }
}

static void h_done(void *opaque, const IncomingCheckpoint *cp)
{
    Fx *fx = opaque;
    RamBlock *b = ram_table_find(&fx->sec->ram, "pc.ram");
    int i;

    logf_(fx, "done");
    fx->cps = cp->index + 1;
    fx->last_cp = *cp;
    for (i = 0; i < 8; i++) {
        fx->ram_at_cp[i] = b->host[i * SB_PAGE];
    }
    if (fx->failover_in_done) {
        incoming_request_failover(fx->sec->in);
    }
}

static int fx_setup(void **state)
{
    Fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->expect_end = true;
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    Fx *fx = *state;

    secondary_free(fx->sec);
    sup_buf_free(&fx->s);
    free(fx);
    return 0;
}

static void fx_run(Fx *fx)
{
    static const SecondaryBlock blocks[] = {
        { "pc.ram", SB_RAM_LEN, NULL },
        { "small", SB_SMALL_LEN, NULL },
    };
    SecondaryOptions so = { 0 };
    MfError e = { 0 };
    Chan *main, *reply;

    so.page_size = SB_PAGE;
    so.create_blocks = fx->replay;
    if (!fx->replay) {
        so.blocks = blocks;
        so.nblocks = 2;
    }
    so.colo = !fx->no_colo;
    so.expect_end = fx->expect_end;
    so.max_device_state = fx->max_devstate;
    so.max_ram = fx->max_ram;
    so.hooks.opaque = fx;
    so.hooks.stop_guest = h_stop;
    so.hooks.start_guest = h_start;
    so.hooks.load_device_state = h_load;
    so.hooks.precopy_done = h_precopy;
    so.hooks.checkpoint_done = h_done;
    so.hooks.stage = h_stage;
    fx->sec = secondary_build(&so, &e);
    assert_non_null(fx->sec);
    main = chan_mem_new(fx->s.data, fx->s.len, 0, "main", &e);
    reply = chan_mem_sink_new("reply", &e);
    assert_non_null(main);
    assert_non_null(reply);
    assert_true(secondary_attach_main(fx->sec, main, reply, &e));
    fx->ok = incoming_run(fx->sec->in, &fx->outcome, &fx->err);
    /* A run that succeeds leaves no error behind (a failover included). */
    if (fx->ok && mf_error_is_set(&fx->err)) {
        print_error("the run succeeded (outcome %d) with an error set: "
                    "%s (%s)\n",
                    fx->outcome, fx->err.msg,
                    fx->err.code_name ? fx->err.code_name : "-");
    }
    assert_false(fx->ok && mf_error_is_set(&fx->err));
}

static void expect_err(Fx *fx, int code, uint64_t offset)
{
    char line[300];

    mf_error_format(&fx->err, line, sizeof(line));
    if (fx->ok || fx->err.code != code || fx->err.offset != offset) {
        print_error("want code %d offset %llu, got ok=%d: %s (%s, %d)\n", code,
                    (unsigned long long)offset, fx->ok, line,
                    fx->err.code_name ? fx->err.code_name : "-", fx->err.code);
    }
    assert_false(fx->ok);
    assert_int_equal(fx->err.code, code);
    assert_true(fx->err.located);
    assert_string_equal(fx->err.where, "main");
    assert_int_equal(fx->err.offset, offset);
}

static const uint8_t *replies(Fx *fx, size_t *len)
{
    return chan_mem_data(fx->sec->reply, len);
}

static uint8_t ram_byte(Fx *fx, const char *name, uint64_t off)
{
    return ram_table_find(&fx->sec->ram, name)->host[off];
}

/* ---- plain precopy ---- */

static void build_plain(SupBuf *b)
{
    sb_begin(b, false);
    sb_section_part(b, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(b, "pc.ram", 0, 0xab);
    sb_page(b, NULL, SB_PAGE, 0xcd);
    sb_zero(b, NULL, 2 * SB_PAGE, 0);
    sb_page(b, "small", 0, 0x11);
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
    sb_end(b);
}

static void test_plain_precopy(void **state)
{
    Fx *fx = *state;
    IncomingStats st;

    build_plain(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_COMPLETED);
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0xab);
    assert_int_equal(ram_byte(fx, "pc.ram", SB_PAGE + 4095), 0xcd);
    assert_int_equal(ram_byte(fx, "small", 17), 0x11);
    /* precopy with COLO: the cache mirrors the guest (I1). */
    assert_int_equal(ram_table_find(&fx->sec->ram, "pc.ram")->colo_cache[0],
                     0xab);
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.pages, 3);
    assert_int_equal(st.zero_pages, 1);
    assert_int_equal(st.precopy_end, fx->s.len);
    assert_int_equal(st.main_bytes, fx->s.len);
    assert_false(st.colo);
    /* device state handed over: FULL header .. EOF (not the vmdesc) */
    assert_int_equal(fx->precopy_dev_len, 1 + 4 + 1 + 5 + 8 + 3 + 5 + 1);
    assert_string_equal(fx->log, "devpre precopy ");
    assert_int_equal(incoming_stage(fx->sec->in), INCOMING_STAGE_DONE);
}

static void test_plain_no_colo(void **state)
{
    Fx *fx = *state;

    fx->no_colo = true;
    build_plain(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0xab);
    assert_null(ram_table_find(&fx->sec->ram, "pc.ram")->colo_cache);
}

static void test_replay_creates_blocks(void **state)
{
    Fx *fx = *state;

    fx->replay = true;
    build_plain(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->sec->ram.nblocks, 2);
    assert_int_equal(ram_table_find(&fx->sec->ram, "pc.ram")->used_length,
                     SB_RAM_LEN);
    assert_int_equal(ram_byte(fx, "small", 0), 0x11);
}

static void test_plain_eof_without_devices(void **state)
{
    Fx *fx = *state;

    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->precopy_dev_len, 1);
}

/*
 * A channel error at the optional VM description (the peek after
 * QEMU_VM_EOF; main shut down by someone else while the precopy device
 * state is loaded): the run fails with the channel's error as reported,
 * at the offset after QEMU_VM_EOF, and the precopy is not complete:
 * precopy_done is not called and precopy_end stays 0.
 */
static void test_plain_vmdesc_peek_error(void **state)
{
    Fx *fx = *state;
    IncomingStats st;

    fx->shutdown_in_precopy_load = true;
    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    fx_run(fx);
    expect_err(fx, CHAN_ERR_SHUTDOWN, fx->s.len);
    assert_string_equal(fx->err.msg, "channel was shut down");
    assert_string_equal(fx->log, "devpre ");
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.precopy_end, 0);
}

/*
 * A channel error at the end-of-stream check of a complete plain
 * migration (expect_end; main shut down by someone else in precopy_done):
 * the run fails with the channel's error as reported, at the end of the
 * migration, on "main", and never succeeds with an error set.  The
 * precopy was complete: precopy_done was called, precopy_end is set.
 */
static void test_plain_end_peek_error(void **state)
{
    Fx *fx = *state;
    IncomingStats st;

    fx->shutdown_in_precopy_done = true;
    build_plain(&fx->s);
    fx_run(fx);
    expect_err(fx, CHAN_ERR_SHUTDOWN, fx->s.len);
    assert_string_equal(fx->err.msg, "channel was shut down");
    assert_string_equal(fx->log, "devpre precopy ");
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.precopy_end, fx->s.len);
}

static void test_plain_devices_without_vmdesc(void **state)
{
    Fx *fx = *state;

    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    sb_footer(&fx->s, 0);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    fx_run(fx);
    assert_true(fx->ok);
}

/*
 * A plain stream may end with the last device section's footer and
 * QEMU_VM_EOF, no VM description: 6 bytes that can only come after the
 * first device section's header (19 bytes here: FULL, id 0, "timer",
 * instance 0, version).  Streams that end @k bytes after that header,
 * their last 6 bytes always 0x7e .. .. .. .. 0x00:
 *   k = 0..5: the 0x7e is a byte of the header itself (instance or
 *     version made so): the stream ends inside the device state,
 *     INCOMING_ERR_TRUNCATED at its end, no device state loaded;
 *   k = 6: footer + EOF right after the header (a device with no data);
 *   k = 7: one data byte, footer, EOF;
 * both complete, their k + 19 bytes handed to load_device_state.
 */
static void check_plain_end_after_header(size_t k)
{
    static const size_t hdr = 1 + 4 + 1 + 5 + 4 + 4;
    void *st = NULL;
    size_t dev, i;
    char msg[200], line[300];
    Fx *fx;

    assert_int_equal(fx_setup(&st), 0);
    fx = st;
    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    dev = fx->s.len;
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    if (k < 6) {
        /* instance and version 0 but for the 0x7e, k + 6 bytes from the
         * end */
        memset(fx->s.data + dev + hdr - 8, 0, 8);
        for (i = 0; i < k; i++) {
            sup_buf_put_u8(&fx->s, 0);
        }
        fx->s.data[fx->s.len - 6] = WIRE_VM_SECTION_FOOTER;
    } else {
        if (k == 7) {
            sup_buf_put_u8(&fx->s, 0xaa);
        }
        sb_footer(&fx->s, 0);
        sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    }
    assert_int_equal(fx->s.len, dev + hdr + k);
    assert_int_equal(fx->s.data[fx->s.len - 6], WIRE_VM_SECTION_FOOTER);
    assert_int_equal(fx->s.data[fx->s.len - 1], WIRE_VM_EOF);
    fx_run(fx);
    mf_error_format(&fx->err, line, sizeof(line));
    if (k < 6) {
        snprintf(msg, sizeof(msg),
                 "stream ends inside the device state that starts at "
                 "offset %zu (no QEMU_VM_EOF followed by the VM "
                 "description)",
                 dev);
        if (fx->ok || strcmp(fx->err.msg, msg) != 0) {
            print_error("a plain stream ending %zu bytes after the first "
                        "device header: want \"%s\", got ok=%d: %s\n",
                        k, msg, fx->ok, line);
        }
        expect_err(fx, INCOMING_ERR_TRUNCATED, fx->s.len);
        assert_string_equal(fx->err.msg, msg);
        assert_string_equal(fx->log, "");
    } else {
        if (!fx->ok) {
            print_error("a plain stream ending %zu bytes after the first "
                        "device header was refused: %s\n",
                        k, line);
        }
        assert_true(fx->ok);
        assert_int_equal(fx->outcome, INCOMING_COMPLETED);
        assert_int_equal(fx->precopy_dev_len, hdr + k);
        assert_string_equal(fx->log, "devpre precopy ");
    }
    fx_teardown(&st);
}

static void test_plain_end_after_first_header(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k <= 7; k++) {
        check_plain_end_after_header(k);
    }
}

static uint64_t in_trailing_data(Fx *fx)
{
    size_t at;

    build_plain(&fx->s);
    at = fx->s.len;
    sup_buf_put_u8(&fx->s, 0x42);
    return at;
}

static void test_trailing_allowed_live(void **state)
{
    Fx *fx = *state;

    fx->expect_end = false;
    build_plain(&fx->s);
    sup_buf_put_u8(&fx->s, 0x42);
    fx_run(fx);
    assert_true(fx->ok);
}

/* ---- header, configuration, commands ---- */

static uint64_t in_truncated_header(Fx *fx)
{
    sup_buf_append(&fx->s, "QEV", 3);
    return 3;
}

static uint64_t in_empty_stream(Fx *fx)
{
    (void)fx; /* no byte at all */
    return 0;
}

static uint64_t in_bad_magic(Fx *fx)
{
    sup_buf_put_be32(&fx->s, 0x5145564e);
    sup_buf_put_be32(&fx->s, 3);
    return 0;
}

/*
 * A multifd connection taken as the main channel of a destination without
 * multifd (no RecvEngine): QEMU asserts on the multifd magic
 * (docs/qemu-reference.md#classify);
 * here it is the main stream's magic error at offset 0, naming the value.
 */
static uint64_t in_multifd_magic_as_main(Fx *fx)
{
    int i;

    fx->no_colo = true;
    sup_buf_put_be32(&fx->s, 0x11223344);
    sup_buf_put_be32(&fx->s, 1);
    for (i = 0; i < 56; i++) {
        sup_buf_put_u8(&fx->s, 0);
    }
    return 0;
}

static uint64_t in_bad_version(Fx *fx)
{
    sup_buf_put_be32(&fx->s, WIRE_VM_FILE_MAGIC);
    sup_buf_put_be32(&fx->s, 2);
    return 4;
}

static uint64_t in_config_length(Fx *fx)
{
    sb_header(&fx->s);
    sup_buf_put_u8(&fx->s, WIRE_VM_CONFIGURATION);
    sup_buf_put_be32(&fx->s, 0);
    return 9;
}

static uint64_t in_config_not_first(Fx *fx)
{
    sb_header(&fx->s);
    sb_config(&fx->s, "pc");
    sb_config(&fx->s, "pc");
    return 8 + 7;
}

static uint64_t in_command_unsupported(Fx *fx)
{
    sb_header(&fx->s);
    sb_command(&fx->s, 3, 0, NULL); /* POSTCOPY_ADVISE */
    return 9;
}

static uint64_t in_command_unknown(Fx *fx)
{
    sb_header(&fx->s);
    sb_command(&fx->s, 99, 0, NULL);
    return 9;
}

static uint64_t in_command_enable_colo_length(Fx *fx)
{
    uint8_t d = 0;

    sb_header(&fx->s);
    sb_command(&fx->s, WIRE_CMD_ENABLE_COLO, 1, &d);
    return 11;
}

static uint64_t in_command_rp_length(Fx *fx)
{
    uint8_t d = 0;

    sb_header(&fx->s);
    sb_command(&fx->s, 1, 1, &d);
    return 11;
}

static uint64_t in_command_ping_length(Fx *fx)
{
    uint8_t d[3] = { 0 };

    sb_header(&fx->s);
    sb_command(&fx->s, 1, 0, NULL);
    sb_command(&fx->s, 2, 3, d);
    return 16;
}

static uint64_t in_ping_without_return_path(Fx *fx)
{
    uint8_t d[4] = { 0, 0, 0, 1 };

    sb_header(&fx->s);
    sb_command(&fx->s, 2, 4, d);
    return 8;
}

/* OPEN_RETURN_PATH, then a PING whose value the stream cuts after 2 of
 * its 4 bytes. */
static uint64_t in_ping_value_truncated(Fx *fx)
{
    uint8_t d[4] = { 0xde, 0xad, 0xbe, 0xef };

    sb_header(&fx->s);
    sb_command(&fx->s, 1, 0, NULL);
    sb_command(&fx->s, 2, 4, d);
    sup_buf_truncate(&fx->s, fx->s.len - 2);
    return fx->s.len;
}

/* Nothing was answered: no PONG for a PING value never received. */
static void check_no_reply(Fx *fx)
{
    size_t len;

    replies(fx, &len);
    if (len) {
        print_error("%zu bytes answered on the reply channel\n", len);
    }
    assert_int_equal(len, 0);
}

static void test_ping_pong(void **state)
{
    Fx *fx = *state;
    static const uint8_t pong[8] = { 0, 2, 0, 4, 0xde, 0xad, 0xbe, 0xef };
    uint8_t d[4] = { 0xde, 0xad, 0xbe, 0xef };
    const uint8_t *r;
    size_t len;

    sb_header(&fx->s);
    sb_command(&fx->s, 1, 0, NULL);
    sb_command(&fx->s, 2, 4, d);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, SB_RAM_SID, "ram", 0, 4);
    sb_mem_size(&fx->s);
    sb_eos(&fx->s);
    sb_footer(&fx->s, SB_RAM_SID);
    sb_end(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    r = replies(fx, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(r, pong, 8);
}

static uint64_t in_enable_colo_without_colo(Fx *fx)
{
    fx->no_colo = true;
    sb_header(&fx->s);
    sb_command(&fx->s, WIRE_CMD_ENABLE_COLO, 0, NULL);
    return 8;
}

static uint64_t in_enable_colo_twice(Fx *fx)
{
    sb_header(&fx->s);
    sb_command(&fx->s, WIRE_CMD_ENABLE_COLO, 0, NULL);
    sb_command(&fx->s, WIRE_CMD_ENABLE_COLO, 0, NULL);
    return 13;
}

static uint64_t in_enable_colo_after_ram(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    at = fx->s.len;
    sb_command(&fx->s, WIRE_CMD_ENABLE_COLO, 0, NULL);
    return at;
}

/* ---- sections ---- */

static uint64_t in_section_type_unknown(Fx *fx)
{
    sb_header(&fx->s);
    sup_buf_put_u8(&fx->s, 0x55);
    return 8;
}

static uint64_t in_section_type_misplaced(Fx *fx)
{
    sb_header(&fx->s);
    sb_vmdesc(&fx->s);
    return 8;
}

static uint64_t in_section_not_ram(Fx *fx)
{
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 3, "block", 0, 1);
    return 13;
}

static uint64_t in_section_ram_version(Fx *fx)
{
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 3);
    return 8;
}

static uint64_t in_section_start_twice(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    at = fx->s.len;
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    return at;
}

static uint64_t in_section_part_unknown_id(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    at = fx->s.len;
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, 9);
    return at + 1;
}

static uint64_t in_section_part_before_start(Fx *fx)
{
    sb_header(&fx->s);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, 2);
    return 9;
}

static uint64_t in_section_part_after_end(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    at = fx->s.len;
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    return at;
}

static uint64_t in_full_before_ram_end(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    at = fx->s.len;
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    return at;
}

static uint64_t in_footer_wrong_id(Fx *fx)
{
    size_t at;

    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_mem_size(&fx->s);
    sb_eos(&fx->s);
    at = fx->s.len;
    sb_footer(&fx->s, 3);
    return at + 1;
}

static uint64_t in_footer_missing(Fx *fx)
{
    size_t at;

    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_mem_size(&fx->s);
    sb_eos(&fx->s);
    at = fx->s.len;
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, 2);
    return at;
}

/* ---- MEM_SIZE ---- */

static uint64_t in_mem_size_outside_start(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    at = fx->s.len;
    sb_mem_size(&fx->s);
    return at;
}

static uint64_t in_mem_size_twice(Fx *fx)
{
    size_t at;

    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_mem_size(&fx->s);
    at = fx->s.len;
    sb_mem_size(&fx->s);
    return at;
}

/*
 * MEM_SIZE with the obsolete FULL flag (0x01) in the record word: the
 * record decoder refuses it before the parser looks at MEM_SIZE, so the
 * block list is never read (a replay creates no block).
 */
static uint64_t in_mem_size_with_full(Fx *fx)
{
    size_t at;

    fx->replay = true;
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    at = fx->s.len;
    sb_mem_size(&fx->s);
    fx->s.data[at + 7] |= WIRE_RAM_FULL;
    return at;
}

static void check_mem_size_with_full(Fx *fx)
{
    assert_null(ram_table_find(&fx->sec->ram, "pc.ram"));
    assert_null(ram_table_find(&fx->sec->ram, "small"));
}

static uint64_t in_mem_size_overflow(Fx *fx)
{
    size_t at;

    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_record(&fx->s, SB_RAM_LEN, WIRE_RAM_MEM_SIZE);
    sb_name(&fx->s, "pc.ram");
    at = fx->s.len;
    sup_buf_put_be64(&fx->s, 2 * SB_RAM_LEN);
    return at;
}

static uint64_t in_mem_size_unknown_block(Fx *fx)
{
    size_t at;

    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_record(&fx->s, SB_RAM_LEN, WIRE_RAM_MEM_SIZE);
    at = fx->s.len;
    sb_name(&fx->s, "pc.rom");
    sup_buf_put_be64(&fx->s, SB_RAM_LEN);
    return at;
}

static uint64_t in_mem_size_length_mismatch(Fx *fx)
{
    size_t at;

    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_record(&fx->s, 2 * SB_RAM_LEN, WIRE_RAM_MEM_SIZE);
    sb_name(&fx->s, "pc.ram");
    at = fx->s.len;
    sup_buf_put_be64(&fx->s, 2 * SB_RAM_LEN);
    return at;
}

static uint64_t in_mem_size_too_large(Fx *fx)
{
    size_t at;

    fx->replay = true;
    fx->max_ram = SB_RAM_LEN;
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    at = fx->s.len;
    sb_mem_size(&fx->s);
    return at;
}

/*
 * Replay creates the blocks a MEM_SIZE list names: their number is
 * bounded (INCOMING_MAX_BLOCKS), else a hostile list of tiny blocks makes
 * the table grow with the input and every name lookup linear in it
 * (quadratic time, memory per block).
 */
static uint64_t in_mem_size_block_count(Fx *fx)
{
    char name[16];
    size_t at = 0;
    uint32_t i;

    fx->replay = true;
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_record(&fx->s, (uint64_t)(INCOMING_MAX_BLOCKS + 1) * SB_PAGE,
              WIRE_RAM_MEM_SIZE);
    for (i = 0; i <= INCOMING_MAX_BLOCKS; i++) {
        snprintf(name, sizeof(name), "b%u", i);
        if (i == INCOMING_MAX_BLOCKS) {
            at = fx->s.len;
        }
        sb_name(&fx->s, name);
        sup_buf_put_be64(&fx->s, SB_PAGE);
    }
    return at;
}

static void check_mem_size_block_count(Fx *fx)
{
    assert_int_equal(fx->sec->ram.nblocks, INCOMING_MAX_BLOCKS);
}

static uint64_t in_mem_size_duplicate(Fx *fx)
{
    size_t at;

    fx->replay = true;
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_record(&fx->s, 2 * SB_PAGE, WIRE_RAM_MEM_SIZE);
    sb_name(&fx->s, "a");
    sup_buf_put_be64(&fx->s, SB_PAGE);
    at = fx->s.len;
    sb_name(&fx->s, "a");
    sup_buf_put_be64(&fx->s, SB_PAGE);
    return at;
}

static uint64_t in_mem_size_zero_length(Fx *fx)
{
    size_t at;

    fx->replay = true;
    sb_header(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_START, 2, "ram", 0, 4);
    sb_record(&fx->s, SB_PAGE, WIRE_RAM_MEM_SIZE);
    at = fx->s.len;
    sb_name(&fx->s, "a");
    sup_buf_put_be64(&fx->s, 0);
    return at;
}

/* ---- RAM records ---- */

static uint64_t in_record_unknown_block(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_record(&fx->s, 0, WIRE_RAM_PAGE);
    at = fx->s.len;
    sb_name(&fx->s, "nosuch");
    return at;
}

static uint64_t in_record_continue_no_block(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    at = fx->s.len;
    sb_zero(&fx->s, NULL, 0, 0);
    return at;
}

static uint64_t in_record_flags(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    at = fx->s.len;
    sb_record(&fx->s, 0, WIRE_RAM_XBZRLE);
    return at;
}

static uint64_t in_record_offset_range(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    at = fx->s.len;
    sb_zero(&fx->s, "small", SB_PAGE, 0);
    return at;
}

static uint64_t in_record_zero_fill(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_zero(&fx->s, "pc.ram", 0, 1);
    at = fx->s.len - 1;
    return at;
}

static uint64_t in_record_page_truncated(Fx *fx)
{
    size_t cut;

    sb_begin(&fx->s, false);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(&fx->s, "pc.ram", 0, 0x33);
    cut = fx->s.len - 100;
    sup_buf_truncate(&fx->s, cut);
    return cut;
}

/* ---- device state ---- */

static uint64_t in_devices_no_end_colo(Fx *fx)
{
    sb_begin(&fx->s, true);
    sb_ram_end(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    sb_footer(&fx->s, 0);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    return fx->s.len;
}

static void test_devices_bound(void **state)
{
    Fx *fx = *state;

    fx->max_devstate = 8;
    build_plain(&fx->s);
    fx_run(fx);
    assert_false(fx->ok);
    assert_int_equal(fx->err.code, INCOMING_ERR_DEVICE_STATE_SIZE);
}

/*
 * Device state is read in bulk but never past a possible end pattern:
 * decoys that match the pattern up to its last byte (and footers right
 * before the real one) neither end the state early nor make the parser
 * read into the VM description.
 */
static void test_devices_decoys(void **state)
{
    static const uint8_t
        decoy[] = {
            0x7e, 0,    0,    0,    1,   0x07, 0x06, 0,
            0,    0,    9,    '{',  '"', 'p',  'a',  'g',
            'e',  '_',  's',  'i',  'z', 'e',  '"',  ';', /* not ':' */
            0x7e, 0x7e, 0x07, 0x7e,
        };
    Fx *fx = *state;

    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    sup_buf_append(&fx->s, decoy, sizeof(decoy));
    sb_footer(&fx->s, 0);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    sb_vmdesc(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_COMPLETED);
    /* section header, decoys, footer, EOF */
    assert_int_equal(fx->precopy_dev_len,
                     1 + 4 + 1 + 5 + 8 + sizeof(decoy) + 5 + 1);
}

/*
 * QEMU 10.0.2's VM description starts with its "configuration" object
 * (tests/data/qemu-10.0.2): that start ends the device state too, and a
 * decoy that differs from it only in its 13th JSON byte does not.
 */
static void test_devices_vmdesc_10(void **state)
{
    static const uint8_t decoy[] = {
        0x7e, 0,   0,   0,   1,   0x00, 0x06, 0,   0,   0,   9,   '{',
        '"',  'c', 'o', 'n', 'f', 'i',  'g',  'u', 'r', 'a', 't', 'X',
    };
    static const char json[] = "{\"configuration\": {\"vmsd_name\": "
                               "\"configuration\"}, \"page_size\": 4096}";
    Fx *fx = *state;

    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    sup_buf_append(&fx->s, decoy, sizeof(decoy));
    sb_footer(&fx->s, 0);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    sup_buf_put_u8(&fx->s, WIRE_VM_VMDESCRIPTION);
    sup_buf_put_be32(&fx->s, sizeof(json) - 1);
    sup_buf_append(&fx->s, json, sizeof(json) - 1);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_COMPLETED);
    assert_int_equal(fx->precopy_dev_len,
                     1 + 4 + 1 + 5 + 8 + sizeof(decoy) + 5 + 1);
}

/*
 * The end pattern's section id and description length are wildcards in
 * every byte: a plain precopy whose last device section (and its footer)
 * has an id with a non-zero byte at any of the four positions, or whose
 * VM description length has one, completes exactly as with small ones,
 * whatever the alignment of the footer to the parser's reads (the device
 * state padded by 0..23 bytes: END_PATTERN_LEN is 24).  Found by
 * ci/mutate: the most significant byte of the footer's id (pattern byte
 * 1) once stopped being a wildcard, and a stream ending with an id >=
 * 0x01000000 read past its end pattern.
 */
static void check_end_pattern_wildcards(uint32_t sid, uint32_t desc_len,
                                        size_t pad)
{
    static const char json[] = "{\"page_size\": 4096, \"devices\": []}";
    void *st = NULL;
    Fx *fx;
    uint8_t *desc;

    assert_int_equal(fx_setup(&st), 0);
    fx = st;
    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, sid, "timer", 0, 2);
    memset(sup_buf_grow(&fx->s, pad), 0x55, pad);
    sb_footer(&fx->s, sid);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    sup_buf_put_u8(&fx->s, WIRE_VM_VMDESCRIPTION);
    sup_buf_put_be32(&fx->s, desc_len);
    desc = sup_buf_grow(&fx->s, desc_len);
    memset(desc, ' ', desc_len);
    memcpy(desc, json, sizeof(json) - 1);
    fx_run(fx);
    if (!fx->ok || fx->outcome != INCOMING_COMPLETED) {
        print_error("section id 0x%08x, description length 0x%08x, %zu "
                    "bytes of state: ok=%d outcome %d: %s (code %d at "
                    "%llu)\n",
                    sid, desc_len, pad, fx->ok, fx->outcome, fx->err.msg,
                    fx->err.code, (unsigned long long)fx->err.offset);
    }
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_COMPLETED);
    /* section header, state, footer, EOF */
    assert_int_equal(fx->precopy_dev_len, 1 + 4 + 1 + 5 + 8 + pad + 5 + 1);
    assert_int_equal(chan_offset(fx->sec->main), fx->s.len);
    assert_string_equal(fx->log, "devpre precopy ");
    assert_int_equal(fx_teardown(&st), 0);
}

static void test_end_pattern_wildcards(void **state)
{
    static const struct {
        uint32_t sid;
        uint32_t desc_len;
    } c[] = {
        { 0x01000000, 34 },         { 0x00010000, 34 },
        { 0x00000100, 34 },         { 0x00000001, 34 },
        { 0xffffffff, 34 },         { 0x7e000000, 0x00000100 },
        { 0x00000000, 0x0000ff22 }, { 0x00000000, 0x00010000 },
        { 0x01010101, 0x01000000 },
    };
    size_t i, pad;

    (void)state;
    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        for (pad = 0; pad < 24; pad++) {
            check_end_pattern_wildcards(c[i].sid, c[i].desc_len, pad);
        }
    }
}

static uint64_t in_vmdesc_size(Fx *fx)
{
    size_t at;

    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    at = fx->s.len;
    sup_buf_put_u8(&fx->s, WIRE_VM_VMDESCRIPTION);
    sup_buf_put_be32(&fx->s, 0xffffffffu);
    return at + 1;
}

static uint64_t in_vmdesc_truncated(Fx *fx)
{
    build_plain(&fx->s);
    sup_buf_truncate(&fx->s, fx->s.len - 3);
    return fx->s.len;
}

/* ---- COLO ---- */

/* Precopy with ENABLE_COLO: pages 0..7 of pc.ram = 0x10 + i. */
static void build_colo_precopy(SupBuf *b)
{
    int i;

    sb_begin(b, true);
    sb_section_part(b, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(b, "pc.ram", 0, 0x10);
    for (i = 1; i < 8; i++) {
        sb_page(b, NULL, (uint64_t)i * SB_PAGE, (uint8_t)(0x10 + i));
    }
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
    sb_end(b);
}

/* Checkpoint: page 0 = @v, page 1 zero (CONTINUE from the earlier block). */
static void build_cp(SupBuf *b, uint8_t v)
{
    sb_cp_begin(b);
    sb_page(b, NULL, 0, v);
    sb_zero(b, NULL, SB_PAGE, 0);
    sb_cp_end(b, 100);
}

static const uint8_t cp_replies[] = {
    0, 0, 0, 0,                         /* READY */
    0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6, /* REPLY RECEIVED LOADED */
    0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6,
};

/* The replies sent are exactly the first @n bytes of cp_replies. */
static void expect_cp_replies(Fx *fx, size_t n)
{
    const uint8_t *r;
    size_t len;

    r = replies(fx, &len);
    assert_int_equal(len, n);
    assert_memory_equal(r, cp_replies, n);
}

static void test_colo_two_checkpoints(void **state)
{
    Fx *fx = *state;
    IncomingStats st;
    size_t cp1;

    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    cp1 = fx->s.len;
    build_cp(&fx->s, 0x81);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    /* checkpoint 1's own counts, not summed with checkpoint 0's */
    assert_int_equal(fx->last_cp.index, 1);
    assert_int_equal(fx->last_cp.request_offset, cp1);
    assert_int_equal(fx->last_cp.end_offset, fx->s.len);
    assert_int_equal(fx->last_cp.pages, 1);
    assert_int_equal(fx->last_cp.zero_pages, 1);
    assert_int_equal(fx->last_cp.syncs, 0);
    assert_int_equal(fx->last_cp.device_state_len, 100);
    expect_cp_replies(fx, sizeof(cp_replies));
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x81);
    assert_int_equal(ram_byte(fx, "pc.ram", SB_PAGE), 0);
    assert_int_equal(ram_byte(fx, "pc.ram", 2 * SB_PAGE), 0x12);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.checkpoints, 2);
    assert_true(st.colo);
    assert_string_equal(fx->log, "devpre precopy start "
                                 "stop load done start "
                                 "stop load done start ");
    /*
     * On a normal checkpoint the device state is loaded onto the flushed
     * RAM (page 0 0x81, page 1 zeroed; before the flush: 0x80, 0x11).
     */
    assert_int_equal(fx->ram_at_load[0], 0x81);
    assert_int_equal(fx->ram_at_load[1], 0);
    assert_int_equal(fx->ram_at_load[2], 0x12);
    assert_int_equal(fx->cp_dev_len, 100);
    assert_int_equal(fx->cp_dev_d5, 100);
}

/* Checkpoint 1 cut @extra bytes in; the error is at the end of the stream. */
static uint64_t cut_in_cp1(Fx *fx, size_t extra)
{
    size_t cp1;

    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    cp1 = fx->s.len;
    build_cp(&fx->s, 0x81);
    sup_buf_truncate(&fx->s, cp1 + extra);
    fx->cut_extra = extra;
    return fx->s.len;
}

/* Memory of checkpoint 0, failed over. */
static void check_cut_in_cp1(Fx *fx)
{
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
    assert_int_equal(ram_byte(fx, "pc.ram", SB_PAGE), 0);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
    /* stopped at the REQUEST, restarted by the failover */
    if (fx->cut_extra >= 4) {
        assert_non_null(strstr(fx->log, "stop start"));
    } else {
        assert_null(strstr(fx->log, "stop start"));
    }
}

static uint64_t in_colo_cut_after_request(Fx *fx)
{
    return cut_in_cp1(fx, 4);
}

static uint64_t in_colo_cut_in_message(Fx *fx)
{
    return cut_in_cp1(fx, 2);
}

static uint64_t in_colo_cut_before_section_type(Fx *fx)
{
    /* REQUEST SEND, then nothing: the RAM state's first type byte */
    return cut_in_cp1(fx, 4 + 4);
}

static uint64_t in_colo_cut_in_page(Fx *fx)
{
    /* REQUEST SEND END-hdr(5) word(8) data(..) */
    return cut_in_cp1(fx, 4 + 4 + 5 + 8 + 4000);
}

static uint64_t in_colo_cut_before_blob(Fx *fx)
{
    size_t ram = 5 + 8 + SB_PAGE + 8 + 1 + 8 + 5 + 1;

    return cut_in_cp1(fx, 4 + 4 + ram + 4 + 8);
}

static uint64_t in_colo_blob_short(Fx *fx)
{
    size_t ram = 5 + 8 + SB_PAGE + 8 + 1 + 8 + 5 + 1;

    return cut_in_cp1(fx, 4 + 4 + ram + 4 + 8 + 99);
}

static void test_colo_clean_end_precopy_only(void **state)
{
    Fx *fx = *state;

    build_colo_precopy(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    expect_cp_replies(fx, 4);
    assert_int_equal(ram_byte(fx, "pc.ram", 3 * SB_PAGE), 0x13);
}

static uint64_t in_colo_unexpected_message(Fx *fx)
{
    size_t at;

    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    at = fx->s.len;
    sb_colo(&fx->s, WIRE_COLO_VMSTATE_SEND);
    return at;
}

static void check_colo_unexpected_message(Fx *fx)
{
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
}

static uint64_t in_colo_unknown_message(Fx *fx)
{
    size_t at;

    build_colo_precopy(&fx->s);
    sb_colo(&fx->s, WIRE_COLO_CHECKPOINT_REQUEST);
    at = fx->s.len;
    sb_colo(&fx->s, 7);
    return at;
}

static uint64_t in_colo_vmstate_size_bound(Fx *fx)
{
    size_t at;

    fx->max_devstate = 1000;
    build_colo_precopy(&fx->s);
    sb_cp_begin(&fx->s);
    sb_eos(&fx->s);
    sb_footer(&fx->s, SB_RAM_SID);
    sup_buf_put_u8(&fx->s, WIRE_VM_EOF);
    sb_colo(&fx->s, WIRE_COLO_VMSTATE_SIZE);
    at = fx->s.len;
    sup_buf_put_be64(&fx->s, 1001);
    return at;
}

static uint64_t in_colo_ram_wrong_section(Fx *fx)
{
    size_t at;

    build_colo_precopy(&fx->s);
    sb_colo(&fx->s, WIRE_COLO_CHECKPOINT_REQUEST);
    sb_colo(&fx->s, WIRE_COLO_VMSTATE_SEND);
    at = fx->s.len;
    sb_section_start(&fx->s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    return at;
}

static uint64_t in_colo_ram_unknown_sid(Fx *fx)
{
    size_t at;

    build_colo_precopy(&fx->s);
    sb_colo(&fx->s, WIRE_COLO_CHECKPOINT_REQUEST);
    sb_colo(&fx->s, WIRE_COLO_VMSTATE_SEND);
    at = fx->s.len;
    sb_section_part(&fx->s, WIRE_VM_SECTION_END, 7);
    return at + 1;
}

/*
 * A checkpoint's RAM state in three "ram" sections: PART, PART, END, then
 * QEMU_VM_EOF.  QEMU's primary sends one END (qemu_savevm_live_state
 * completes the iterable sections only: tests/data/qemu-7.2-colo
 * parse.txt, every checkpoint); QEMU's secondary loads a PART like an
 * END (qemu_loadvm_state_main), and so does this receiver: the pages of
 * every section are in the checkpoint, flushed before its device state.
 */
static void test_colo_checkpoint_part_sections(void **state)
{
    /* pc.ram byte 0 of pages 0..7: precopy 0x10 + i, then this one */
    static const uint8_t want[8] = {
        0x90, 0x11, 0, 0x13, 0x94, 0x15, 0x16, 0x97
    };
    Fx *fx = *state;
    IncomingStats st;
    char line[300];

    build_colo_precopy(&fx->s);
    sb_colo(&fx->s, WIRE_COLO_CHECKPOINT_REQUEST);
    sb_colo(&fx->s, WIRE_COLO_VMSTATE_SEND);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(&fx->s, NULL, 0, 0x90);
    sb_zero(&fx->s, NULL, 2 * SB_PAGE, 0);
    sb_eos(&fx->s);
    sb_footer(&fx->s, SB_RAM_SID);
    sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(&fx->s, NULL, 4 * SB_PAGE, 0x94);
    sb_eos(&fx->s);
    sb_footer(&fx->s, SB_RAM_SID);
    sb_section_part(&fx->s, WIRE_VM_SECTION_END, SB_RAM_SID);
    sb_page(&fx->s, NULL, 7 * SB_PAGE, 0x97);
    sb_cp_end(&fx->s, 100);
    fx_run(fx);
    if (!fx->ok) {
        mf_error_format(&fx->err, line, sizeof(line));
        print_error("a checkpoint of ram PART, PART, END sections was "
                    "refused: %s (%s)\n",
                    line, fx->err.code_name ? fx->err.code_name : "-");
    }
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    expect_cp_replies(fx, 16); /* READY REPLY RECEIVED LOADED */
    assert_string_equal(fx->log, "devpre precopy start stop load done start ");
    assert_int_equal(fx->cps, 1);
    assert_memory_equal(fx->ram_at_cp, want, sizeof(want));
    assert_memory_equal(fx->ram_at_load, want, sizeof(want));
    assert_int_equal(fx->cp_dev_len, 100);
    assert_int_equal(fx->cp_dev_d5, 100);
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.checkpoints, 1);
    assert_int_equal(st.pages, 8 + 3);
    assert_int_equal(st.zero_pages, 1);
}

/*
 * Every section type byte where a checkpoint's RAM state has its next
 * section, first (right after VMSTATE_SEND) and after a complete ram
 * PART section (page 0 = 0x90).  The bytes after the type byte are those
 * of a ram section (be32 id 2, a PAGE for page 5 = 0xa5, EOS, footer),
 * then QEMU_VM_EOF and the device state, whatever the type:
 *   - QEMU_VM_EOF (0x00): the RAM state ends there; the section bytes
 *     are then read as a COLO message: be32 0x00000002 is not
 *     VMSTATE_SIZE (INCOMING_ERR_COLO_UNEXPECTED at the byte after EOF);
 *   - SECTION_PART (0x02), SECTION_END (0x03): loaded; the checkpoint is
 *     applied (page 5 = 0xa5, page 0 = 0x90 or 0x10);
 *   - the other known types (START, FULL, SUBSECTION, VMDESCRIPTION,
 *     CONFIGURATION, COMMAND, FOOTER): INCOMING_ERR_UNEXPECTED_SECTION;
 *   - every other value: WIRE_ERR_VM_SECTION_TYPE;
 * each refusal on "main" at the type byte, with its exact message; the
 * partial checkpoint is discarded (memory of precopy) and the guest,
 * stopped at the REQUEST, restarted by the failover.
 */
typedef enum CpTypeOutcome {
    CP_TYPE_LOADED,
    CP_TYPE_EOF,
    CP_TYPE_UNEXPECTED,
    CP_TYPE_UNKNOWN,
} CpTypeOutcome;

static CpTypeOutcome cp_type_outcome(unsigned type)
{
    switch (type) {
    case WIRE_VM_EOF:
        return CP_TYPE_EOF;
    case WIRE_VM_SECTION_PART:
    case WIRE_VM_SECTION_END:
        return CP_TYPE_LOADED;
    case WIRE_VM_SECTION_START:
    case WIRE_VM_SECTION_FULL:
    case WIRE_VM_SUBSECTION:
    case WIRE_VM_VMDESCRIPTION:
    case WIRE_VM_CONFIGURATION:
    case WIRE_VM_COMMAND:
    case WIRE_VM_SECTION_FOOTER:
        return CP_TYPE_UNEXPECTED;
    default:
        return CP_TYPE_UNKNOWN;
    }
}

static void check_cp_section_type(unsigned type, bool after_part)
{
    static const char *const names[256] = {
        [WIRE_VM_SECTION_START] = "SECTION_START",
        [WIRE_VM_SECTION_FULL] = "SECTION_FULL",
        [WIRE_VM_SUBSECTION] = "SUBSECTION",
        [WIRE_VM_VMDESCRIPTION] = "VMDESCRIPTION",
        [WIRE_VM_CONFIGURATION] = "CONFIGURATION",
        [WIRE_VM_COMMAND] = "COMMAND",
        [WIRE_VM_SECTION_FOOTER] = "SECTION_FOOTER",
    };
    CpTypeOutcome want = cp_type_outcome(type);
    uint8_t page0 = after_part ? 0x90 : 0x10;
    void *st = NULL;
    char msg[200], line[300];
    uint64_t at;
    int code = 0;
    bool bad;
    Fx *fx;

    assert_int_equal(fx_setup(&st), 0);
    fx = st;
    build_colo_precopy(&fx->s);
    sb_colo(&fx->s, WIRE_COLO_CHECKPOINT_REQUEST);
    sb_colo(&fx->s, WIRE_COLO_VMSTATE_SEND);
    if (after_part) {
        sb_section_part(&fx->s, WIRE_VM_SECTION_PART, SB_RAM_SID);
        sb_page(&fx->s, NULL, 0, 0x90);
        sb_eos(&fx->s);
        sb_footer(&fx->s, SB_RAM_SID);
    }
    at = fx->s.len;
    sb_section_part(&fx->s, (uint8_t)type, SB_RAM_SID);
    sb_page(&fx->s, NULL, 5 * SB_PAGE, 0xa5);
    sb_cp_end(&fx->s, 100);
    fx_run(fx);

    msg[0] = '\0';
    switch (want) {
    case CP_TYPE_LOADED:
        break;
    case CP_TYPE_EOF:
        code = INCOMING_ERR_COLO_UNEXPECTED;
        at += 1;
        snprintf(msg, sizeof(msg),
                 "COLO message checkpoint-reply (2) where vmstate-size (4) "
                 "was expected");
        break;
    case CP_TYPE_UNEXPECTED:
        code = INCOMING_ERR_UNEXPECTED_SECTION;
        snprintf(msg, sizeof(msg),
                 "%s (0x%02x) in a checkpoint's RAM state (only \"ram\" "
                 "SECTION_PART/END and QEMU_VM_EOF)",
                 names[type], type);
        break;
    case CP_TYPE_UNKNOWN:
        code = WIRE_ERR_VM_SECTION_TYPE;
        snprintf(msg, sizeof(msg),
                 "section type 0x%02x unknown (known: 0x00-0x08, 0x7e)", type);
        break;
    }
    mf_error_format(&fx->err, line, sizeof(line));
    if (want == CP_TYPE_LOADED) {
        bad = !fx->ok;
    } else {
        bad = fx->ok || fx->err.code != code || fx->err.offset != at ||
              strcmp(fx->err.msg, msg) != 0;
    }
    if (bad) {
        print_error("section type 0x%02x %s in a checkpoint: want %s, got "
                    "ok=%d: %s\n",
                    type, after_part ? "after a PART" : "first",
                    want == CP_TYPE_LOADED ? "loaded" : msg, fx->ok, line);
    }
    if (want == CP_TYPE_LOADED) {
        assert_true(fx->ok);
        assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
        assert_int_equal(fx->cps, 1);
        assert_int_equal(ram_byte(fx, "pc.ram", 0), page0);
        assert_int_equal(ram_byte(fx, "pc.ram", 5 * SB_PAGE), 0xa5);
        assert_string_equal(fx->log,
                            "devpre precopy start stop load done start ");
    } else {
        expect_err(fx, code, at);
        assert_string_equal(fx->err.msg, msg);
        assert_int_equal(fx->cps, 0);
        assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x10);
        assert_int_equal(ram_byte(fx, "pc.ram", 5 * SB_PAGE), 0x15);
        assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
        assert_string_equal(fx->log, "devpre precopy start stop start ");
    }
    fx_teardown(&st);
}

static void test_colo_checkpoint_section_types(void **state)
{
    unsigned type;

    (void)state;
    for (type = 0; type < 256; type++) {
        check_cp_section_type(type, false);
        check_cp_section_type(type, true);
    }
}

static uint64_t in_colo_mem_size_in_checkpoint(Fx *fx)
{
    size_t at;

    build_colo_precopy(&fx->s);
    sb_cp_begin(&fx->s);
    at = fx->s.len;
    sb_mem_size(&fx->s);
    return at;
}

static uint64_t in_colo_unknown_block_in_checkpoint(Fx *fx)
{
    size_t at;

    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    sb_cp_begin(&fx->s);
    sb_page(&fx->s, NULL, 2 * SB_PAGE, 0x99);
    sb_record(&fx->s, 0, WIRE_RAM_PAGE);
    at = fx->s.len;
    sb_name(&fx->s, "ghost");
    return at;
}

static void check_colo_unknown_block_in_checkpoint(Fx *fx)
{
    /* page 2 of the partial checkpoint never reached the guest */
    assert_int_equal(ram_byte(fx, "pc.ram", 2 * SB_PAGE), 0x12);
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
}

static uint64_t in_colo_hook_stop_fails(Fx *fx)
{
    size_t at;

    fx->fail_stop = true;
    build_colo_precopy(&fx->s);
    at = fx->s.len;
    build_cp(&fx->s, 0x80);
    return at;
}

static uint64_t in_colo_hook_load_fails(Fx *fx)
{
    fx->fail_load = true;
    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    return fx->s.len;
}

static void check_colo_hook_load_fails(Fx *fx)
{
    /* QEMU too: the RAM was flushed before the device load failed. */
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
}

static void test_failover_request_mid_checkpoint(void **state)
{
    Fx *fx = *state;

    fx->failover_in_stop = true;
    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    /* the checkpoint is discarded: precopy memory */
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x10);
    assert_int_equal(ram_byte(fx, "pc.ram", SB_PAGE), 0x11);
    expect_cp_replies(fx, 8); /* READY, REPLY (sent after the hook) */
    assert_string_equal(fx->log, "devpre precopy start stop start ");
}

/*
 * A failover requested while the receiver waits for the next
 * CHECKPOINT_REQUEST (the read of that message fails with the shutdown,
 * CHAN_ERR_SHUTDOWN): the run fails over at once with no error: the guest
 * is not stopped again, nothing is answered after checkpoint 0's LOADED,
 * memory is checkpoint 0's.  Found by ci/mutate: the read's non-EOF error
 * once went on into a checkpoint (stop, CHECKPOINT_REPLY) that was never
 * requested.
 */
static void test_failover_request_idle(void **state)
{
    Fx *fx = *state;
    IncomingStats st;

    fx->failover_idle = true;
    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    build_cp(&fx->s, 0x81);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    expect_cp_replies(fx, 16); /* READY, REPLY RECEIVED LOADED */
    assert_string_equal(fx->log, "devpre precopy start stop load done start ");
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.checkpoints, 1);
}

/*
 * The same read failing without a failover request (main shut down by
 * someone else): that error, as the channel reported it, at the offset
 * of the REQUEST that was not read; nothing answered, guest not stopped.
 */
static void test_colo_idle_read_error(void **state)
{
    Fx *fx = *state;
    size_t cp1;

    fx->shutdown_idle = true;
    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    cp1 = fx->s.len;
    build_cp(&fx->s, 0x81);
    fx_run(fx);
    expect_err(fx, CHAN_ERR_SHUTDOWN, cp1);
    expect_cp_replies(fx, 16);
    assert_string_equal(fx->log, "devpre precopy start stop load done start ");
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
}

/*
 * A read error inside a checkpoint (main shut down by someone else while
 * the guest is being stopped): the VMSTATE_SEND read fails with that
 * error as the channel reported it, at the offset after the REQUEST;
 * only CHECKPOINT_REPLY answered; the checkpoint is discarded and the
 * guest restarted by the failover.
 */
static void test_colo_read_error_in_checkpoint(void **state)
{
    Fx *fx = *state;
    size_t cp0;

    fx->shutdown_in_stop = true;
    build_colo_precopy(&fx->s);
    cp0 = fx->s.len;
    build_cp(&fx->s, 0x80);
    fx_run(fx);
    expect_err(fx, CHAN_ERR_SHUTDOWN, cp0 + 4);
    assert_string_equal(fx->err.msg, "channel was shut down");
    expect_cp_replies(fx, 8); /* READY, REPLY */
    assert_string_equal(fx->log, "devpre precopy start stop start ");
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x10);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
}

/*
 * A read error inside a checkpoint's device state (main shut down by
 * someone else right after VMSTATE_SIZE and its be64 were read): the run
 * fails with that error as the channel reported it, at the offset after
 * the be64; VMSTATE_RECEIVED is not sent, the checkpoint is neither
 * flushed nor loaded (no load_device_state, no checkpoint_done), and the
 * failover leaves guest memory as the precopy left it (I4).
 */
static void test_colo_read_error_in_device_state(void **state)
{
    Fx *fx = *state;
    size_t ram = 5 + 8 + SB_PAGE + 8 + 1 + 8 + 5 + 1;
    size_t cp0;
    IncomingStats st;

    fx->shutdown_at_cp_device = true;
    build_colo_precopy(&fx->s);
    cp0 = fx->s.len;
    build_cp(&fx->s, 0x80);
    fx_run(fx);
    expect_err(fx, CHAN_ERR_SHUTDOWN, cp0 + 4 + 4 + ram + 4 + 8);
    assert_string_equal(fx->err.msg, "channel was shut down");
    expect_cp_replies(fx, 8); /* READY, REPLY */
    assert_string_equal(fx->log, "devpre precopy start stop start ");
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x10);
    assert_int_equal(ram_byte(fx, "pc.ram", SB_PAGE), 0x11);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.checkpoints, 0);
}

static void test_failover_request_while_loading(void **state)
{
    Fx *fx = *state;

    fx->failover_in_done = true;
    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    build_cp(&fx->s, 0x81);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    /* QEMU's RELAUNCH: the checkpoint completes, LOADED is not sent */
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
    assert_int_equal(fx->cps, 1);
    expect_cp_replies(fx, 12);
    assert_string_equal(fx->log, "devpre precopy start stop load done start ");
}

/*
 * Second guard of "a failover requested while a checkpoint is being
 * applied takes effect only once the apply is complete, device state
 * included" (docs/verification.md, Second guards; the first: qtest
 * /mfcolo/colo/failover-in-flush, at the VM level).  The request comes
 * in the parser's own thread, at the stage checkpoint-loading (before the
 * flush) or inside the device load: checkpoint 0 is applied whole (RAM
 * flushed: page 0 0x80, page 1 zero; then its 100-byte device state, all
 * 0xd5, loaded onto that RAM; the checkpoint hook called), LOADED is not
 * sent (replies READY REPLY RECEIVED), the run fails over onto
 * checkpoint 0 and checkpoint 1 is never read.
 */
static void check_failover_while_applying(Fx *fx)
{
    IncomingStats st;

    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    build_cp(&fx->s, 0x81);
    fx_run(fx);
    assert_true(fx->ok);
    assert_int_equal(fx->outcome, INCOMING_FAILED_OVER);
    assert_string_equal(fx->log, "devpre precopy start stop load done start ");
    assert_string_equal(fx->stages,
                        "precopy devices colo-idle colo-idle "
                        "checkpoint-requested checkpoint-ram "
                        "checkpoint-device checkpoint-loading done ");
    assert_int_equal(fx->ram_at_load[0], 0x80);
    assert_int_equal(fx->ram_at_load[1], 0);
    assert_int_equal(fx->ram_at_load[2], 0x12);
    assert_int_equal(fx->cp_dev_len, 100);
    assert_int_equal(fx->cp_dev_d5, 100);
    assert_int_equal(fx->cps, 1);
    incoming_get_stats(fx->sec->in, &st);
    assert_int_equal(st.checkpoints, 1);
    assert_int_equal(ram_byte(fx, "pc.ram", 0), 0x80);
    assert_int_equal(ram_byte(fx, "pc.ram", SB_PAGE), 0);
    assert_int_equal(ram_byte(fx, "pc.ram", 2 * SB_PAGE), 0x12);
    assert_int_equal(colo_phase(&fx->sec->colo), COLO_PHASE_FAILED_OVER);
    expect_cp_replies(fx, 12);
}

static void test_failover_request_at_loading(void **state)
{
    Fx *fx = *state;

    fx->failover_at_loading = true;
    check_failover_while_applying(fx);
}

static void test_failover_request_in_device_load(void **state)
{
    Fx *fx = *state;

    fx->failover_in_load = true;
    check_failover_while_applying(fx);
}

static void test_colo_stages(void **state)
{
    Fx *fx = *state;

    build_colo_precopy(&fx->s);
    build_cp(&fx->s, 0x80);
    fx_run(fx);
    assert_true(fx->ok);
    assert_string_equal(fx->stages,
                        "precopy devices colo-idle colo-idle "
                        "checkpoint-requested checkpoint-ram "
                        "checkpoint-device checkpoint-loading colo-idle "
                        "done ");
}

static uint64_t in_precopy_hook_load_fails(Fx *fx)
{
    size_t at;

    fx->fail_precopy_load = true;
    sb_begin(&fx->s, false);
    sb_ram_end(&fx->s);
    at = fx->s.len;
    sb_devices_end(&fx->s);
    return at;
}

/* ---- API ---- */

static void test_run_twice(void **state)
{
    Fx *fx = *state;
    MfError e = { 0 };
    IncomingOutcome o;

    build_plain(&fx->s);
    fx_run(fx);
    assert_true(fx->ok);
    assert_false(incoming_run(fx->sec->in, &o, &e));
    assert_int_equal(e.code, MF_ERR_INVALID_ARG);
}

static void test_new_invalid(void **state)
{
    IncomingConfig cfg = { 0 };
    MfError e = { 0 };
    RamTable ram;
    Chan *main;

    (void)state;
    assert_null(incoming_new(&cfg, &e));
    assert_int_equal(e.code, MF_ERR_INVALID_ARG);
    assert_null(incoming_new(NULL, NULL));
    /* an unknown sync mode: MF_ERR_INVALID_ARG, its message */
    assert_true(ram_table_init(&ram, SB_PAGE, &e));
    main = chan_mem_new((const uint8_t *)"", 0, 0, "main", &e);
    assert_non_null(main);
    cfg.main = main;
    cfg.ram = &ram;
    cfg.sync = (IncomingSyncMode)(INCOMING_SYNC_AUTO + 1);
    mf_error_clear(&e);
    assert_null(incoming_new(&cfg, &e));
    assert_int_equal(e.code, MF_ERR_INVALID_ARG);
    assert_string_equal(e.msg, "incoming: sync mode 3 unknown");
    chan_free(main);
    ram_table_destroy(&ram);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(incoming_sync_mode_name(INCOMING_SYNC_AUTO), "auto");
    assert_string_equal(incoming_sync_mode_name(INCOMING_SYNC_ROUND), "round");
    assert_string_equal(incoming_sync_mode_name(INCOMING_SYNC_SECTION),
                        "section");
    assert_string_equal(incoming_stage_name(INCOMING_STAGE_CP_LOADING),
                        "checkpoint-loading");
    assert_string_equal(incoming_stage_name((IncomingStage)99), "?");
}

/*
 * Every stream that must fail: the test name, the input (the builder
 * writes the stream into fx->s, may set receiver options in @fx, and
 * returns the stream offset the error must name, always on "main"), the
 * exact error code and message, and further checks (memory, log) or NULL.
 */
typedef struct ErrCase {
    const char *name;
    uint64_t (*build)(Fx *fx);
    int code;
    const char *msg;
    void (*check)(Fx *fx);
} ErrCase;

static const ErrCase err_cases[] = {
    { "test_trailing_data", in_trailing_data, INCOMING_ERR_TRAILING_DATA,
      "data after the end of the migration (byte 0x42)", NULL },
    { "test_truncated_header", in_truncated_header, INCOMING_ERR_TRUNCATED,
      "stream ends inside QEVM file header that starts at offset 0 (8 bytes "
      "expected)",
      NULL },
    { "test_empty_stream", in_empty_stream, INCOMING_ERR_TRUNCATED,
      "stream ends inside QEVM file header that starts at offset 0 (8 bytes "
      "expected)",
      NULL },
    { "test_bad_magic", in_bad_magic, WIRE_ERR_VM_MAGIC,
      "stream magic 0x5145564e, expected 0x5145564d (QEVM)", NULL },
    { "test_multifd_magic_as_main", in_multifd_magic_as_main, WIRE_ERR_VM_MAGIC,
      "stream magic 0x11223344, expected 0x5145564d (QEVM)", NULL },
    { "test_bad_version", in_bad_version, WIRE_ERR_VM_VERSION,
      "stream version 2, expected 3", NULL },
    { "test_config_length", in_config_length, INCOMING_ERR_CONFIGURATION,
      "CONFIGURATION machine name length 0 (1..255)", NULL },
    { "test_config_not_first", in_config_not_first,
      INCOMING_ERR_UNEXPECTED_SECTION,
      "CONFIGURATION is only allowed right after the file header", NULL },
    { "test_command_unsupported", in_command_unsupported,
      INCOMING_ERR_COMMAND_UNSUPPORTED,
      "QEMU_VM_COMMAND POSTCOPY_ADVISE (3) is not supported by this receiver",
      NULL },
    { "test_command_unknown", in_command_unknown, WIRE_ERR_VM_COMMAND,
      "command 99 unknown (known 1..11)", NULL },
    { "test_command_enable_colo_length", in_command_enable_colo_length,
      WIRE_ERR_VM_COMMAND, "command ENABLE_COLO length 1, expected 0", NULL },
    { "test_command_rp_length", in_command_rp_length,
      INCOMING_ERR_COMMAND_LENGTH, "OPEN_RETURN_PATH length 1, expected 0",
      NULL },
    { "test_command_ping_length", in_command_ping_length,
      INCOMING_ERR_COMMAND_LENGTH, "PING length 3, expected 4", NULL },
    { "test_ping_value_truncated", in_ping_value_truncated,
      INCOMING_ERR_TRUNCATED,
      "stream ends inside PING value that starts at offset 13 (4 bytes "
      "expected)",
      check_no_reply },
    { "test_ping_without_return_path", in_ping_without_return_path,
      INCOMING_ERR_NO_RETURN_PATH, "PING 0x1 received with no return path open",
      NULL },
    { "test_enable_colo_without_colo", in_enable_colo_without_colo,
      INCOMING_ERR_COLO_NOT_ENABLED,
      "ENABLE_COLO in the stream but COLO (x-colo) is not enabled on this "
      "receiver",
      NULL },
    { "test_enable_colo_twice", in_enable_colo_twice,
      INCOMING_ERR_COMMAND_UNEXPECTED, "ENABLE_COLO received twice", NULL },
    { "test_enable_colo_after_ram", in_enable_colo_after_ram,
      INCOMING_ERR_COMMAND_UNEXPECTED,
      "ENABLE_COLO after the RAM section started", NULL },
    { "test_section_type_unknown", in_section_type_unknown,
      WIRE_ERR_VM_SECTION_TYPE,
      "section type 0x55 unknown (known: 0x00-0x08, 0x7e)", NULL },
    { "test_section_type_misplaced", in_section_type_misplaced,
      INCOMING_ERR_UNEXPECTED_SECTION, "VMDESCRIPTION (0x06) not allowed here",
      NULL },
    { "test_section_not_ram", in_section_not_ram, INCOMING_ERR_UNKNOWN_SECTION,
      "SECTION_START of \"block\" (id 3): only \"ram\" is modelled", NULL },
    { "test_section_ram_version", in_section_ram_version,
      INCOMING_ERR_SECTION_VERSION,
      "\"ram\" section instance 0 version 3, expected instance 0 version 4",
      NULL },
    { "test_section_start_twice", in_section_start_twice,
      INCOMING_ERR_UNEXPECTED_SECTION, "second SECTION_START of \"ram\" (id 2)",
      NULL },
    { "test_section_part_unknown_id", in_section_part_unknown_id,
      INCOMING_ERR_UNKNOWN_SECTION,
      "SECTION_PART of section id 9, which was never started", NULL },
    { "test_section_part_before_start", in_section_part_before_start,
      INCOMING_ERR_UNKNOWN_SECTION,
      "SECTION_PART of section id 2, which was never started", NULL },
    { "test_section_part_after_end", in_section_part_after_end,
      INCOMING_ERR_UNEXPECTED_SECTION,
      "SECTION_PART of \"ram\" after its SECTION_END", NULL },
    { "test_full_before_ram_end", in_full_before_ram_end,
      INCOMING_ERR_UNEXPECTED_SECTION,
      "SECTION_FULL of \"timer\" before the end of the \"ram\" section", NULL },
    { "test_footer_wrong_id", in_footer_wrong_id, WIRE_ERR_VM_FOOTER,
      "section footer id 3, expected 2", NULL },
    { "test_footer_missing", in_footer_missing, WIRE_ERR_VM_FOOTER,
      "section footer type 0x02, expected 0x7e for section 2", NULL },
    { "test_mem_size_outside_start", in_mem_size_outside_start,
      INCOMING_ERR_MEM_SIZE, "MEM_SIZE block list received twice", NULL },
    { "test_mem_size_twice", in_mem_size_twice, INCOMING_ERR_MEM_SIZE,
      "MEM_SIZE block list received twice", NULL },
    { "test_mem_size_with_full", in_mem_size_with_full, WIRE_ERR_RAM_FLAGS,
      "RAM record flags 0x5 carry unsupported 0x1 (FULL 0x01, XBZRLE 0x40, "
      "HOOK 0x80, COMPRESS_PAGE 0x100)",
      check_mem_size_with_full },
    { "test_mem_size_overflow", in_mem_size_overflow, INCOMING_ERR_MEM_SIZE,
      "MEM_SIZE block \"pc.ram\" length 131072 exceeds the 65536 bytes left of "
      "the total 65536",
      NULL },
    { "test_mem_size_unknown_block", in_mem_size_unknown_block,
      RAM_ERR_UNKNOWN_BLOCK, "unknown RAM block \"pc.rom\"", NULL },
    { "test_mem_size_length_mismatch", in_mem_size_length_mismatch,
      INCOMING_ERR_BLOCK_LENGTH,
      "MEM_SIZE block \"pc.ram\" length 131072, local used_length 65536",
      NULL },
    { "test_mem_size_too_large", in_mem_size_too_large,
      INCOMING_ERR_RAM_TOO_LARGE,
      "MEM_SIZE total 69632 bytes above the limit 65536", NULL },
    { "test_mem_size_block_count", in_mem_size_block_count,
      INCOMING_ERR_MEM_SIZE,
      "MEM_SIZE block \"b1024\": more than 1024 blocks in the list (limit "
      "1024)",
      check_mem_size_block_count },
    { "test_mem_size_duplicate", in_mem_size_duplicate, RAM_ERR_DUPLICATE_BLOCK,
      "RAM block \"a\" already exists", NULL },
    { "test_mem_size_zero_length", in_mem_size_zero_length,
      RAM_ERR_BLOCK_LENGTH, "RAM block \"a\": used_length 0", NULL },
    { "test_record_unknown_block", in_record_unknown_block,
      RAM_ERR_UNKNOWN_BLOCK, "unknown RAM block \"nosuch\"", NULL },
    { "test_record_continue_no_block", in_record_continue_no_block,
      INCOMING_ERR_NO_CURRENT_BLOCK,
      "RAM record with CONTINUE but no block was named before", NULL },
    { "test_record_flags", in_record_flags, WIRE_ERR_RAM_FLAGS,
      "RAM record flags 0x40 carry unsupported 0x40 (FULL 0x01, XBZRLE 0x40, "
      "HOOK 0x80, COMPRESS_PAGE 0x100)",
      NULL },
    { "test_record_offset_range", in_record_offset_range, RAM_ERR_OFFSET_RANGE,
      "RAM block \"small\": offset 4096 + page_size 4096 exceeds used_length "
      "4096",
      NULL },
    { "test_record_zero_fill", in_record_zero_fill, WIRE_ERR_RAM_ZERO_FILL,
      "ZERO record fill byte 0x01, expected 0x00", NULL },
    { "test_record_page_truncated", in_record_page_truncated,
      INCOMING_ERR_TRUNCATED,
      "stream ends inside PAGE record data that starts at offset 98 (4096 "
      "bytes expected)",
      NULL },
    { "test_devices_no_end_colo", in_devices_no_end_colo,
      INCOMING_ERR_TRUNCATED,
      "stream ends inside the device state that starts at offset 116 (no "
      "QEMU_VM_EOF followed by the VM description)",
      NULL },
    { "test_vmdesc_size", in_vmdesc_size, INCOMING_ERR_VMDESC_SIZE,
      "VM description length 4294967295 above the bound 67108864", NULL },
    { "test_vmdesc_truncated", in_vmdesc_truncated, INCOMING_ERR_TRUNCATED,
      "stream ends inside VM description that starts at offset 12491 (21 bytes "
      "expected)",
      NULL },
    { "test_colo_cut_after_request", in_colo_cut_after_request,
      INCOMING_ERR_TRUNCATED,
      "stream ends inside COLO message that starts at offset 37296 (4 bytes "
      "expected)",
      check_cut_in_cp1 },
    { "test_colo_cut_in_message", in_colo_cut_in_message,
      INCOMING_ERR_TRUNCATED,
      "stream ends inside the COLO message that starts at offset 37292 (4 "
      "bytes expected)",
      check_cut_in_cp1 },
    { "test_colo_cut_before_section_type", in_colo_cut_before_section_type,
      INCOMING_ERR_TRUNCATED,
      "stream ends inside section type that starts at offset 37300 (1 bytes "
      "expected)",
      check_cut_in_cp1 },
    { "test_colo_cut_in_page", in_colo_cut_in_page, INCOMING_ERR_TRUNCATED,
      "stream ends inside PAGE record data that starts at offset 37305 (4096 "
      "bytes expected)",
      check_cut_in_cp1 },
    { "test_colo_cut_before_blob", in_colo_cut_before_blob,
      INCOMING_ERR_VMSTATE_SHORT,
      "device state: 0 bytes, less than the 100 that VMSTATE_SIZE at offset "
      "41436 announced",
      check_cut_in_cp1 },
    { "test_colo_blob_short", in_colo_blob_short, INCOMING_ERR_VMSTATE_SHORT,
      "device state: 99 bytes, less than the 100 that VMSTATE_SIZE at offset "
      "41436 announced",
      check_cut_in_cp1 },
    { "test_colo_unexpected_message", in_colo_unexpected_message,
      INCOMING_ERR_COLO_UNEXPECTED,
      "COLO message vmstate-send (3) where checkpoint-request (1) was expected",
      check_colo_unexpected_message },
    { "test_colo_unknown_message", in_colo_unknown_message,
      WIRE_ERR_COLO_MESSAGE, "COLO message 7 unknown (limit 6)", NULL },
    { "test_colo_vmstate_size_bound", in_colo_vmstate_size_bound,
      INCOMING_ERR_DEVICE_STATE_SIZE, "VMSTATE_SIZE 1001 above the bound 1000",
      NULL },
    { "test_colo_ram_wrong_section", in_colo_ram_wrong_section,
      INCOMING_ERR_UNEXPECTED_SECTION,
      "SECTION_FULL (0x04) in a checkpoint's RAM state (only \"ram\" "
      "SECTION_PART/END and QEMU_VM_EOF)",
      NULL },
    { "test_colo_ram_unknown_sid", in_colo_ram_unknown_sid,
      INCOMING_ERR_UNKNOWN_SECTION,
      "SECTION_END of section id 7 in a checkpoint, not the \"ram\" section",
      NULL },
    { "test_colo_mem_size_in_checkpoint", in_colo_mem_size_in_checkpoint,
      INCOMING_ERR_MEM_SIZE, "MEM_SIZE block list received twice", NULL },
    { "test_colo_unknown_block_in_checkpoint",
      in_colo_unknown_block_in_checkpoint, RAM_ERR_UNKNOWN_BLOCK,
      "unknown RAM block \"ghost\"", check_colo_unknown_block_in_checkpoint },
    { "test_colo_hook_stop_fails", in_colo_hook_stop_fails, INCOMING_ERR_HOOK,
      "stop_guest failed at checkpoint 0", NULL },
    { "test_colo_hook_load_fails", in_colo_hook_load_fails, INCOMING_ERR_HOOK,
      "load_device_state refused checkpoint 0", check_colo_hook_load_fails },
    { "test_precopy_hook_load_fails", in_precopy_hook_load_fails,
      INCOMING_ERR_HOOK, "load_device_state refused the precopy device state",
      NULL },
};

static void test_err_case(void **state)
{
    Fx *fx = *state;
    const ErrCase *c = fx->ec;
    uint64_t at = c->build(fx);

    fx_run(fx);
    expect_err(fx, c->code, at);
    assert_string_equal(fx->err.msg, c->msg);
    if (c->check) {
        c->check(fx);
    }
}

/* The error case's fixture: the case comes as the initial state. */
static int err_setup(void **state)
{
    const ErrCase *c = *state;
    int rc = fx_setup(state);

    ((Fx *)*state)->ec = c;
    return rc;
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_plain_precopy),
        T(test_plain_no_colo),
        T(test_replay_creates_blocks),
        T(test_plain_eof_without_devices),
        T(test_plain_vmdesc_peek_error),
        T(test_plain_end_peek_error),
        T(test_plain_devices_without_vmdesc),
        T(test_plain_end_after_first_header),
        T(test_trailing_allowed_live),
        T(test_ping_pong),
        T(test_devices_bound),
        T(test_devices_decoys),
        T(test_devices_vmdesc_10),
        cmocka_unit_test(test_end_pattern_wildcards),
        T(test_colo_two_checkpoints),
        T(test_colo_clean_end_precopy_only),
        T(test_colo_checkpoint_part_sections),
        T(test_colo_checkpoint_section_types),
        T(test_failover_request_mid_checkpoint),
        T(test_failover_request_idle),
        T(test_colo_idle_read_error),
        T(test_colo_read_error_in_checkpoint),
        T(test_colo_read_error_in_device_state),
        T(test_failover_request_while_loading),
        T(test_failover_request_at_loading),
        T(test_failover_request_in_device_load),
        T(test_colo_stages),
        T(test_run_twice),
        T(test_new_invalid),
        T(test_names),
    };
    enum {
        NERR = sizeof(err_cases) / sizeof(err_cases[0])
    };
    struct CMUnitTest errs[NERR];
    size_t i;
    int failed;

    for (i = 0; i < NERR; i++) {
        errs[i] =
            (struct CMUnitTest){ err_cases[i].name, test_err_case, err_setup,
                                 fx_teardown, (void *)&err_cases[i] };
    }
    failed = cmocka_run_group_tests_name("incoming", tests, NULL, NULL);
    failed +=
        _cmocka_run_group_tests("incoming-errors", errs, NERR, NULL, NULL);
    return failed;
}
