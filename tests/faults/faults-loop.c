/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault tier's enumeration loops (SQLite's anomaly loops): for each
 * scenario and each point filter (the mfcolo wildcard = every point, counted
 * together, or one point), fail hit N for N = 1, 2, ... until a run
 * completes without reaching a fault; every loop once transient and once
 * persistent, plus compound faults (a second fault M hits after the
 * first) and EINTR storms (must succeed with identical memory).
 *
 * Each run is a forked child with an alarm: a hang or a crash is
 * reported with the scenario, point, mode and N instead of stopping the
 * suite; the child checks memory, invariants, the error against the
 * catalogue and (glibc heap counters) leaks, and reports one outcome.
 * docs/faults.md explains how to reproduce one run.
 *
 *   faults-loop [--suite default|full]            the loops + table
 *   faults-loop --scenario S --point P --mode M --n N [--m M] [--no-fork]
 *                                                 one run, verbose
 *   faults-loop --list                            scenarios and points
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define MFCOLO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MFCOLO_ASAN 1
#endif
#endif

#include "catalogue.h"
#include "inject.h"
#include "scenario.h"

typedef enum Outcome {
    OUT_SUCCESS,
    OUT_SPECIFIC, /* ended with an error the fired point allows */
    OUT_WRONG,    /* other error, unlocated, or wrong outcome */
    OUT_CRASH,    /* signal, or an abnormal exit status */
    OUT_HANG,     /* the watchdog fired */
    OUT_LEAK,     /* heap grew, or valgrind/ASan reported */
    OUT_MISMATCH, /* memory (I4) or invariant (I1, phase, replies) */
    OUT_COUNT,
} Outcome;

static const char *const outcome_names[OUT_COUNT] = {
    "success", "specific", "wrong-err", "crash", "hang", "leak", "mismatch",
};

/* Child exit statuses; 1 (valgrind) and 23 (LSan) mean a tool report. */
#define EXIT_BASE 40

typedef struct Shared {
    Inject inj;
    ScenarioResult res;
    long long leaked;
    char detail[600];
} Shared;

typedef struct Options {
    bool full;
    bool fork;
    bool verbose;
    unsigned deadline; /* seconds per run */
    uint64_t max_runs; /* per loop: N advances by a stride above this */
} Options;

typedef struct Tally {
    uint64_t n[OUT_COUNT];
    uint64_t runs;
    uint64_t bad;
} Tally;

static Shared *sh;
/* A run takes milliseconds: 5 s per run (x5 ASan, x20 valgrind). */
static Options opt = { false, true, false, 5, 0 };
static unsigned bad_printed;

static bool allowed(const ScenarioDef *d)
{
    const Inject *inj = &sh->inj;
    uint32_t i, last = inj->nnames;
    int code = sh->res.err.code;

    /*
     * One thread: the first fired point decides (the first error is the
     * one kept).  Threads: any fired point (which thread's error lands
     * first is a race).
     */
    if (d->driver == RECV_DRIVER_DETERMINISTIC) {
        last = inj->nnames ? 1 : 0;
    }
    for (i = 0; i < last; i++) {
        if (catalogue_allows(catalogue_find(inj->names[i]), code)) {
            return true;
        }
    }
    return false;
}

static Outcome classify(const ScenarioDef *d)
{
    const ScenarioResult *res = &sh->res;
    char line[260];

    mf_error_format(&res->err, line, sizeof(line));
    switch (res->check) {
    case SCEN_OK:
        break;
    case SCEN_MEMORY:
    case SCEN_INVARIANT:
        snprintf(sh->detail, sizeof(sh->detail), "%s (%s)", res->why,
                 res->ok ? "run succeeded" : line);
        return OUT_MISMATCH;
    default:
        snprintf(sh->detail, sizeof(sh->detail), "%s (%s)", res->why,
                 res->ok ? "run succeeded" : line);
        return OUT_WRONG;
    }
    if (sh->leaked) {
        snprintf(sh->detail, sizeof(sh->detail), "%lld heap bytes leaked",
                 sh->leaked);
        return OUT_LEAK;
    }
    if (res->ok) {
        return OUT_SUCCESS;
    }
    if (sh->inj.mode == INJECT_RETRY) {
        snprintf(sh->detail, sizeof(sh->detail), "EINTR is not an error: %s",
                 line);
        return OUT_WRONG;
    }
    if (!sh->inj.fired || !allowed(d)) {
        snprintf(sh->detail, sizeof(sh->detail), "%s%s: %s",
                 sh->inj.fired ? "not allowed for " : "no fault fired",
                 sh->inj.fired ? sh->inj.names[0] : "", line);
        return OUT_WRONG;
    }
    snprintf(sh->detail, sizeof(sh->detail), "%s", line);
    return OUT_SPECIFIC;
}

