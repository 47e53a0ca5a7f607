/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secondary builder (secondary.h): core/ only, no abort.
 */
#include <stdlib.h>
#include <string.h>

#include "secondary.h"

static bool secondary_add_blocks(Secondary *s, const SecondaryOptions *o,
                                 MfError *err)
{
    size_t i;

    if (o->create_blocks && o->nblocks) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "secondary: %zu blocks given to a table the "
                            "stream fills",
                            o->nblocks);
    }
    for (i = 0; i < o->nblocks; i++) {
        if (!ram_table_add(&s->ram, o->blocks[i].name, o->blocks[i].size,
                           o->blocks[i].host, err)) {
            return false;
        }
    }
    return true;
}

Secondary *secondary_build(const SecondaryOptions *o, MfError *err)
{
    Secondary *s = calloc(1, sizeof(*s));

    if (!s) {
        mf_error_set(err, MF_ERR_NOMEM, 0, "secondary: out of memory");
        return NULL;
    }
    s->opts = *o;
    s->opts.blocks = NULL;
    s->opts.nblocks = 0;
    if (!s->opts.page_size) {
        s->opts.page_size = SECONDARY_PAGE_SIZE_DEFAULT;
    }
    if (!ram_table_init(&s->ram, s->opts.page_size, err)) {
        goto fail;
    }
    if (o->allocator) {
        ram_table_set_allocator(&s->ram, o->allocator);
    }
    if (!secondary_add_blocks(s, o, err)) {
        goto fail;
    }
    if (o->colo) {
        if (!colo_init(&s->colo, &s->ram, err)) {
            goto fail;
        }
        s->colo_on = true;
    }
    if (o->multifd.channels && !secondary_start_multifd(s, &o->multifd, err)) {
        goto fail;
    }
    return s;

fail:
    secondary_free(s);
    return NULL;
}

ColoState *secondary_colo(Secondary *s)
{
    return s->colo_on ? &s->colo : NULL;
}

bool secondary_start_multifd(Secondary *s, const SecondaryMultifd *m,
                             MfError *err)
{
    RecvConfig rc;

    if (s->engine) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "secondary: the engine is running already");
    }
    memset(&rc, 0, sizeof(rc));
    rc.channels = m->channels;
    rc.page_size = s->opts.page_size;
    rc.compression = m->compression;
    rc.expect_uuid = m->expect_uuid;
    memcpy(rc.uuid, m->uuid, sizeof(rc.uuid));
    rc.driver = m->driver;
    rc.seed = m->seed;
    rc.max_chunk = m->max_chunk;
    rc.allocator = s->opts.allocator;
    s->engine = recv_engine_new(&rc, &s->ram, secondary_colo(s), err);
    return s->engine != NULL;
}

bool secondary_add_channel(Secondary *s, Chan *c, MfError *err)
{
    if (!s->engine) {
        chan_free(c);
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "secondary: a multifd channel without an engine");
    }
    return recv_engine_add_channel(s->engine, c, err);
}

bool secondary_attach_main(Secondary *s, Chan *main, Chan *reply, MfError *err)
{
    IncomingConfig ic;

    if (s->main || s->reply) {
        chan_free(main);
        chan_free(reply);
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "secondary: a main channel is attached already");
    }
    s->main = main;
    s->reply = reply;
    memset(&ic, 0, sizeof(ic));
    ic.main = main;
    ic.reply = reply;
    ic.ram = &s->ram;
    ic.colo = secondary_colo(s);
    ic.multifd = s->engine;
    ic.create_blocks = s->opts.create_blocks;
    ic.max_ram = s->opts.max_ram;
    ic.max_device_state = s->opts.max_device_state;
    ic.sync = s->opts.sync;
    ic.expect_end = s->opts.expect_end;
    ic.hooks = s->opts.hooks;
    ic.allocator = s->opts.allocator;
    s->in = incoming_new(&ic, err);
    return s->in != NULL;
}

void secondary_stop_multifd(Secondary *s)
{
    if (s->engine) {
        recv_engine_cancel(s->engine, NULL);
        recv_engine_free(s->engine);
        s->engine = NULL;
    }
}

void secondary_free(Secondary *s)
{
    if (!s) {
        return;
    }
    incoming_free(s->in);
    recv_engine_free(s->engine);
    chan_free(s->main);
    chan_free(s->reply);
    if (s->colo_on) {
        colo_destroy(&s->colo);
    }
    ram_table_destroy(&s->ram);
    free(s);
}
