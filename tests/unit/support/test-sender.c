/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of tests/support/sender.c: the fake primary's streams written to
 * sockets by one thread per connection, unpaced, cut short, and paced by
 * the COLO replies of a secondary played by the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/be.h"
#include "primary.h"
#include "sender.h"
#include "watchdog.h"
#include "workload.h"

typedef struct Pair {
    int ours;   /* the primary's end, given to the sender */
    int theirs; /* the secondary's end, read by the test */
} Pair;

static Primary *make_primary(uint32_t channels, int checkpoints)
{
    PrimaryConfig cfg;
    MemImage *img = mem_image_new(4096);
    Primary *p;
    SupRng rng;

    mem_image_add(img, "pc.ram", 256 * 4096);
    sup_rng_seed(&rng, 1);
    workload_random(img, &rng, 100, 10, NULL);
    primary_config_init(&cfg, PRIMARY_QEMU_9, channels, WIRE_COMP_NONE);
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(p);
    for (int k = 0; k < checkpoints; k++) {
        workload_random(primary_memory(p), &rng, 20, 10, primary_dirty(p));
        primary_checkpoint(p);
    }
    return p;
}

static Pair *pairs_new(size_t n)
{
    Pair *pr = calloc(n, sizeof(*pr));

    for (size_t i = 0; i < n; i++) {
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        pr[i].ours = sv[0];
        pr[i].theirs = sv[1];
    }
    return pr;
}

/*
 * Every blocking read of this file waits for the sender's threads: a
 * watchdog bounds each (normally they take milliseconds).
 */
static void arm_read(int fd, const char *what)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "support/sender: %s on socket fd %d (read)",
             what, fd);
    watchdog_arm(10, msg);
}

static void read_exact(int fd, uint8_t *buf, size_t n)
{
    arm_read(fd, "the sender's bytes");
    while (n > 0) {
        ssize_t r = read(fd, buf, n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        assert_true(r > 0);
        buf += r;
        n -= (size_t)r;
    }
    watchdog_disarm();
}

/* Read @n bytes and compare with @want. */
static void expect_bytes(int fd, const uint8_t *want, size_t n)
{
    uint8_t *got = malloc(n ? n : 1);

    read_exact(fd, got, n);
    assert_memory_equal(got, want, n);
    free(got);
}

static void expect_eof(int fd)
{
    uint8_t b;

    arm_read(fd, "the sender's end of stream");
    assert_int_equal(read(fd, &b, 1), 0);
    watchdog_disarm();
}

static void join_sender(Sender *s, SenderResult *res)
{
    watchdog_arm(10, "support/sender: the sender's threads to end "
                     "(sender_join)");
    sender_join(s, res);
    watchdog_disarm();
}

/* Nothing readable right now (and no EOF). */
static void expect_nothing_yet(int fd)
{
    uint8_t b;
    int fl = fcntl(fd, F_GETFL);
    ssize_t r;

    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    r = read(fd, &b, 1);
    assert_int_equal(r, -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    fcntl(fd, F_SETFL, fl);
}

static void put_be32(int fd, uint32_t v)
{
    uint8_t b[4];

    mf_be32_store(b, v);
    assert_int_equal(write(fd, b, 4), 4);
}

static void test_unpaced(void **state)
{
    Primary *p = make_primary(2, 1);
    size_t n = primary_nconns(p);
    Pair *pr = pairs_new(n);
    SenderConn *conns = calloc(n, sizeof(*conns));
    SenderResult *res = calloc(n, sizeof(*res));
    Sender *s;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        conns[i] = (SenderConn){ pr[i].ours, UINT64_MAX, SENDER_SHUTDOWN };
    }
    s = sender_start(p, conns, &(SenderOptions){ .chunk = 1000 });
    for (size_t i = 0; i < n; i++) {
        const SupBuf *b = &primary_conn(p, i)->buf;

        expect_bytes(pr[i].theirs, b->data, b->len);
        expect_eof(pr[i].theirs);
    }
    join_sender(s, res);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(res[i].written, primary_conn(p, i)->buf.len);
        assert_int_equal(res[i].err, 0);
        close(pr[i].ours);
        close(pr[i].theirs);
    }
    free(res);
    free(conns);
    free(pr);
    primary_free(p);
}

