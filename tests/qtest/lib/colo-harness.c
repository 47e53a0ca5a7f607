/* SPDX-License-Identifier: GPL-2.0-or-later */
/* COLO scenarios over two mfcolo-vm processes (see colo-harness.h). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "colo-harness.h"
#include "guest.h"
#include "oracle.h"

#define PAGE 4096u

ColoStats colo_stats;

/*
 * A failed memory oracle.  With MFCOLO_EXPECT_ORACLE_FAIL=1 (the oracle
 * self-tests, where the VM is told to misbehave) this is the expected
 * outcome: report it and exit 0 through the normal cleanup.
 */
static void oracle_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void oracle_fail(const char *fmt, ...)
{
    const char *e = getenv("MFCOLO_EXPECT_ORACLE_FAIL");
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e && *e == '1') {
        printf("ok oracle detected the sabotage: %s\n", msg);
        exit(0);
    }
    qt_fail("oracle: %s", msg);
}

static const char colo_uuid[] = "6d756c74-6966-6463-6170-747572652121";

uint64_t colo_seed_for(const char *scenario)
{
    const char *env = getenv("MFCOLO_SEED");
    uint64_t h = 1469598103934665603ull;

    if (env && *env) {
        if (strcmp(env, "random") == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            return ((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32)) | 1;
        }
        return strtoull(env, NULL, 0);
    }
    for (; *scenario; scenario++) {
        h = (h ^ (uint8_t)*scenario) * 1099511628211ull;
    }
    return h & 0xffffffffu;
}

static uint64_t mix(uint64_t seed, unsigned k)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (k + 1);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_caps(QTestState *s, const ColoArgs *a)
{
    qtest_qmp_assert_success(
        s,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-colo', 'state': true}, "
        "{'capability': 'return-path', 'state': true}, "
        "{'capability': 'multifd', 'state': %s}]}}",
        a->multifd ? "true" : "false");
    if (a->multifd) {
        qtest_qmp_assert_success(
            s,
            "{'execute': 'migrate-set-parameters', 'arguments': "
            "{'multifd-channels': %d, 'multifd-compression': '%s'}}",
            a->channels, a->compression);
    }
}

void colo_pair_start(ColoPair *p, const ColoArgs *a)
{
    static unsigned pair_no;
    /* Small guests: the fake primary digests every stage (SHA-256). */
    uint64_t ram_kb = 1024 + 512 * (mix(a->seed, 1) % 3);
    uint64_t vram_kb = 256 * (1 + mix(a->seed, 2) % 3);
    static const unsigned delays[] = { 1000, 5000, 20000 };
    unsigned delay = delays[mix(a->seed, 3) % 3];
    char args[8192];

    memset(p, 0, sizeof(*p));
    p->a = *a;
    if (!p->a.compression) {
        p->a.compression = "none";
    }
    if (!p->a.workload) {
        p->a.workload = "increment";
    }
    if (getenv("MFCOLO_WORKLOAD") && *getenv("MFCOLO_WORKLOAD")) {
        p->a.workload = getenv("MFCOLO_WORKLOAD");
    }
    if (!p->a.checkpoint_delay_ms) {
        p->a.checkpoint_delay_ms = 100;
    }
    snprintf(p->ckpt_dir, sizeof(p->ckpt_dir), "%s/ckpt-%u", qt_tmpdir(),
             pair_no++);
    if (mkdir(p->ckpt_dir, 0700) < 0) {
        qt_fail("mkdir %s: %s", p->ckpt_dir, strerror(errno));
    }
    snprintf(p->layout, sizeof(p->layout),
             "-block pc.ram=%" PRIu64 "K -block vga.vram=%" PRIu64 "K", ram_kb,
             vram_kb);
    p->ram_size = (ram_kb << 10) + (vram_kb << 10);
    qt_log("layout: %s, workload %s,delay-us=%u, seed %" PRIu64, p->layout,
           p->a.workload, delay, a->seed);

    snprintf(p->spec, sizeof(p->spec), "%s,delay-us=%u", p->a.workload, delay);
    snprintf(args, sizeof(args),
             "%s -workload %s -seed %" PRIu64 " -uuid %s -ckpt-dir %s",
             p->layout, p->spec, a->seed, colo_uuid, p->ckpt_dir);
    p->from = qtest_start("primary", args);
    snprintf(args, sizeof(args),
             "%s -workload %s -seed %" PRIu64 " -uuid %s -incoming defer",
             p->layout, p->spec, a->seed, colo_uuid);
    p->to = qtest_start("secondary", args);

    set_caps(p->from, &p->a);
    set_caps(p->to, &p->a);
    qtest_qmp_assert_success(
        p->from,
        "{'execute': 'migrate-set-parameters', 'arguments': "
        "{'x-checkpoint-delay': %d, 'x-mfcolo-sender': '%s'}}",
        p->a.checkpoint_delay_ms, p->a.sender_72 ? "qemu-7.2" : "qemu-9");
    qtest_qmp_assert_success(p->to,
                             "{'execute': 'migrate-incoming', 'arguments': "
                             "{'uri': 'tcp:127.0.0.1:0'}}");
    colo_stats.scenarios++;
}

