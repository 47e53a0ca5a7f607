/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP monitor of the simulated VM (see qmp.h).  Commands are QEMU's names
 * and argument shapes; x-mfcolo-* are the test-side extensions documented
 * in docs/qtest.md.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "mig.h"
#include "qmp.h"

struct Qmp {
    Vm *vm;
    int fd;
    bool negotiated;
    pthread_mutex_t out_lock;
    char *buf;
    size_t len;
    size_t cap;
};

typedef struct QmpCmd {
    const char *name;
    /* Returns the "return" value (new ref) or NULL with @desc set. */
    json_t *(*fn)(Qmp *q, json_t *args, char *desc, size_t dsize);
} QmpCmd;

static void qmp_send(Qmp *q, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    size_t n;
    size_t off = 0;

    if (!text) {
        return;
    }
    n = strlen(text);
    pthread_mutex_lock(&q->out_lock);
    while (q->fd >= 0 && off < n) {
        ssize_t r = write(q->fd, text + off, n - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        off += (size_t)r;
    }
    if (q->fd >= 0) {
        ssize_t r;
        do {
            r = write(q->fd, "\r\n", 2);
        } while (r < 0 && errno == EINTR);
    }
    pthread_mutex_unlock(&q->out_lock);
    free(text);
}

void qmp_event(Qmp *q, const char *name, json_t *data)
{
    struct timeval tv;
    json_t *ev;

    if (!q) {
        json_decref(data);
        return;
    }
    gettimeofday(&tv, NULL);
    ev = json_pack("{s:{s:I,s:I},s:s}", "timestamp", "seconds",
                   (json_int_t)tv.tv_sec, "microseconds",
                   (json_int_t)tv.tv_usec, "event", name);
    if (data) {
        json_object_set_new(ev, "data", data);
    }
    qmp_send(q, ev);
    json_decref(ev);
}

static const char *arg_str(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static json_t *cmd_capabilities(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    (void)args;
    if (q->negotiated) {
        snprintf(desc, dsize,
                 "Capabilities negotiation is already "
                 "complete, command ignored");
        return NULL;
    }
    q->negotiated = true;
    return json_object();
}

static json_t *cmd_query_status(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    char st[32];

    (void)args;
    (void)desc;
    (void)dsize;
    vm_get_runstate(q->vm, st, sizeof(st));
    return json_pack("{s:s,s:b}", "status", st, "running",
                     strcmp(st, "running") == 0);
}

static json_t *cmd_stop(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    (void)args;
    (void)desc;
    (void)dsize;
    vm_stop(q->vm, "paused");
    return json_object();
}

static json_t *cmd_cont(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    char st[32];

    (void)args;
    vm_get_runstate(q->vm, st, sizeof(st));
    if (strcmp(st, "inmigrate") == 0) {
        snprintf(desc, dsize, "Migration is not finalized yet");
        return NULL;
    }
    vm_start(q->vm);
    return json_object();
}

static json_t *cmd_set_caps(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    json_t *caps = json_object_get(args, "capabilities");
    json_t *c;
    size_t i;
    char st[32];

    vm_get_mig_status(q->vm, st, sizeof(st));
    if (strcmp(st, "none") != 0) {
        snprintf(desc, dsize, "There's a migration process in progress");
        return NULL;
    }
    if (!json_is_array(caps)) {
        snprintf(desc, dsize, "Parameter 'capabilities' is missing");
        return NULL;
    }
    json_array_foreach(caps, i, c)
    {
        const char *name = arg_str(c, "capability");
        json_t *st_v = json_object_get(c, "state");
        bool on = json_is_true(st_v);

        if (!name || !json_is_boolean(st_v)) {
            snprintf(desc, dsize,
                     "Invalid parameter type for "
                     "'capabilities[%zu]'",
                     i);
            return NULL;
        }
        if (strcmp(name, "multifd") == 0) {
            q->vm->cap_multifd = on;
        } else if (strcmp(name, "x-colo") == 0) {
            q->vm->cap_colo = on;
        } else if (strcmp(name, "return-path") == 0) {
            q->vm->cap_return_path = on;
        } else if (strcmp(name, "events") == 0) {
            /* always on */
        } else {
            snprintf(desc, dsize,
                     "Parameter 'capability' does not accept "
                     "value '%s'",
                     name);
            return NULL;
        }
    }
    return json_object();
}

static json_t *cmd_set_params(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    const char *key;
    json_t *v;

    json_object_foreach(args, key, v)
    {
        if (strcmp(key, "multifd-channels") == 0 && json_is_integer(v)) {
            json_int_t n = json_integer_value(v);
            if (n < 1 || n > 255) {
                snprintf(desc, dsize,
                         "Parameter 'multifd-channels' expects "
                         "a value between 1 and 255");
                return NULL;
            }
            q->vm->channels = (uint32_t)n;
        } else if (strcmp(key, "multifd-compression") == 0 &&
                   json_is_string(v)) {
            const char *m = json_string_value(v);
            if (strcmp(m, "none") == 0) {
                q->vm->compression = WIRE_COMP_NONE;
            } else if (strcmp(m, "zstd") == 0) {
                q->vm->compression = WIRE_COMP_ZSTD;
            } else if (strcmp(m, "zlib") == 0) {
                q->vm->compression = WIRE_COMP_ZLIB;
            } else {
                snprintf(desc, dsize,
                         "Parameter 'multifd-compression' does "
                         "not accept value '%s'",
                         m);
                return NULL;
            }
        } else if (strcmp(key, "x-mfcolo-sender") == 0 && json_is_string(v)) {
            const char *m = json_string_value(v);
            if (strcmp(m, "qemu-9") != 0 && strcmp(m, "qemu-7.2") != 0) {
                snprintf(desc, dsize,
                         "Parameter 'x-mfcolo-sender' does "
                         "not accept value '%s'",
                         m);
                return NULL;
            }
            q->vm->sender_72 = strcmp(m, "qemu-7.2") == 0;
        } else if (strcmp(key, "x-checkpoint-delay") == 0 &&
                   json_is_integer(v)) {
            json_int_t n = json_integer_value(v);
            if (n < 0 || n > UINT32_MAX) {
                snprintf(desc, dsize,
                         "Parameter 'x-checkpoint-delay' "
                         "expects uint32");
                return NULL;
            }
            q->vm->checkpoint_delay_ms = (uint32_t)n;
        } else {
            snprintf(desc, dsize, "Parameter '%s' is unexpected", key);
            return NULL;
        }
    }
    return json_object();
}

static json_t *cmd_migrate(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    const char *uri = arg_str(args, "uri");
    MigErr e = { "" };

    if (!uri) {
        snprintf(desc, dsize, "Parameter 'uri' is missing");
        return NULL;
    }
    if (q->vm->incoming) {
        snprintf(desc, dsize, "Guest is waiting for an incoming migration");
        return NULL;
    }
    if (!src_migrate(q->vm, uri, &e)) {
        snprintf(desc, dsize, "%s", e.desc);
        return NULL;
    }
    return json_object();
}

static json_t *cmd_migrate_incoming(Qmp *q, json_t *args, char *desc,
                                    size_t dsize)
{
    const char *uri = arg_str(args, "uri");
    MigErr e = { "" };

    if (!uri) {
        snprintf(desc, dsize, "Parameter 'uri' is missing");
        return NULL;
    }
    if (!q->vm->incoming || strcmp(q->vm->incoming, "defer") != 0) {
        snprintf(desc, dsize,
                 "The incoming migration has already been "
                 "started");
        return NULL;
    }
    if (!dst_incoming(q->vm, uri, &e)) {
        snprintf(desc, dsize, "%s", e.desc);
        return NULL;
    }
    q->vm->incoming = "started";
    return json_object();
}

static json_t *cmd_query_migrate(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    json_t *ret = json_object();
    char st[32];

    (void)args;
    (void)desc;
    (void)dsize;
    vm_get_mig_status(q->vm, st, sizeof(st));
    if (strcmp(st, "none") != 0) {
        json_object_set_new(ret, "status", json_string(st));
    }
    if (q->vm->incoming) {
        dst_query(q->vm, ret);
    } else {
        src_query(q->vm, ret);
    }
    return ret;
}

static json_t *cmd_yank(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    json_t *inst = json_object_get(args, "instances");
    json_t *i;
    size_t n;

    if (!json_is_array(inst)) {
        snprintf(desc, dsize, "Parameter 'instances' is missing");
        return NULL;
    }
    json_array_foreach(inst, n, i)
    {
        const char *type = arg_str(i, "type");
        if (!type || strcmp(type, "migration") != 0) {
            snprintf(desc, dsize, "Instance '%s' not found", type ? type : "?");
            return NULL;
        }
    }
    if (q->vm->incoming) {
        dst_yank(q->vm);
    } else {
        src_yank(q->vm);
    }
    return json_object();
}

static json_t *cmd_lost_heartbeat(Qmp *q, json_t *args, char *desc,
                                  size_t dsize)
{
    MigErr e = { "" };
    bool ok;

    (void)args;
    ok = q->vm->incoming ? dst_failover(q->vm, &e) : src_failover(q->vm, &e);
    if (!ok) {
        snprintf(desc, dsize, "%s", e.desc);
        return NULL;
    }
    return json_object();
}

static json_t *cmd_quit(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    (void)args;
    (void)desc;
    (void)dsize;
    vm_request_quit(q->vm);
    return json_object();
}

static json_t *cmd_hook(Qmp *q, json_t *args, char *desc, size_t dsize,
                        bool kill)
{
    const char *stage = arg_str(args, "stage");
    json_t *cp = json_object_get(args, "checkpoint");
    SrcStage s;
    MigErr e = { "" };

    if (cp && (!json_is_integer(cp) || json_integer_value(cp) < 1)) {
        snprintf(desc, dsize,
                 "Parameter 'checkpoint' expects an integer "
                 ">= 1");
        return NULL;
    }
    if (q->vm->incoming) {
        if (kill || !stage) {
            snprintf(desc, dsize, "the secondary has pause hooks only");
            return NULL;
        }
        if (!dst_set_pause(q->vm, stage, cp ? json_integer_value(cp) : 0, &e)) {
            snprintf(desc, dsize, "%s", e.desc);
            return NULL;
        }
        return json_object();
    }
    if (!stage || !src_stage_parse(stage, &s)) {
        snprintf(desc, dsize,
                 "Parameter 'stage' does not accept value "
                 "'%s'",
                 stage ? stage : "");
        return NULL;
    }
    if (!src_set_hook(q->vm, s, kill, cp ? json_integer_value(cp) : 0, &e)) {
        snprintf(desc, dsize, "%s", e.desc);
        return NULL;
    }
    return json_object();
}

static json_t *cmd_kill_at(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    return cmd_hook(q, args, desc, dsize, true);
}

static json_t *cmd_pause_at(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    return cmd_hook(q, args, desc, dsize, false);
}

static json_t *cmd_continue(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    (void)args;
    (void)desc;
    (void)dsize;
    if (q->vm->incoming) {
        dst_continue(q->vm);
    } else {
        src_continue(q->vm);
    }
    return json_object();
}

static json_t *cmd_checkpoint(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    MigErr e = { "" };

    (void)args;
    if (q->vm->incoming) {
        snprintf(desc, dsize, "checkpoints are started by the primary");
        return NULL;
    }
    if (!src_checkpoint_now(q->vm, &e)) {
        snprintf(desc, dsize, "%s", e.desc);
        return NULL;
    }
    return json_object();
}

static json_t *cmd_query_colo(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    json_t *ret = json_object();

    (void)args;
    (void)desc;
    (void)dsize;
    if (q->vm->incoming) {
        dst_query_colo(q->vm, ret);
    } else {
        src_query(q->vm, ret);
    }
    return ret;
}

static json_t *cmd_query_vcpu(Qmp *q, json_t *args, char *desc, size_t dsize)
{
    VcpuState st;

    (void)args;
    (void)desc;
    (void)dsize;
    vcpu_get_state(q->vm, &st);
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", "workload",
                     guest_kind_name(st.kind), "pos", (json_int_t)st.pos,
                     "pass", (json_int_t)st.pass, "prng", (json_int_t)st.prng,
                     "steps", (json_int_t)st.steps, "running",
                     vcpu_is_running(q->vm));
}

static const QmpCmd qmp_cmds[] = {
    { "qmp_capabilities", cmd_capabilities },
    { "query-status", cmd_query_status },
    { "stop", cmd_stop },
    { "cont", cmd_cont },
    { "migrate-set-capabilities", cmd_set_caps },
    { "migrate-set-parameters", cmd_set_params },
    { "migrate", cmd_migrate },
    { "migrate-incoming", cmd_migrate_incoming },
    { "query-migrate", cmd_query_migrate },
    { "yank", cmd_yank },
    { "x-colo-lost-heartbeat", cmd_lost_heartbeat },
    { "quit", cmd_quit },
    { "x-mfcolo-kill-at", cmd_kill_at },
    { "x-mfcolo-pause-at", cmd_pause_at },
    { "x-mfcolo-continue", cmd_continue },
    { "x-mfcolo-checkpoint", cmd_checkpoint },
    { "x-mfcolo-query-colo", cmd_query_colo },
    { "x-mfcolo-query-vcpu", cmd_query_vcpu },
};

static void qmp_error(Qmp *q, json_t *id, const char *cls, const char *desc)
{
    json_t *r = json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);

    if (id) {
        json_object_set(r, "id", id);
    }
    qmp_send(q, r);
    json_decref(r);
}

