/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live output of a fake primary: a writer thread per connection. */
#include "sender.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "primary-int.h"

typedef struct SenderThread {
    struct Sender *s;
    size_t conn;
    SenderConn c;
    pthread_t tid;
    bool started;
    bool closed; /* under Sender.lock */
    SenderResult res;
} SenderThread;

struct Sender {
    const Primary *p;
    SenderOptions opts;
    size_t n;
    SenderThread *th;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t gate; /* multifd data of stages <= gate may be sent */
    bool main_done;
    bool aborting;
};

static ssize_t send_some(int fd, const uint8_t *buf, size_t n)
{
    ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);

    if (r < 0 && errno == ENOTSOCK) {
        r = write(fd, buf, n);
    }
    return r;
}

/*
 * Write bytes [from, to) of the connection, clipped to stop_at.  False
 * when the connection must stop (stop_at reached, error, abort).
 */
static bool write_range(SenderThread *t, uint64_t from, uint64_t to)
{
    const SupBuf *b = &primary_conn(t->s->p, t->conn)->buf;
    bool stop = false;

    if (to > b->len) {
        to = b->len;
    }
    if (to > t->c.stop_at) {
        to = t->c.stop_at;
        stop = true;
    }
    while (from < to) {
        size_t n = (size_t)(to - from);
        ssize_t r;

        if (t->s->opts.chunk && n > t->s->opts.chunk) {
            n = t->s->opts.chunk;
        }
        r = send_some(t->c.fd, b->data + from, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            t->res.err = r < 0 ? errno : EPIPE;
            return false;
        }
        from += (uint64_t)r;
        t->res.written += (uint64_t)r;
    }
    return !stop && !__atomic_load_n(&t->s->aborting, __ATOMIC_SEQ_CST);
}

/* Read @n reply bytes and compare them with the expected replies. */
static bool read_replies(SenderThread *t, uint64_t n)
{
    const SupBuf *want = primary_replies(t->s->p);
    int timeout =
        t->s->opts.reply_timeout_ms ? t->s->opts.reply_timeout_ms : 10000;

    while (n > 0) {
        uint8_t buf[64];
        struct pollfd pfd = { .fd = t->c.fd, .events = POLLIN };
        size_t want_n = n < sizeof(buf) ? (size_t)n : sizeof(buf);
        ssize_t r;
        int pr = poll(&pfd, 1, timeout);

        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            t->res.err = pr == 0 ? ETIMEDOUT : errno;
            return false;
        }
        r = read(t->c.fd, buf, want_n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            t->res.err = r < 0 ? errno : ECONNRESET;
            return false;
        }
        if (t->res.replies_read + (uint64_t)r > want->len ||
            memcmp(buf, want->data + t->res.replies_read, (size_t)r) != 0) {
            t->res.replies_read += (uint64_t)r;
            return false;
        }
        t->res.replies_read += (uint64_t)r;
        n -= (uint64_t)r;
    }
    return true;
}

