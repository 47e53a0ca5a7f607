/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * recv_channel_new's page-size boundary: the largest page the RAM table
 * takes is one multifd packet (one page a packet), and a channel accepts
 * it; a page size the table does not use is refused.  Found by ci/mutate
 * (docs/verification.md): no test built a channel at the largest page
 * size, so refusing one page a packet went unnoticed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/error.h"
#include "ram/ram.h"
#include "recv/channel.h"
#include "wire/multifd.h"

static RecvChannel *channel_at(RamTable *t, uint32_t page_size, MfError *err)
{
    RecvChannelConfig cfg = { 0 };

    cfg.id = 5;
    cfg.page_size = page_size;
    cfg.ram = t;
    return recv_channel_new(&cfg, err);
}

static void test_one_page_a_packet(void **state)
{
    RamTable t;
    MfError err = { 0 };
    RecvChannel *ch;

    (void)state;
    assert_int_equal(wire_page_count(RAM_PAGE_SIZE_MAX), 1);
    assert_true(ram_table_init(&t, RAM_PAGE_SIZE_MAX, &err));
    ch = channel_at(&t, RAM_PAGE_SIZE_MAX, &err);
    assert_non_null(ch);
    assert_false(mf_error_is_set(&err));
    recv_channel_free(ch);
    /* twice the packet: no page fits, and the table's size differs */
    ch = channel_at(&t, 2 * RAM_PAGE_SIZE_MAX, &err);
    assert_null(ch);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    ram_table_destroy(&t);
}

static void test_smallest_page(void **state)
{
    RamTable t;
    MfError err = { 0 };
    RecvChannel *ch;

    (void)state;
    assert_true(ram_table_init(&t, RAM_PAGE_SIZE_MIN, &err));
    ch = channel_at(&t, RAM_PAGE_SIZE_MIN, &err);
    assert_non_null(ch);
    recv_channel_free(ch);
    ch = channel_at(&t, RAM_PAGE_SIZE_MIN * 2, &err);
    assert_null(ch);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    ram_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_page_a_packet),
        cmocka_unit_test(test_smallest_page),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