static void qmp_dispatch(Qmp *q, json_t *req)
{
    const char *name = arg_str(req, "execute");
    json_t *id = json_object_get(req, "id");
    json_t *args = json_object_get(req, "arguments");
    char desc[320] = "";
    size_t i;

    if (!name) {
        name = arg_str(req, "exec-oob");
    }
    if (!json_is_object(req) || !name) {
        qmp_error(q, id, "GenericError",
                  "QMP input must be a JSON object "
                  "with member 'execute'");
        return;
    }
    if (args && !json_is_object(args)) {
        qmp_error(q, id, "GenericError",
                  "QMP input member 'arguments' "
                  "must be an object");
        return;
    }
    if (!q->negotiated && strcmp(name, "qmp_capabilities") != 0) {
        qmp_error(q, id, "CommandNotFound",
                  "Expecting capabilities "
                  "negotiation with 'qmp_capabilities'");
        return;
    }
    for (i = 0; i < sizeof(qmp_cmds) / sizeof(qmp_cmds[0]); i++) {
        if (strcmp(qmp_cmds[i].name, name) == 0) {
            json_t *empty = args ? NULL : json_object();
            json_t *ret =
                qmp_cmds[i].fn(q, args ? args : empty, desc, sizeof(desc));
            json_decref(empty);
            if (!ret) {
                qmp_error(q, id, "GenericError", desc);
            } else {
                json_t *r = json_object();
                json_object_set_new(r, "return", ret);
                if (id) {
                    json_object_set(r, "id", id);
                }
                qmp_send(q, r);
                json_decref(r);
            }
            return;
        }
    }
    snprintf(desc, sizeof(desc), "The command %s has not been found", name);
    qmp_error(q, id, "CommandNotFound", desc);
}

