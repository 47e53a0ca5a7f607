/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the in-memory channels (core/chan/chan-mem.c) and the
 * kind-independent parts of core/chan/chan.c: fragmentation, exact reads,
 * end-of-stream positions, peek, sinks, labels, misuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chan/chan.h"
#include "guard-alloc.h"

static const uint8_t digits[] = "0123456789";

static Chan *mem(size_t len, size_t max_chunk)
{
    MfError err;
    Chan *c;

    mf_error_clear(&err);
    c = chan_mem_new(digits, len, max_chunk, "mem", &err);
    assert_non_null(c);
    assert_false(mf_error_is_set(&err));
    return c;
}

static void test_chunking_bounds_every_read(void **state)
{
    size_t chunk;

    (void)state;
    for (chunk = 1; chunk <= 11; chunk++) {
        Chan *c = mem(10, chunk);
        uint8_t buf[10];
        size_t got = 0;
        ssize_t n;
        MfError err;

        mf_error_clear(&err);
        while (got < 10) {
            struct iovec iov = { buf + got, sizeof(buf) - got };

            n = chan_readv(c, &iov, 1, &err);
            assert_true(n > 0);
            /* each read delivers min(chunk, rest) bytes, never more */
            assert_int_equal(n, chunk < 10 - got ? chunk : 10 - got);
            got += (size_t)n;
            assert_int_equal(chan_offset(c), got);
        }
        assert_memory_equal(buf, digits, 10);
        struct iovec iov = { buf, 1 };
        assert_int_equal(chan_readv(c, &iov, 1, &err), 0); /* clean end */
        assert_false(mf_error_is_set(&err));
        chan_free(c);
    }
}

static void test_unlimited_chunk_and_iovec_scatter(void **state)
{
    Chan *c = mem(10, 0);
    uint8_t a[3], b[4], d[5];
    struct iovec iov[3] = { { a, 3 }, { b, 4 }, { d, 5 } };
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_readv(c, iov, 3, &err), 10);
    assert_memory_equal(a, "012", 3);
    assert_memory_equal(b, "3456", 4);
    assert_memory_equal(d, "789", 3);
    chan_free(c);
}

/*
 * chan_readv() and chan_readv_full() read the @iovcnt entries of @iov and
 * nothing past them: an iovec array that ends at a guard page (a read
 * one entry past it faults) reads whole, and entries summing to zero are
 * MF_ERR_INVALID_ARG whatever follows the array.
 */
static void test_readv_stays_inside_the_iovec_array(void **state)
{
    Chan *c = mem(10, 0);
    uint8_t a[3], b[4];
    struct iovec *iov;
    SupGuardAlloc g;
    MfError err;

    (void)state;
    sup_guard_alloc_init(&g, SUP_GUARD_AFTER);
    iov = sup_guard_iovec(&g, (struct iovec[]){ { a, 3 }, { b, 4 } }, 2);
    assert_non_null(iov);
    assert_int_equal((uintptr_t)(iov + 2) % g.page, 0); /* then the guard */
    mf_error_clear(&err);
    assert_int_equal(chan_readv(c, iov, 2, &err), 7);
    assert_memory_equal(a, "012", 3);
    assert_memory_equal(b, "3456", 4);
    assert_int_equal(chan_offset(c), 7);

    iov[0].iov_len = 0;
    iov[1].iov_len = 0;
    assert_int_equal(chan_readv(c, iov, 2, &err), -1);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.msg, "chan_readv on mem with nothing to read");

    iov[0].iov_len = 2;
    iov[1].iov_len = 1;
    mf_error_clear(&err);
    assert_int_equal(chan_readv_full(c, iov, 2, "rest", &err), 1);
    assert_memory_equal(a, "78", 2);
    assert_memory_equal(b, "9", 1);
    assert_int_equal(chan_offset(c), 10);
    g.ops.free(g.ops.opaque, iov);
    assert_int_equal(sup_guard_alloc_live(&g), 0);
    chan_free(c);
}

static void test_readv_full_across_one_byte_fragments(void **state)
{
    Chan *c = mem(10, 1);
    uint8_t a[1], b[0 + 1], d[8];
    struct iovec iov[4] = { { a, 1 }, { NULL, 0 }, { b, 1 }, { d, 8 } };
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_readv_full(c, iov, 4, "pages", &err), 1);
    assert_int_equal(a[0], '0');
    assert_int_equal(b[0], '1');
    assert_memory_equal(d, "23456789", 8);
    /* the caller's iovec is untouched */
    assert_ptr_equal(iov[3].iov_base, d);
    assert_int_equal(iov[3].iov_len, 8);
    chan_free(c);
}