/*
 * glibc's heap counters count tcache entries and per-thread arenas as in
 * use, so main() re-executes the program with both disabled (tunables);
 * runs are then leak-checked exactly when single-threaded.  Valgrind and
 * ASan (which replace malloc) check leaks themselves at each child's exit.
 */
#define TUNABLES "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1"

static bool heap_counting;

static long long heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return (long long)mi.uordblks;
}

/* The run itself (in the child, or in-process with --no-fork). */
static Outcome run_body(const Scenario *s, const ScenarioDef *d,
                        const char *filter, InjectMode mode, uint64_t n,
                        uint64_t m)
{
    long long before;

    sh->detail[0] = 0;
    inject_arm(&sh->inj, filter, mode, n, m, 0);
    before = heap_in_use();
    scenario_run(s, &sh->res);
    inject_disarm(&sh->inj);
    sh->leaked = heap_in_use() - before;
    if (!heap_counting || d->driver != RECV_DRIVER_DETERMINISTIC ||
        sh->leaked < 0) {
        sh->leaked = 0;
    }
    return classify(d);
}

static Outcome run_one(const Scenario *s, const ScenarioDef *d,
                       const char *filter, InjectMode mode, uint64_t n,
                       uint64_t m)
{
    pid_t pid;
    int st;

    if (!opt.fork) {
        return run_body(s, d, filter, mode, n, m);
    }
    memset(&sh->res, 0, sizeof(sh->res));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(99);
    }
    if (pid == 0) {
        alarm(opt.deadline);
        exit(EXIT_BASE + (int)run_body(s, d, filter, mode, n, m));
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            exit(99);
        }
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
        snprintf(sh->detail, sizeof(sh->detail),
                 "watchdog: the run (receiver threads, channel reads, sync) "
                 "still going after %u s",
                 opt.deadline);
        return OUT_HANG;
    }
    if (WIFSIGNALED(st)) {
        snprintf(sh->detail, sizeof(sh->detail), "killed by signal %d (%s)",
                 WTERMSIG(st), strsignal(WTERMSIG(st)));
        return OUT_CRASH;
    }
    st = WEXITSTATUS(st);
    if (st >= EXIT_BASE && st < EXIT_BASE + OUT_COUNT) {
        return (Outcome)(st - EXIT_BASE);
    }
    snprintf(sh->detail, sizeof(sh->detail),
             "child exit status %d (valgrind/sanitizer report above)", st);
    return st == 1 || st == 23 ? OUT_LEAK : OUT_CRASH;
}

static void report_bad(const ScenarioDef *d, const char *filter,
                       InjectMode mode, uint64_t n, uint64_t m, Outcome o)
{
    if (bad_printed++ >= 40) {
        return;
    }
    printf("FAIL %s: scenario %s point %s mode %s n %" PRIu64, outcome_names[o],
           d->name, filter, inject_mode_name(mode), n);
    if (mode == INJECT_COMPOUND) {
        printf(" m %" PRIu64, m);
    }
    printf(" fired %s: %s\n  reproduce: faults-loop --scenario %s "
           "--point '%s' --mode %s --n %" PRIu64 " --m %" PRIu64 "\n",
           sh->inj.nnames ? sh->inj.names[0] : "-", sh->detail, d->name, filter,
           inject_mode_name(mode), n, m);
}

