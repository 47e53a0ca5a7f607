/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Allocation failures of core/ram/table.c (and colo_init on top of it),
 * SQLite-style: fail the Nth allocation for N = 1, 2, ... until the call
 * succeeds; every failure must give MF_ERR_NOMEM, leave the table exactly
 * as it was and leak nothing (valgrind / ASan).
 *
 * Seam: this program is linked with -Wl,--wrap=calloc, so the calloc
 * behind mf_alloc in the statically linked core lands in __wrap_calloc.
 * core/ is not changed for it.  Named fault points are the fault tier's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "colo/colo.h"
#include "ram/ram.h"

void *__real_calloc(size_t nmemb, size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);

static int fail_at; /* fail the fail_at-th call from now; 0: never */
static int calls;

void *__wrap_calloc(size_t nmemb, size_t size)
{
    if (fail_at > 0 && ++calls == fail_at) {
        return NULL;
    }
    return __real_calloc(nmemb, size);
}

static void arm(int n)
{
    fail_at = n;
    calls = 0;
}

/* What must not change when a call fails. */
typedef struct Shape {
    size_t nblocks;
    size_t capacity;
    RamBlock **blocks;
    bool colo;
    uint8_t *cache[8];
} Shape;

static void shape_take(Shape *s, const RamTable *t)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    s->nblocks = t->nblocks;
    s->capacity = t->capacity;
    s->blocks = t->blocks;
    s->colo = t->colo;
    for (i = 0; i < t->nblocks && i < 8; i++) {
        s->cache[i] = t->blocks[i]->colo_cache;
    }
}

static void shape_check(const Shape *s, const RamTable *t)
{
    size_t i;

    assert_int_equal(t->nblocks, s->nblocks);
    assert_int_equal(t->capacity, s->capacity);
    assert_ptr_equal(t->blocks, s->blocks);
    assert_int_equal(t->colo, s->colo);
    for (i = 0; i < t->nblocks && i < 8; i++) {
        assert_ptr_equal(t->blocks[i]->colo_cache, s->cache[i]);
        assert_int_equal(t->blocks[i]->dirty == NULL, s->cache[i] == NULL);
        assert_int_equal(t->blocks[i]->guest_dirty == NULL,
                         s->cache[i] == NULL);
    }
}

/* Add block @name to a table with @existing blocks, colo on or off. */
static void add_under_failures(size_t existing, bool colo, bool own_host)
{
    uint8_t host[3 * 512];
    char name[8];
    int n, failures = 0;

    for (n = 1;; n++) {
        RamTable t;
        MfError err = { 0 };
        Shape before;
        RamBlock *b;
        size_t i;

        assert_true(ram_table_init(&t, 512, NULL));
        for (i = 0; i < existing; i++) {
            name[0] = 'a' + (char)i;
            name[1] = '\0';
            assert_non_null(ram_table_add(&t, name, 1024, NULL, NULL));
        }
        if (colo) {
            assert_true(ram_table_enable_colo(&t, NULL));
        }
        shape_take(&before, &t);
        arm(n);
        b = ram_table_add(&t, "new", sizeof(host), own_host ? host : NULL,
                          &err);
        arm(0);
        if (b) {
            assert_int_equal(err.code, MF_OK);
            assert_int_equal(t.nblocks, existing + 1);
            assert_ptr_equal(ram_table_find(&t, "new"), b);
            assert_int_equal(b->colo_cache != NULL, colo);
            ram_table_destroy(&t);
            break;
        }
        failures++;
        assert_int_equal(err.code, MF_ERR_NOMEM);
        assert_string_equal(err.code_name, "MF_ERR_NOMEM");
        shape_check(&before, &t);
        assert_null(ram_table_find(&t, "new"));
        ram_table_destroy(&t);
    }
    /* every allocation of the call was failed once */
    assert_int_equal(failures, (existing % 4 == 0 ? 1 : 0) + 1 +
                                   (own_host ? 0 : 1) + 1 + (colo ? 3 : 0));
}

static void test_add_nomem(void **state)
{
    (void)state;
    add_under_failures(0, false, false);
    add_under_failures(1, false, true);
    add_under_failures(4, false, false); /* table must grow */
    add_under_failures(4, true, false);
    add_under_failures(2, true, true);
}

static void test_enable_colo_nomem(void **state)
{
    int n, failures = 0;

    (void)state;
    for (n = 1;; n++) {
        RamTable t;
        MfError err = { 0 };
        Shape before;
        bool ok;

        assert_true(ram_table_init(&t, 4096, NULL));
        assert_non_null(ram_table_add(&t, "a", 8192, NULL, NULL));
        assert_non_null(ram_table_add(&t, "b", 100, NULL, NULL));
        assert_non_null(ram_table_add(&t, "c", 4096, NULL, NULL));
        shape_take(&before, &t);
        arm(n);
        ok = ram_table_enable_colo(&t, &err);
        arm(0);
        if (ok) {
            assert_true(t.colo);
            ram_table_destroy(&t);
            break;
        }
        failures++;
        assert_int_equal(err.code, MF_ERR_NOMEM);
        shape_check(&before, &t);
        ram_table_destroy(&t);
    }
    assert_int_equal(failures, 9); /* 3 blocks x (cache, dirty, guest) */
}

static void test_enable_colo_message(void **state)
{
    RamTable t;
    MfError err = { 0 };

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    assert_non_null(ram_table_add(&t, "pc.ram", 8192, NULL, NULL));
    arm(1);
    assert_false(ram_table_enable_colo(&t, &err));
    arm(0);
    assert_string_equal(err.msg, "cannot allocate the COLO cache of block "
                                 "\"pc.ram\" (used_length 8192)");
    ram_table_destroy(&t);
}

static void test_colo_init_nomem(void **state)
{
    int n, failures = 0;

    (void)state;
    for (n = 1;; n++) {
        RamTable t;
        ColoState s;
        MfError err = { 0 };
        bool ok;

        memset(&s, 0x5a, sizeof(s));
        assert_true(ram_table_init(&t, 4096, NULL));
        assert_non_null(ram_table_add(&t, "a", 8192, NULL, NULL));
        arm(n);
        ok = colo_init(&s, &t, &err);
        arm(0);
        if (ok) {
            assert_ptr_equal(s.ram, &t);
            colo_destroy(&s);
            ram_table_destroy(&t);
            break;
        }
        failures++;
        assert_int_equal(err.code, MF_ERR_NOMEM);
        assert_false(t.colo);
        assert_null(t.blocks[0]->colo_cache);
        assert_int_equal(s.flushes, 0x5a5a5a5a5a5a5a5aULL); /* untouched */
        ram_table_destroy(&t);
    }
    assert_int_equal(failures, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_nomem),
        cmocka_unit_test(test_enable_colo_nomem),
        cmocka_unit_test(test_enable_colo_message),
        cmocka_unit_test(test_colo_init_nomem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