Qmp *qmp_new(Vm *vm, int fd)
{
    Qmp *q = calloc(1, sizeof(*q));
    json_t *greet;

    if (!q) {
        return NULL;
    }
    q->vm = vm;
    q->fd = fd;
    pthread_mutex_init(&q->out_lock, NULL);
    greet = json_pack("{s:{s:{s:{s:i,s:i,s:i},s:s},s:[s]}}", "QMP", "version",
                      "qemu", "micro", 0, "minor", 1, "major", 0, "package",
                      "mfcolo-vm", "capabilities", "oob");
    qmp_send(q, greet);
    json_decref(greet);
    return q;
}

int qmp_fd(const Qmp *q)
{
    return q->fd;
}

bool qmp_handle_input(Qmp *q)
{
    ssize_t n;

    if (q->cap - q->len < 4096) {
        size_t ncap = q->cap ? q->cap * 2 : 8192;
        char *nb = realloc(q->buf, ncap);
        if (!nb) {
            return false;
        }
        q->buf = nb;
        q->cap = ncap;
    }
    n = read(q->fd, q->buf + q->len, q->cap - q->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    q->len += (size_t)n;
    for (;;) {
        size_t skip = 0;
        json_error_t jerr;
        json_t *req;

        while (skip < q->len && strchr(" \t\r\n", q->buf[skip])) {
            skip++;
        }
        memmove(q->buf, q->buf + skip, q->len - skip);
        q->len -= skip;
        if (q->len == 0) {
            break;
        }
        req = json_loadb(q->buf, q->len, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!req) {
            if (json_error_code(&jerr) == json_error_premature_end_of_input) {
                break;
            }
            qmp_error(q, NULL, "GenericError", "JSON parse error");
            q->len = 0;
            break;
        }
        memmove(q->buf, q->buf + jerr.position, q->len - jerr.position);
        q->len -= jerr.position;
        qmp_dispatch(q, req);
        json_decref(req);
    }
    return true;
}

void qmp_free(Qmp *q)
{
    if (!q) {
        return;
    }
    pthread_mutex_lock(&q->out_lock);
    close(q->fd);
    q->fd = -1;
    pthread_mutex_unlock(&q->out_lock);
    free(q->buf);
    pthread_mutex_destroy(&q->out_lock);
    free(q);
}