/* The bound of the warm-up run below, which runs in this process. */
static char warmup_msg[256];

static void warmup_fired(int sig)
{
    ssize_t r = write(STDOUT_FILENO, warmup_msg, strlen(warmup_msg));

    (void)sig;
    (void)r;
    _exit(1);
}

/* Hits of @filter in a fault-free run (also checks that run succeeds). */
static uint64_t count_hits(const Scenario *s, const ScenarioDef *d,
                           const char *filter, Tally *t)
{
    Outcome o;

    /*
     * One fault-free run in this process first: libfiu caches every point
     * name it has seen (heap kept for the life of the process), so the
     * children inherit a warm cache and their heap counters see only the
     * receiver's own allocations.
     */
    snprintf(warmup_msg, sizeof(warmup_msg),
             "FAIL hang: scenario %s point %s: watchdog: the fault-free "
             "warm-up run in the parent (receiver threads, channel reads, "
             "sync) still going after %u s\n",
             d->name, filter, opt.deadline);
    fflush(NULL);
    signal(SIGALRM, warmup_fired);
    alarm(opt.deadline);
    inject_arm(&sh->inj, filter, INJECT_TRANSIENT, 0, 0, 0);
    scenario_run(s, &sh->res);
    inject_disarm(&sh->inj);
    alarm(0);
    /* The children's alarm kills them (run_one reads SIGALRM as a hang). */
    signal(SIGALRM, SIG_DFL);
    o = run_one(s, d, filter, INJECT_TRANSIENT, 0, 0);

    t->runs++;
    t->n[o]++;
    if (o != OUT_SUCCESS) {
        t->bad++;
        report_bad(d, filter, INJECT_TRANSIENT, 0, 0, o);
    }
    if (o == OUT_HANG) {
        printf("faults-loop: stopped at the first hang\n");
        exit(1);
    }
    return sh->inj.hits;
}

/*
 * N = 1, 1 + stride, ... until a run reaches no fault.  The stride keeps
 * a loop under opt.max_runs (0: stride 1, every N).
 */
static void loop(const Scenario *s, const ScenarioDef *d, const char *filter,
                 InjectMode mode, uint64_t m, Tally *t)
{
    uint64_t hits = count_hits(s, d, filter, t);
    uint64_t stride = 1, n;

    uint64_t cap = opt.max_runs;

    if (!cap && !strncmp(d->name, "short-", 6)) {
        cap = 400; /* byte-wise reads: tens of thousands of hits */
    }
    if (cap && hits > cap) {
        stride = (hits + cap - 1) / cap;
    }
    for (n = 1; n < 10000000; n += stride) {
        Outcome o = run_one(s, d, filter, mode, n, m);

        t->runs++;
        t->n[o]++;
        if (o != OUT_SUCCESS && o != OUT_SPECIFIC) {
            t->bad++;
            report_bad(d, filter, mode, n, m, o);
        }
        if (o == OUT_HANG) {
            /* One hang is enough: the next runs would hang too. */
            printf("faults-loop: stopped at the first hang\n");
            exit(1);
        }
        if (mode == INJECT_RETRY && o != OUT_SUCCESS) {
            break;
        }
        if (o == OUT_HANG || o == OUT_CRASH) {
            continue;
        }
        if (!sh->inj.fired) {
            break;
        }
        if (mode == INJECT_RETRY && n >= 2) {
            break; /* N = 1 and 2 cover every hit's parity */
        }
    }
}

static void print_row(const char *label, const Tally *t)
{
    int i;

    printf("%-52s %6" PRIu64, label, t->runs);
    for (i = 0; i < OUT_COUNT; i++) {
        printf(" %8" PRIu64, t->n[i]);
    }
    printf("\n");
}

static void print_header(void)
{
    int i;

    printf("%-52s %6s", "loop (scenario / mode / points)", "runs");
    for (i = 0; i < OUT_COUNT; i++) {
        printf(" %8s", outcome_names[i]);
    }
    printf("\n");
}

static void add(Tally *sum, const Tally *t)
{
    int i;

    for (i = 0; i < OUT_COUNT; i++) {
        sum->n[i] += t->n[i];
    }
    sum->runs += t->runs;
    sum->bad += t->bad;
}