static void open_gate(Sender *s, uint32_t stage, bool done)
{
    pthread_mutex_lock(&s->lock);
    if (stage > s->gate) {
        s->gate = stage;
    }
    if (done) {
        s->main_done = true;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* May a multifd connection send stage @stage?  Waits for the gate. */
static bool wait_gate(Sender *s, uint32_t stage)
{
    bool ok;

    pthread_mutex_lock(&s->lock);
    while (s->gate < stage && !s->main_done && !s->aborting) {
        pthread_cond_wait(&s->cond, &s->lock);
    }
    ok = s->gate >= stage && !s->aborting;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static uint64_t mark_offset(const Primary *p, PrimaryMarkKind kind,
                            uint32_t stage)
{
    const PrimaryMark *m = primary_find_mark(p, kind, stage, 0);

    return m ? m->offset : 0;
}

static void run_main_paced(SenderThread *t)
{
    const Primary *p = t->s->p;
    size_t ns = primary_nstages(p);
    uint64_t pos = 0;

    t->res.replies_ok = false;
    if (ns == 0 || !write_range(t, 0, primary_stage(p, 0)->end[0])) {
        return;
    }
    pos = primary_stage(p, 0)->end[0];
    for (size_t i = 1; i < ns; i++) {
        const PrimaryStage *st = primary_stage(p, i);
        uint64_t req = mark_offset(p, PM_VMSTATE_SEND, (uint32_t)i);
        uint64_t ram = mark_offset(p, PM_RAM_SECTION, (uint32_t)i);
        uint64_t before = primary_stage(p, i - 1)->replies_end;

        /* READY (first time) or the previous checkpoint's replies. */
        if (!read_replies(t, before - t->res.replies_read) ||
            !write_range(t, pos, req) || !read_replies(t, 4) ||
            !write_range(t, req, ram)) {
            return;
        }
        open_gate(t->s, (uint32_t)i, false);
        if (!write_range(t, ram, st->end[0])) {
            return;
        }
        pos = st->end[0];
    }
    if (!read_replies(t, primary_replies(p)->len - t->res.replies_read)) {
        return;
    }
    t->res.replies_ok = true;
    write_range(t, pos, UINT64_MAX);
}

static void run_multifd(SenderThread *t)
{
    const Primary *p = t->s->p;
    size_t ns = primary_nstages(p);
    uint64_t pos = 0;

    for (size_t i = 0; i < ns; i++) {
        const PrimaryStage *st = primary_stage(p, i);

        if (!wait_gate(t->s, (uint32_t)i) ||
            !write_range(t, pos, st->end[t->conn])) {
            return;
        }
        pos = st->end[t->conn];
    }
    if (wait_gate(t->s, (uint32_t)ns)) {
        write_range(t, pos, UINT64_MAX);
    }
}

static void *sender_thread(void *opaque)
{
    SenderThread *t = opaque;
    Sender *s = t->s;
    bool is_main = primary_conn(s->p, t->conn)->kind == PRIMARY_CONN_MAIN;

    if (is_main && s->opts.pace) {
        run_main_paced(t);
    } else if (is_main) {
        write_range(t, 0, UINT64_MAX);
    } else {
        run_multifd(t);
    }
    if (is_main) {
        /* Whatever happened, later multifd data is never sent. */
        open_gate(s, 0, true);
    }
    pthread_mutex_lock(&s->lock);
    if (!s->aborting || t->c.at_end == SENDER_CLOSE) {
        if (t->c.at_end == SENDER_SHUTDOWN) {
            shutdown(t->c.fd, SHUT_WR);
        } else if (t->c.at_end == SENDER_CLOSE) {
            close(t->c.fd);
            t->closed = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

Sender *sender_start(const Primary *p, const SenderConn *conns,
                     const SenderOptions *opts)
{
    Sender *s = sup_check_alloc(calloc(1, sizeof(*s)), "sender");
    bool has_main = false;

    s->p = p;
    if (opts) {
        s->opts = *opts;
    }
    s->n = primary_nconns(p);
    s->th = sup_check_alloc(calloc(s->n, sizeof(*s->th)), "sender");
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    for (size_t i = 0; i < s->n; i++) {
        if (conns[i].fd >= 0 && primary_conn(p, i)->kind == PRIMARY_CONN_MAIN) {
            has_main = true;
        }
    }
    /* Unpaced, or no main connection to pace by: no gate. */
    s->gate = s->opts.pace && has_main ? 0 : UINT32_MAX;
    for (size_t i = 0; i < s->n; i++) {
        SenderThread *t = &s->th[i];

        t->s = s;
        t->conn = i;
        t->c = conns[i];
        t->res.replies_ok = true;
        if (t->c.fd < 0) {
            continue;
        }
        if (pthread_create(&t->tid, NULL, sender_thread, t) != 0) {
            sup_check_alloc(NULL, "sender thread");
        }
        t->started = true;
    }
    return s;
}

void sender_abort(Sender *s)
{
    pthread_mutex_lock(&s->lock);
    __atomic_store_n(&s->aborting, true, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < s->n; i++) {
        if (s->th[i].started && !s->th[i].closed) {
            shutdown(s->th[i].c.fd, SHUT_RDWR);
        }
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void sender_join(Sender *s, SenderResult *res)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->th[i].started) {
            pthread_join(s->th[i].tid, NULL);
        }
        if (res) {
            res[i] = s->th[i].res;
        }
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->th);
    free(s);
}
