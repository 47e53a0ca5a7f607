/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recv-fx.h"
#include "rng.h"

void recv_fx_init(RecvFx *f, const RecvFxSpec *spec)
{
    size_t len = (size_t)spec->npages * RECV_FX_PAGE;
    MfError err = { 0 };
    SupRng rng;
    size_t i;

    memset(f, 0, sizeof(*f));
    assert_true(ram_table_init(&f->t, RECV_FX_PAGE, &err));
    f->b = ram_table_add(&f->t, "pc.ram", len, NULL, &err);
    assert_non_null(f->b);
    if (spec->tiny) {
        f->tiny = ram_table_add(&f->t, "tiny", 100, NULL, &err);
        assert_non_null(f->tiny);
    }
    if (spec->colo) {
        assert_true(colo_init(&f->colo, &f->t, &err));
        f->has_colo = true;
    }
    f->src = malloc(len);
    assert_non_null(f->src);
    sup_rng_seed(&rng, spec->seed);
    for (i = 0; i < len; i += 8) {
        uint64_t v = sup_rng_next(&rng) | 1;

        memcpy(f->src + i, &v, 8);
    }
    f->cfg.page_size = RECV_FX_PAGE;
}

void recv_fx_engine(RecvFx *f)
{
    MfError err = { 0 };

    f->e = recv_engine_new(&f->cfg, &f->t, f->has_colo ? &f->colo : NULL, &err);
    assert_non_null(f->e);
}

void recv_fx_destroy(RecvFx *f)
{
    size_t i;

    recv_engine_free(f->e);
    f->e = NULL;
    if (f->has_colo) {
        colo_destroy(&f->colo);
    }
    ram_table_destroy(&f->t);
    free(f->src);
    f->src = NULL;
    for (i = 0; i < RECV_FX_STREAMS; i++) {
        sup_buf_free(&f->s[i]);
    }
}

Chan *recv_fx_mem_chan(const SupBuf *s)
{
    MfError err = { 0 };
    Chan *c = chan_mem_new(s->data, s->len, 0, "test", &err);

    assert_non_null(c);
    return c;
}

void recv_fx_expect_err(const MfError *e, int code, const char *where,
                        uint64_t offset)
{
    if (e->code != code || strcmp(e->where, where) != 0 ||
        e->offset != offset || !e->located) {
        print_error("got %s (%d) at '%s' offset %llu: %s\n",
                    e->code_name ? e->code_name : "none", e->code, e->where,
                    (unsigned long long)e->offset, e->msg);
    }
    assert_int_equal(e->code, code);
    assert_true(e->located);
    assert_string_equal(e->where, where);
    assert_int_equal(e->offset, offset);
}