static void run_loop(const Scenario *s, const ScenarioDef *d,
                     const char *filter, InjectMode mode, uint64_t m,
                     Tally *sum)
{
    Tally t = { { 0 }, 0, 0 };
    char label[120];

    loop(s, d, filter, mode, m, &t);
    if (mode == INJECT_COMPOUND) {
        snprintf(label, sizeof(label), "%s %s+%" PRIu64 " %s", d->name,
                 inject_mode_name(mode), m, filter);
    } else {
        snprintf(label, sizeof(label), "%s %s %s", d->name,
                 inject_mode_name(mode), filter);
    }
    print_row(label, &t);
    fflush(stdout);
    add(sum, &t);
}

static void run_scenario(const ScenarioDef *d, Tally *sum)
{
    static const uint64_t compound_default[] = { 1, 2, 3, 5, 8, 13 };
    Scenario *s = scenario_new(d);
    bool is_short = !strncmp(d->name, "short-", 6);
    size_t i;

    if (is_short) {
        /* Short reads and EINTR are not errors: same memory, success. */
        run_loop(s, d, "mfcolo/chan/read", INJECT_RETRY, 0, sum);
        run_loop(s, d, "mfcolo/*", INJECT_TRANSIENT, 0, sum);
        scenario_free(s);
        return;
    }
    run_loop(s, d, "mfcolo/*", INJECT_TRANSIENT, 0, sum);
    run_loop(s, d, "mfcolo/*", INJECT_PERSISTENT, 0, sum);
    run_loop(s, d, "mfcolo/chan/read", INJECT_RETRY, 0, sum);
    if (d->checkpoints) {
        for (i = 0; i < sizeof(compound_default) / sizeof(uint64_t); i++) {
            if (!opt.full && i >= 3) {
                break;
            }
            run_loop(s, d, "mfcolo/*", INJECT_COMPOUND, compound_default[i],
                     sum);
        }
    }
    if (opt.full) {
        for (i = 0; i < catalogue_count(); i++) {
            const char *name = catalogue_point(i)->name;

            run_loop(s, d, name, INJECT_TRANSIENT, 0, sum);
            run_loop(s, d, name, INJECT_PERSISTENT, 0, sum);
        }
    }
    scenario_free(s);
}

static int run_suite(const char *only)
{
    Tally sum = { { 0 }, 0, 0 };
    time_t t0 = time(NULL);
    size_t i;

    printf("fault points in the catalogue: %zu\n", catalogue_count());
    print_header();
    for (i = 0; i < scenario_count(); i++) {
        const ScenarioDef *d = scenario_def(i);

        if ((only && strcmp(only, d->name)) ||
            (!only && d->full_only && !opt.full)) {
            continue;
        }
        run_scenario(d, &sum);
    }
    if (only && !scenario_find(only)) {
        fprintf(stderr, "faults-loop: unknown scenario %s (see --list)\n",
                only);
        return 1;
    }
    print_row(opt.full ? "TOTAL (faults-full)" : "TOTAL (faults)", &sum);
    printf("%" PRIu64 " runs in %lld s, %" PRIu64 " bad\n", sum.runs,
           (long long)(time(NULL) - t0), sum.bad);
    return sum.bad ? 1 : 0;
}

static int run_single(const char *scen, const char *point, InjectMode mode,
                      uint64_t n, uint64_t m)
{
    const ScenarioDef *d = scenario_find(scen);
    Scenario *s;
    Outcome o;
    char line[260];

    if (!d) {
        fprintf(stderr, "faults-loop: unknown scenario %s (see --list)\n",
                scen);
        return 2;
    }
    s = scenario_new(d);
    inject_arm(&sh->inj, point, INJECT_TRANSIENT, 0, 0, 0);
    scenario_run(s, &sh->res); /* warm libfiu's name cache */
    inject_disarm(&sh->inj);
    o = run_one(s, d, point, mode, n, m);
    mf_error_format(&sh->res.err, line, sizeof(line));
    printf("scenario %s point %s mode %s n %" PRIu64 " m %" PRIu64
           ": %s\n  hits %" PRIu64 " fired %" PRIu64 " first %s\n"
           "  receiver: %s%s\n  detail: %s\n",
           d->name, point, inject_mode_name(mode), n, m, outcome_names[o],
           sh->inj.hits, sh->inj.fired, sh->inj.nnames ? sh->inj.names[0] : "-",
           sh->res.setup_failed ? "(setup) " : "", sh->res.ok ? "ok" : line,
           sh->detail);
    scenario_free(s);
    return o == OUT_SUCCESS || o == OUT_SPECIFIC ? 0 : 1;
}