static json_t *query_vcpu(QTestState *s)
{
    return qtest_qmp_ok(s, "{'execute': 'x-mfcolo-query-vcpu'}");
}

static uint64_t vcpu_steps(QTestState *s)
{
    json_t *r = query_vcpu(s);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(r, "steps"));

    json_decref(r);
    return v;
}

/* Wait until the guest made progress (QEMU: wait_for_serial). */
static void wait_guest_progress(QTestState *s)
{
    uint64_t s0 = vcpu_steps(s);
    int64_t end = now_ms() + qt_timeout_ms();

    while (vcpu_steps(s) == s0) {
        if (now_ms() > end) {
            qt_fail("%s: the guest does not run", qtest_name(s));
        }
        usleep(2000);
    }
}

void colo_pair_migrate(ColoPair *p)
{
    json_t *r = qtest_qmp_ok(p->to, "{'execute': 'query-migrate'}");
    json_t *addr = json_array_get(json_object_get(r, "socket-address"), 0);
    const char *port = json_string_value(json_object_get(addr, "port"));

    if (!port) {
        qt_fail("secondary: query-migrate has no socket-address");
    }
    wait_guest_progress(p->from);
    qtest_qmp_assert_success(p->from,
                             "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'tcp:127.0.0.1:%s'}}",
                             port);
    json_decref(r);
    qtest_wait_migration_status(p->from, "colo");
    qtest_qmp_eventwait(p->to, "RESUME");
    wait_guest_progress(p->to);
}

void colo_wait_checkpoints(ColoPair *p, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        qtest_qmp_eventwait(p->to, "RESUME");
        p->resumes++;
    }
}

void colo_failover(ColoPair *p, QTestState *survivor)
{
    qtest_qmp_assert_success(
        survivor, "{'exec-oob': 'yank', 'id': 'yank-cmd', "
                  "'arguments': {'instances': [{'type': 'migration'}]}}");
    qtest_qmp_assert_success(survivor, "{'execute': 'x-colo-lost-heartbeat'}");
    colo_wait_failed_over(p, survivor);
}

void colo_wait_failed_over(ColoPair *p, QTestState *survivor)
{
    char st[32] = "";
    int64_t end = now_ms() + qt_timeout_ms();
    json_t *r;

    (void)p;
    qtest_wait_migration_status(survivor, "completed");
    for (;;) {
        r = qtest_qmp_ok(survivor, "{'execute': 'query-status'}");
        snprintf(st, sizeof(st), "%s",
                 json_string_value(json_object_get(r, "status")));
        json_decref(r);
        if (strcmp(st, "running") == 0) {
            break;
        }
        if (now_ms() > end) {
            qt_fail("%s: status '%s' after failover", qtest_name(survivor), st);
        }
        usleep(2000);
    }
    colo_stats.failovers++;
}