static void test_readv_full_many_iovecs(void **state)
{
    /* more entries than the internal window of 64 */
    enum {
        N = 150
    };
    static uint8_t data[N * 3];
    uint8_t out[N * 3];
    struct iovec iov[N];
    MfError err;
    Chan *c;
    int i;

    (void)state;
    for (i = 0; i < N * 3; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    for (i = 0; i < N; i++) {
        iov[i].iov_base = out + 3 * i;
        iov[i].iov_len = 3;
    }
    mf_error_clear(&err);
    c = chan_mem_new(data, sizeof(data), 5, "many", &err);
    assert_non_null(c);
    assert_int_equal(chan_readv_full(c, iov, N, "pages", &err), 1);
    assert_memory_equal(out, data, sizeof(data));
    assert_int_equal(chan_offset(c), sizeof(data));
    chan_free(c);
}

static void test_read_full_eof_positions(void **state)
{
    Chan *c = mem(10, 3);
    uint8_t buf[8];
    char line[256];
    MfError err;

    (void)state;
    chan_set_label(c, "multifd 1");
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "packet header", &err), 1);
    assert_memory_equal(buf, "0123", 4);
    assert_int_equal(chan_read_full(c, buf, 8, "page data", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_string_equal(err.code_name, "CHAN_ERR_EOF");
    assert_true(err.located);
    assert_string_equal(err.where, "multifd 1");
    assert_int_equal(err.offset, 10); /* where the data stopped */
    assert_string_equal(err.msg,
                        "end of stream in page data after 6 of 8 bytes");
    mf_error_format(&err, line, sizeof(line));
    assert_string_equal(line, "multifd 1: offset 10: end of stream in page "
                              "data after 6 of 8 bytes");
    /* exactly between reads: a clean end, no error */
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "packet header", &err), 0);
    assert_false(mf_error_is_set(&err));
    chan_free(c);
}

static void test_read_full_exact_end_is_clean(void **state)
{
    Chan *c = mem(10, 4);
    uint8_t buf[10];
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 10, "all", &err), 1);
    assert_int_equal(chan_read_full(c, buf, 1, "more", &err), 0);
    assert_int_equal(chan_read_full(c, buf, 0, "nothing", &err), 1);
    assert_false(mf_error_is_set(&err));
    chan_free(c);
}

static void test_empty_stream(void **state)
{
    Chan *c;
    uint8_t buf[4];
    size_t len = 99;
    MfError err;

    (void)state;
    mf_error_clear(&err);
    c = chan_mem_new(NULL, 5, 0, "empty", &err);
    assert_non_null(c);
    assert_null(chan_mem_data(c, &len));
    assert_int_equal(len, 0);
    assert_int_equal(chan_read_full(c, buf, 4, "hdr", &err), 0);
    assert_int_equal(chan_peek(c, buf, 4, &err), 0);
    assert_false(mf_error_is_set(&err));
    chan_free(c);
}

static void test_peek_then_read(void **state)
{
    Chan *c = mem(10, 2);
    uint8_t buf[8];
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), 1);
    assert_memory_equal(buf, "0123", 4);
    assert_int_equal(chan_offset(c), 0); /* nothing consumed */
    assert_int_equal(chan_peek(c, buf, 6, &err), 1);
    assert_memory_equal(buf, "012345", 6);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(chan_read_full(c, buf, 4, "magic", &err), 1);
    assert_memory_equal(buf, "0123", 4);
    assert_int_equal(chan_offset(c), 4);
    /* peek past the end after the first byte: EOF where data stops */
    assert_int_equal(chan_peek(c, buf, 7, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_int_equal(err.offset, 10);
    assert_string_equal(err.msg, "end of stream in peek after 6 of 7 bytes");
    chan_free(c);
}

static void test_sink_collects_writes(void **state)
{
    MfError err;
    Chan *c;
    const uint8_t *data;
    size_t len;
    static uint8_t big[100000];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i ^ (i >> 8));
    }
    mf_error_clear(&err);
    c = chan_mem_sink_new("reply", &err);
    assert_non_null(c);
    data = chan_mem_data(c, &len);
    assert_int_equal(len, 0);
    (void)data;
    assert_true(chan_write_full(c, "abc", 3, &err));
    assert_true(chan_write_full(c, "", 0, &err));
    assert_true(chan_write_full(c, big, sizeof(big), &err));
    assert_true(chan_write_full(c, "z", 1, &err));
    data = chan_mem_data(c, &len);
    assert_int_equal(len, 3 + sizeof(big) + 1);
    assert_memory_equal(data, "abc", 3);
    assert_memory_equal(data + 3, big, sizeof(big));
    assert_int_equal(data[len - 1], 'z');
    assert_int_equal(chan_written(c), len);
    assert_int_equal(chan_offset(c), 0);
    chan_free(c);
}