static void list(void)
{
    size_t i;

    for (i = 0; i < scenario_count(); i++) {
        printf("scenario %s%s\n", scenario_def(i)->name,
               scenario_def(i)->full_only ? " (faults-full)" : "");
    }
    for (i = 0; i < catalogue_count(); i++) {
        printf("point %-32s %s\n", catalogue_point(i)->name,
               catalogue_point(i)->simulates);
    }
}

int main(int argc, char **argv)
{
    const char *scen = NULL, *point = "mfcolo/*";
    InjectMode mode = INJECT_TRANSIENT;
    uint64_t n = 0, m = 1;
    bool single = false;
    int i, rc;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--list")) {
            list();
            return 0;
        } else if (!strcmp(a, "--no-fork")) {
            opt.fork = false;
        } else if (!strcmp(a, "--suite") && v) {
            opt.full = !strcmp(v, "full");
            i++;
        } else if (!strcmp(a, "--scenario") && v) {
            scen = v;
            i++;
        } else if (!strcmp(a, "--point") && v) {
            point = v;
            i++;
        } else if (!strcmp(a, "--mode") && v && inject_mode_parse(v, &mode)) {
            i++;
        } else if (!strcmp(a, "--n") && v) {
            n = strtoull(v, NULL, 0);
            single = true;
            i++;
        } else if (!strcmp(a, "--m") && v) {
            m = strtoull(v, NULL, 0);
            i++;
        } else {
            fprintf(stderr,
                    "usage: faults-loop [--suite default|full] | "
                    "--scenario S [--point P] [--mode transient|persistent|"
                    "compound|eintr] --n N [--m M] [--no-fork] | --list\n");
            return 2;
        }
    }
    if (getenv("MFCOLO_FAULTS_MAX_RUNS")) {
        opt.max_runs = strtoull(getenv("MFCOLO_FAULTS_MAX_RUNS"), NULL, 0);
    } else if (!opt.full) {
        opt.max_runs = 30;
    }
#ifdef MFCOLO_ASAN
    /* Each child runs LeakSanitizer at exit: fewer runs per loop. */
    if (!opt.full && !getenv("MFCOLO_FAULTS_MAX_RUNS")) {
        opt.max_runs = 10;
    }
    opt.deadline *= 5;
#endif
    if (getenv("MFCOLO_UNDER_VALGRIND")) {
        opt.deadline *= 20;
        if (!opt.full && !getenv("MFCOLO_FAULTS_MAX_RUNS")) {
            opt.max_runs = 6;
        }
    }
#ifndef MFCOLO_ASAN
    if (!getenv("MFCOLO_UNDER_VALGRIND")) {
        const char *t = getenv("GLIBC_TUNABLES");

        if (!t || strcmp(t, TUNABLES)) {
            setenv("GLIBC_TUNABLES", TUNABLES, 1);
            execv("/proc/self/exe", argv);
            perror("faults-loop: re-exec with GLIBC_TUNABLES");
        } else {
            heap_counting = true;
        }
    }
#endif
    signal(SIGPIPE, SIG_IGN); /* pipe scenarios: writers see EPIPE */
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 99;
    }
    inject_install(&sh->inj);
    if (single) {
        rc = run_single(scen ? scen : "colo-2ch-zstd", point, mode, n, m);
    } else {
        rc = run_suite(scen);
    }
    munmap(sh, sizeof(*sh));
    return rc;
}
