/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Review tests of the per-channel machine (core/recv/channel.c):
 *
 * - the COLO phase is sampled once per packet
 *   (docs/qemu-reference.md#gap-phase).  The phase changes to COLO
 *   after the header of a precopy packet was processed
 *   and before its pages arrive; the packet must still be handled as
 *   precopy from end to end (pages copied to guest memory too, I1),
 *   never half precopy (nothing recorded at header time) and half COLO
 *   (guest not written at the end), which would lose the pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "recv/channel.h"

#include "recv-gen.h"

#define PS 4096u
#define NPAGES 16u
#define BASE 64u

static void t_phase_switch_mid_packet(void **state)
{
    static const uint64_t off[2] = { 3 * PS, 7 * PS };
    RecvChannelConfig cfg = { 0 };
    MfError err = { 0 };
    ColoState colo;
    RamTable t;
    RamBlock *b;
    RecvChannel *ch;
    SupBuf s = SUP_BUF_INIT;
    uint8_t *src;
    size_t hdr, i;

    (void)state;
    assert_true(ram_table_init(&t, PS, &err));
    b = ram_table_add(&t, "pc.ram", (uint64_t)NPAGES * PS, NULL, &err);
    assert_non_null(b);
    assert_true(colo_init(&colo, &t, &err));
    src = malloc((size_t)NPAGES * PS);
    assert_non_null(src);
    for (i = 0; i < (size_t)NPAGES * PS; i++) {
        src[i] = (uint8_t)(i * 7 + 1);
    }
    rg_packet(&s, NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", src, off, 2, 0, 0);
    hdr = wire_packet_size(PS);
    assert_int_equal(s.len, hdr + 2 * PS);

    cfg.id = 0;
    cfg.page_size = PS;
    cfg.compression = WIRE_COMP_NONE;
    cfg.ram = &t;
    cfg.colo = &colo;
    cfg.base_offset = BASE;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);

    /* the header in precopy, then the switch, then the pages */
    assert_int_equal(recv_channel_feed(ch, s.data, hdr, &err), hdr);
    assert_true(colo_enter(&colo, &err));
    assert_int_equal(recv_channel_feed(ch, s.data + hdr, s.len - hdr, &err),
                     s.len - hdr);
    assert_int_equal(recv_channel_status(ch), RECV_CH_RUNNING);

    for (i = 0; i < 2; i++) {
        assert_memory_equal(b->colo_cache + off[i], src + off[i], PS);
        /* precopy semantics for the whole packet: guest == cache */
        assert_memory_equal(b->host + off[i], src + off[i], PS);
    }

    recv_channel_free(ch);
    colo_destroy(&colo);
    ram_table_destroy(&t);
    sup_buf_free(&s);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_phase_switch_mid_packet),
    };

    return cmocka_run_group_tests_name("recv-review-phase", tests, NULL, NULL);
}