static void test_wrong_kind(void **state)
{
    Chan *src = mem(10, 0);
    Chan *sink;
    uint8_t buf[4];
    struct iovec iov = { buf, 4 };
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_false(chan_write_full(src, "x", 1, &err));
    assert_int_equal(err.code, CHAN_ERR_WRONG_KIND);
    assert_string_equal(err.where, "mem");

    sink = chan_mem_sink_new("sink", NULL);
    assert_non_null(sink);
    mf_error_clear(&err);
    assert_int_equal(chan_readv(sink, &iov, 1, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_WRONG_KIND);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(sink, buf, 4, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_WRONG_KIND);
    chan_free(sink);
    chan_free(src);
}

static void test_zero_length_requests(void **state)
{
    Chan *c = mem(10, 0);
    uint8_t buf[1];
    struct iovec iov = { buf, 0 };
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_readv(c, &iov, 1, &err), -1);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 0, &err), -1);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_int_equal(chan_offset(c), 0);
    chan_free(c);
}

/*
 * An empty request breaks the caller's contract: MF_ERR_INVALID_ARG, not
 * located (no stream position is at fault), offset 0, where "".
 */
static void test_zero_length_errors_are_unlocated(void **state)
{
    Chan *c = mem(10, 0);
    uint8_t buf[4];
    struct iovec iov = { buf, 0 };
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 2, "a", &err), 1);
    assert_int_equal(chan_readv(c, &iov, 1, &err), -1);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.code_name, "MF_ERR_INVALID_ARG");
    assert_false(err.located);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.where, "");
    assert_string_equal(err.msg, "chan_readv on mem with nothing to read");
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 0, &err), -1);
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_false(err.located);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.where, "");
    assert_string_equal(err.msg, "chan_peek on mem with nothing to peek");
    assert_int_equal(chan_offset(c), 2);
    chan_free(c);
}

static void test_shutdown_mem(void **state)
{
    Chan *c = mem(10, 0);
    Chan *sink = chan_mem_sink_new("sink", NULL);
    uint8_t buf[4];
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 2, "a", &err), 1);
    chan_shutdown(c);
    chan_shutdown(c); /* idempotent */
    assert_int_equal(chan_read_full(c, buf, 2, "b", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_SHUTDOWN);
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.where, "mem");
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 2, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_SHUTDOWN);

    chan_shutdown(sink);
    mf_error_clear(&err);
    assert_false(chan_write_full(sink, "x", 1, &err));
    assert_int_equal(err.code, CHAN_ERR_SHUTDOWN);
    chan_free(sink);
    chan_free(c);
}

static void test_labels(void **state)
{
    Chan *c = mem(10, 0);
    char longname[100];

    (void)state;
    assert_string_equal(chan_label(c), "mem");
    chan_set_label(c, "multifd 3");
    assert_string_equal(chan_label(c), "multifd 3");
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    chan_set_label(c, longname);
    assert_int_equal(strlen(chan_label(c)), MF_ERROR_WHERE_LEN - 1);
    chan_set_label(c, NULL);
    assert_string_equal(chan_label(c), "");
    chan_free(c);
    chan_free(NULL);
}

static void test_first_error_is_kept(void **state)
{
    Chan *c = mem(2, 0);
    uint8_t buf[4];
    MfError err;

    (void)state;
    mf_error_clear(&err);
    mf_error_set(&err, MF_ERR_NOMEM, 7, "earlier");
    assert_int_equal(chan_read_full(c, buf, 4, "x", &err), -1);
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_false(err.located);
    assert_int_equal(err.offset, 7);
    chan_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunking_bounds_every_read),
        cmocka_unit_test(test_unlimited_chunk_and_iovec_scatter),
        cmocka_unit_test(test_readv_stays_inside_the_iovec_array),
        cmocka_unit_test(test_readv_full_across_one_byte_fragments),
        cmocka_unit_test(test_readv_full_many_iovecs),
        cmocka_unit_test(test_read_full_eof_positions),
        cmocka_unit_test(test_read_full_exact_end_is_clean),
        cmocka_unit_test(test_empty_stream),
        cmocka_unit_test(test_peek_then_read),
        cmocka_unit_test(test_sink_collects_writes),
        cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_zero_length_requests),
        cmocka_unit_test(test_zero_length_errors_are_unlocated),
        cmocka_unit_test(test_shutdown_mem),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_first_error_is_kept),
    };

    return cmocka_run_group_tests_name("chan/mem", tests, NULL, NULL);
}