static void test_stop_at(void **state)
{
    Primary *p = make_primary(2, 0);
    Pair *pr = pairs_new(3);
    SenderConn conns[3];
    SenderResult res[3];
    Sender *s;

    (void)state;
    conns[0] = (SenderConn){ pr[0].ours, 7, SENDER_SHUTDOWN };
    conns[1] = (SenderConn){ pr[1].ours, 1000, SENDER_CLOSE };
    conns[2] = (SenderConn){ pr[2].ours, 100, SENDER_HOLD };
    s = sender_start(p, conns, NULL);
    expect_bytes(pr[0].theirs, primary_conn(p, 0)->buf.data, 7);
    expect_eof(pr[0].theirs);
    expect_bytes(pr[1].theirs, primary_conn(p, 1)->buf.data, 1000);
    expect_eof(pr[1].theirs);
    expect_bytes(pr[2].theirs, primary_conn(p, 2)->buf.data, 100);
    join_sender(s, res);
    expect_nothing_yet(pr[2].theirs); /* held open: no EOF */
    assert_int_equal(res[0].written, 7);
    assert_int_equal(res[1].written, 1000);
    assert_int_equal(res[2].written, 100);
    close(pr[0].ours);
    close(pr[2].ours);
    for (int i = 0; i < 3; i++) {
        close(pr[i].theirs);
    }
    free(pr);
    primary_free(p);
}

/* Bytes of connection @c in stage @st. */
static void expect_stage(const Primary *p, const Pair *pr, size_t c, size_t st)
{
    const PrimaryStage *s = primary_stage(p, st);

    expect_bytes(pr[c].theirs, primary_conn(p, c)->buf.data + s->start[c],
                 (size_t)(s->end[c] - s->start[c]));
}

static void test_paced(void **state)
{
    Primary *p = make_primary(2, 2);
    Pair *pr = pairs_new(3);
    SenderConn conns[3];
    SenderResult res[3];
    Sender *s;

    (void)state;
    for (int i = 0; i < 3; i++) {
        conns[i] = (SenderConn){ pr[i].ours, UINT64_MAX, SENDER_SHUTDOWN };
    }
    s = sender_start(p, conns, &(SenderOptions){ .pace = true });
    for (size_t c = 0; c < 3; c++) {
        expect_stage(p, pr, c, 0);
    }
    put_be32(pr[0].theirs, 0); /* CHECKPOINT_READY */
    for (size_t st = 1; st <= 2; st++) {
        const PrimaryStage *stage = primary_stage(p, st);
        uint8_t req[4];

        read_exact(pr[0].theirs, req, 4);
        assert_int_equal(mf_be32_load(req), 1);
        /* No RAM of the checkpoint before the secondary replied. */
        expect_nothing_yet(pr[1].theirs);
        expect_nothing_yet(pr[2].theirs);
        put_be32(pr[0].theirs, 2); /* CHECKPOINT_REPLY */
        expect_bytes(pr[0].theirs,
                     primary_conn(p, 0)->buf.data + stage->start[0] + 4,
                     (size_t)(stage->end[0] - stage->start[0] - 4));
        expect_stage(p, pr, 1, st);
        expect_stage(p, pr, 2, st);
        put_be32(pr[0].theirs, 5); /* VMSTATE_RECEIVED */
        put_be32(pr[0].theirs, 6); /* VMSTATE_LOADED */
    }
    for (int i = 0; i < 3; i++) {
        expect_eof(pr[i].theirs);
    }
    join_sender(s, res);
    assert_true(res[0].replies_ok);
    assert_int_equal(res[0].replies_read, 4 + 2 * 12);
    for (int i = 0; i < 3; i++) {
        close(pr[i].ours);
        close(pr[i].theirs);
    }
    free(pr);
    primary_free(p);
}

/* A wrong reply stops the primary: no checkpoint RAM is ever sent. */
static void test_paced_wrong_reply(void **state)
{
    Primary *p = make_primary(2, 1);
    Pair *pr = pairs_new(3);
    SenderConn conns[3];
    SenderResult res[3];
    Sender *s;
    uint8_t req[4];

    (void)state;
    for (int i = 0; i < 3; i++) {
        conns[i] = (SenderConn){ pr[i].ours, UINT64_MAX, SENDER_SHUTDOWN };
    }
    s = sender_start(p, conns, &(SenderOptions){ .pace = true });
    for (size_t c = 0; c < 3; c++) {
        expect_stage(p, pr, c, 0);
    }
    put_be32(pr[0].theirs, 0);
    read_exact(pr[0].theirs, req, 4);
    put_be32(pr[0].theirs, 6); /* LOADED instead of REPLY */
    for (int i = 0; i < 3; i++) {
        expect_eof(pr[i].theirs);
    }
    join_sender(s, res);
    assert_false(res[0].replies_ok);
    assert_int_equal(res[1].written, primary_stage(p, 0)->end[1]);
    assert_int_equal(res[2].written, primary_stage(p, 0)->end[2]);
    for (int i = 0; i < 3; i++) {
        close(pr[i].ours);
        close(pr[i].theirs);
    }
    free(pr);
    primary_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unpaced),
        cmocka_unit_test(test_stop_at),
        cmocka_unit_test(test_paced),
        cmocka_unit_test(test_paced_wrong_reply),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