/* Memory keeps changing, then stop; returns the stopped memory. */
static uint8_t *running_then_stopped(ColoPair *p, QTestState *s)
{
    uint8_t *a = malloc(p->ram_size);
    uint8_t *b = malloc(p->ram_size);

    if (!a || !b) {
        qt_fail("out of memory");
    }
    qtest_memread(s, 0, a, p->ram_size);
    wait_guest_progress(s);
    qtest_qmp_assert_success(s, "{'execute': 'stop'}");
    qtest_qmp_eventwait(s, "STOP");
    qtest_memread(s, 0, b, p->ram_size);
    if (memcmp(a, b, p->ram_size) == 0) {
        oracle_fail("%s: memory did not change while the guest ran",
                    qtest_name(s));
    }
    free(a);
    return b;
}

static void check_increment(ColoPair *p, QTestState *s, const uint8_t *mem)
{
    uint64_t bad = 0;
    char why[256] = "";

    if (strncmp(p->a.workload, "increment", 9) != 0) {
        return;
    }
    if (!oracle_check_guests_ram(mem, 0, p->ram_size, PAGE, &bad, why,
                                 sizeof(why))) {
        oracle_fail("%s: check_guests_ram: %s", qtest_name(s), why);
    }
}

static uint8_t *read_file(ColoPair *p, uint64_t n, const char *ext, size_t size)
{
    char path[4400];
    FILE *f;
    uint8_t *buf = malloc(size);
    size_t got;

    snprintf(path, sizeof(path), "%s/ckpt-%" PRIu64 ".%s", p->ckpt_dir, n, ext);
    f = fopen(path, "rb");
    if (!f || !buf) {
        qt_fail("no record of checkpoint %" PRIu64 " (%s)", n, path);
    }
    got = fread(buf, 1, size, f);
    fclose(f);
    if (got != size) {
        qt_fail("%s: %zu bytes, want %zu", path, got, size);
    }
    return buf;
}

static void vm_state(QTestState *s, VcpuState *st)
{
    json_t *r = query_vcpu(s);

    memset(st, 0, sizeof(*st));
    st->pos = (uint64_t)json_integer_value(json_object_get(r, "pos"));
    st->pass = (uint64_t)json_integer_value(json_object_get(r, "pass"));
    st->prng = (uint64_t)json_integer_value(json_object_get(r, "prng"));
    st->steps = (uint64_t)json_integer_value(json_object_get(r, "steps"));
    json_decref(r);
}

/*
 * The exact oracle: @mem (a stopped VM's memory) must equal the image
 * recorded at checkpoint @n plus the guest's own steps since, replayed
 * here from the vCPU state recorded with it.  Returns the steps replayed.
 */
static uint64_t check_replay(ColoPair *p, QTestState *s, uint64_t n,
                             const uint8_t *mem, const char *what)
{
    uint8_t *want = read_file(p, n, "img", p->ram_size);
    uint8_t *blob = read_file(p, n, "vcpu", GUEST_STATE_BLOB);
    GuestSpec spec;
    VcpuState st;
    VcpuState now;
    uint64_t id;
    uint64_t steps;
    uint64_t pg;

    if (!guest_spec_parse(&spec, p->spec, p->ram_size, p->a.seed) ||
        !guest_state_decode(blob, GUEST_STATE_BLOB, &st, &id) || id != n) {
        qt_fail("bad vCPU record of checkpoint %" PRIu64, n);
    }
    vm_state(s, &now);
    if (now.steps < st.steps) {
        qt_fail("%s: %" PRIu64 " guest steps, fewer than the %" PRIu64
                " of checkpoint %" PRIu64,
                what, now.steps, st.steps, n);
    }
    steps = now.steps - st.steps;
    guest_replay(&spec, &st, want, steps);
    if (st.pos != now.pos || st.pass != now.pass ||
        (spec.kind == GUEST_RANDOM && st.prng != now.prng)) {
        oracle_fail("%s: vCPU state after replaying %" PRIu64 " steps from "
                    "checkpoint %" PRIu64 " is pos %" PRIu64 " pass %" PRIu64
                    ", the VM has pos %" PRIu64 " pass %" PRIu64,
                    what, steps, n, st.pos, st.pass, now.pos, now.pass);
    }
    for (pg = 0; pg < p->ram_size / PAGE; pg++) {
        const uint8_t *w = want + pg * PAGE;
        const uint8_t *g = mem + pg * PAGE;

        if (memcmp(w, g, PAGE) != 0) {
            unsigned off = 0;
            while (w[off] == g[off]) {
                off++;
            }
            oracle_fail("%s: page %" PRIu64 " (addr 0x%" PRIx64 ") byte %u: "
                        "want 0x%02x got 0x%02x (checkpoint %" PRIu64
                        " + %" PRIu64 " own guest steps)",
                        what, pg, pg * PAGE, off, w[off], g[off], n, steps);
        }
    }
    colo_stats.pages_compared += p->ram_size / PAGE;
    free(want);
    free(blob);
    return steps;
}

void colo_check_secondary(ColoPair *p, uint64_t f_min, uint64_t f_max)
{
    QTestState *s = p->to;
    uint8_t *mem = running_then_stopped(p, s);
    json_t *q = qtest_qmp_ok(s, "{'execute': 'x-mfcolo-query-colo'}");
    uint64_t f = (uint64_t)json_integer_value(json_object_get(q, "checkpoint"));
    uint64_t done =
        (uint64_t)json_integer_value(json_object_get(q, "checkpoints"));
    size_t own = json_array_size(json_object_get(q, "own-dirty"));
    uint64_t steps;

    if (f != done) {
        oracle_fail("secondary: device state of checkpoint %" PRIu64
                    " but %" PRIu64 " checkpoints completed",
                    f, done);
    }
    if (f < f_min || f > f_max) {
        oracle_fail("secondary holds checkpoint %" PRIu64 ", expected %" PRIu64
                    "..%" PRIu64,
                    f, f_min, f_max);
    }
    steps = check_replay(p, s, f, mem, "secondary");
    qt_log("secondary == checkpoint %" PRIu64 " + %" PRIu64 " own steps "
           "(%zu pages written by itself since), %" PRIu64 " pages equal",
           f, steps, own, p->ram_size / PAGE);
    colo_stats.own_pages += own;
    check_increment(p, s, mem);
    free(mem);
    json_decref(q);
    qtest_qmp_assert_success(s, "{'execute': 'cont'}");
    qtest_qmp_eventwait(s, "RESUME");
    wait_guest_progress(s);
}

void colo_check_primary(ColoPair *p)
{
    QTestState *s = p->from;
    uint8_t *mem = running_then_stopped(p, s);
    uint64_t sent;
    uint64_t done;
    uint64_t steps;

    colo_primary_counts(p, &sent, &done);
    steps = check_replay(p, s, sent, mem, "primary");
    qt_log("primary == its checkpoint %" PRIu64 " + %" PRIu64 " steps", sent,
           steps);
    check_increment(p, s, mem);
    free(mem);
    qtest_qmp_assert_success(s, "{'execute': 'cont'}");
    qtest_qmp_eventwait(s, "RESUME");
    wait_guest_progress(s);
}

void colo_primary_counts(ColoPair *p, uint64_t *sent, uint64_t *done)
{
    json_t *r = qtest_qmp_ok(p->from, "{'execute': 'x-mfcolo-query-colo'}");
    json_t *x = json_object_get(r, "x-mfcolo");

    *sent =
        (uint64_t)json_integer_value(json_object_get(x, "checkpoints-sent"));
    *done =
        (uint64_t)json_integer_value(json_object_get(x, "checkpoints-done"));
    json_decref(r);
}

void colo_pair_end(ColoPair *p)
{
    qtest_quit(p->from);
    qtest_quit(p->to);
    p->from = NULL;
    p->to = NULL;
}
