/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu/hostile: every hostile input of hostile-cases.h into a fresh real
 * QEMU destination (`mfcolo-qemu send`, one QEMU per case, bounded), next
 * to mfcolo's own verdict on the same bytes (mfcolo-replay in-process),
 * as a differential table; then the outcomes against the expectations of
 * that QEMU version (tests/qemu/expect/qemu-<version>.txt).
 *
 *   qemu-hostile --tool MFCOLO_QEMU --data ROOT --expect DIR
 *                [--full] [--case NAME]... [--jobs N] [--timeout-ms N]
 *                [--tool-slack S] [--record FILE] [--keep DIR]
 *
 * Outcome classes: completed, failed (migration failed, or QEMU exited
 * with a message and no signal), crash (a signal; with gdb present, the
 * backtrace from the core dump), hang (nothing within the bound).  crash
 * and hang are findings (docs/qemu-findings.md).
 *
 * Exit status 1 (the test fails) when a case does worse than recorded for
 * the version (completed/failed -> hang -> crash), when a control case
 * (the recording unmodified) does not complete, or when the tool could
 * not run; new and vanished findings are printed either way.  A worse
 * outcome is re-run once alone before it counts (a loaded machine can
 * stretch a good run past the bound).  An unknown version has no
 * expectations: every crash or hang is new.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostile-cases.h"
#include "qemu-backend.h"
#include "replay.h"

#define MAX_CASES 128
/* mfcolo-qemu's own bounds: QEMU start and setup (10 s), connections,
 * sending, then the outcome bound; this much past the outcome bound
 * (--tool-slack) it is killed. */
#define TOOL_SLACK_S 60

typedef enum Outcome {
    OC_NONE, /* not recorded / not run */
    OC_COMPLETED,
    OC_FAILED,
    OC_HANG,
    OC_CRASH,
} Outcome;

static const char *const oc_names[] = { "-", "completed", "failed", "hang",
                                        "crash" };

static int oc_rank(Outcome o)
{
    return o == OC_CRASH ? 2 : o == OC_HANG ? 1 : 0;
}

static Outcome oc_parse(const char *s)
{
    int i;

    for (i = OC_COMPLETED; i <= OC_CRASH; i++) {
        size_t n = strlen(oc_names[i]);

        if (!strncmp(s, oc_names[i], n) &&
            (s[n] == 0 || s[n] == ' ' || s[n] == ':' || s[n] == '\n')) {
            return (Outcome)i;
        }
    }
    return OC_NONE;
}

typedef struct Run {
    const HostileCase *c;
    char dir[1024];
    pid_t pid;
    int tool_status;
    Outcome got;
    char qemu_line[512]; /* the outcome line after "outcome: " */
    char bt[2048];       /* crash: backtrace lines */
    char detail[160];    /* the tool's "hang: ..." line */
    int mf_status;
    char mf_err[512];
    Outcome want;
    double seconds;
    bool rerun;
    bool killed; /* mfcolo-qemu itself overran its bounds */
} Run;

typedef struct Opts {
    const char *tool, *data, *expect, *record, *keep;
    bool full;
    int jobs;
    int timeout_ms;
    int tool_slack_s;
    const char *only[MAX_CASES];
    size_t nonly;
} Opts;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void rm_tree(const char *path)
{
    char cmd[1200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0) {
        fprintf(stderr, "qemu-hostile: could not remove %s\n", path);
    }
}

/* ---- mfcolo's verdict ---- */

static void mfcolo_verdict(Run *r, const HostileInput *in)
{
    char *argv[2 * HOSTILE_MAX_FILES + 8];
    char paths[HOSTILE_MAX_FILES][1100];
    char comp[16], uuid[40];
    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *fo = open_memstream(&out, &out_len);
    FILE *fe = open_memstream(&err, &err_len);
    ReplayObserver obs = { 0 };
    int argc = 0;
    size_t k;

    if (!fo || !fe) {
        abort();
    }
    argv[argc++] = (char *)"mfcolo-replay";
    for (k = 0; k < in->nfiles; k++) {
        snprintf(paths[k], sizeof(paths[k]), "%s/%s", r->dir,
                 in->files[k].name);
        argv[argc++] = (char *)(k ? "--channel" : "--main");
        argv[argc++] = paths[k];
    }
    snprintf(comp, sizeof(comp), "%s", in->compression);
    snprintf(uuid, sizeof(uuid), "%s", HOSTILE_UUID);
    argv[argc++] = (char *)"--compression";
    argv[argc++] = comp;
    argv[argc++] = (char *)"--uuid";
    argv[argc++] = uuid;
    argv[argc] = NULL;
    obs.quiet = true;
    r->mf_status = replay_main(argc, argv, fo, fe, &obs);
    fclose(fo);
    fclose(fe);
    if (err_len && err[err_len - 1] == '\n') {
        err[err_len - 1] = 0;
    }
    snprintf(r->mf_err, sizeof(r->mf_err), "%s",
             err_len > 15 && !strncmp(err, "mfcolo-replay: ", 15) ? err + 15
                                                                  : err);
    free(out);
    free(err);
}

/* ---- the tool ---- */

static pid_t tool_start(const Opts *o, Run *r, const HostileInput *in)
{
    char *argv[2 * HOSTILE_MAX_FILES + 12];
    char paths[HOSTILE_MAX_FILES][1100];
    char bound[16], log[1100];
    int argc = 0;
    size_t k;
    pid_t pid;

    argv[argc++] = (char *)o->tool;
    argv[argc++] = (char *)"send";
    for (k = 0; k < in->nfiles; k++) {
        snprintf(paths[k], sizeof(paths[k]), "%s/%s", r->dir,
                 in->files[k].name);
        argv[argc++] = (char *)(k ? "--channel" : "--main");
        argv[argc++] = paths[k];
    }
    argv[argc++] = (char *)"--compression";
    argv[argc++] = (char *)in->compression;
    snprintf(bound, sizeof(bound), "%d", o->timeout_ms);
    argv[argc++] = (char *)"--timeout-ms";
    argv[argc++] = bound;
    if (r->c->hold) {
        argv[argc++] = (char *)"--hold";
    }
    argv[argc] = NULL;
    snprintf(log, sizeof(log), "%s/tool.log", r->dir);
    r->killed = false;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct rlimit core = { RLIM_INFINITY, RLIM_INFINITY };
        FILE *f;

        setpgid(0, 0); /* killable as a group with its QEMU */
        /* Dies with this program, even when its watchdog ends it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0 || chdir(r->dir) != 0) {
            _exit(126);
        }
        /* a crashing QEMU leaves "core" in its cwd (core_pattern) */
        setrlimit(RLIMIT_CORE, &core);
        execv(o->tool, argv);
        _exit(127);
    }
    return pid;
}

static void read_outcome(Run *r)
{
    char log[1100], line[1024];
    FILE *f;

    snprintf(log, sizeof(log), "%s/tool.log", r->dir);
    r->got = OC_NONE;
    r->qemu_line[0] = 0;
    f = fopen(log, "r");
    if (!f) {
        return;
    }
    r->detail[0] = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "hang: ", 6)) {
            snprintf(r->detail, sizeof(r->detail), "[%.140s]", line + 6);
        }
        if (!strncmp(line, "outcome: ", 9)) {
            r->got = oc_parse(line + 9);
            size_t len = strlen(line + 9);

            if (len >= sizeof(r->qemu_line)) {
                len = sizeof(r->qemu_line) - 1;
            }
            memcpy(r->qemu_line, line + 9, len);
            r->qemu_line[len] = 0;
        }
    }
    fclose(f);
}

/* gdb on the core a crashed QEMU left in its case directory. */
static void backtrace_of(Run *r, const char *bin)
{
    char core[1100], cmd[3000], line[512], prev[512];
    FILE *p;
    size_t n = 0;

    snprintf(core, sizeof(core), "%s/core", r->dir);
    if (access(core, R_OK) != 0) {
        snprintf(r->bt, sizeof(r->bt), "no core file (core_pattern)");
        return;
    }
    if (access("/usr/bin/gdb", X_OK) != 0) {
        snprintf(r->bt, sizeof(r->bt), "gdb not installed: no backtrace");
        return;
    }
    snprintf(cmd, sizeof(cmd),
             "timeout 60 /usr/bin/gdb -nx -batch -ex bt '%s' '%s' 2>/dev/null"
             " | grep '^#' | head -20",
             bin, core);
    p = popen(cmd, "r");
    r->bt[0] = 0;
    prev[0] = 0;
    while (p && fgets(line, sizeof(line), p) && n + 1 < sizeof(r->bt)) {
        /* gdb shows frame #0 once when it loads the core, once in bt */
        if (strcmp(line, prev)) {
            n += (size_t)snprintf(r->bt + n, sizeof(r->bt) - n, "      %s",
                                  line);
        }
        snprintf(prev, sizeof(prev), "%s", line);
    }
    if (p) {
        pclose(p);
    }
    unlink(core);
}

/* ---- expectations ---- */

typedef struct Expect {
    char path[1100];
    bool found;
    size_t n;
    char names[MAX_CASES][64];
    Outcome oc[MAX_CASES];
} Expect;

static void expect_load(Expect *e, const char *dir, const QTestVersion *v)
{
    char line[512];
    FILE *f;

    memset(e, 0, sizeof(*e));
    snprintf(e->path, sizeof(e->path), "%s/qemu-%d.%d.%d.txt", dir, v->major,
             v->minor, v->micro);
    f = fopen(e->path, "r");
    if (!f) {
        snprintf(e->path, sizeof(e->path), "%s/qemu-%d.%d.txt", dir, v->major,
                 v->minor);
        f = fopen(e->path, "r");
    }
    if (!f) {
        return;
    }
    e->found = true;
    while (fgets(line, sizeof(line), f) && e->n < MAX_CASES) {
        char name[64], oc[32];

        if (line[0] == '#' || sscanf(line, "%63s %31s", name, oc) != 2) {
            continue;
        }
        snprintf(e->names[e->n], sizeof(e->names[0]), "%s", name);
        e->oc[e->n++] = oc_parse(oc);
    }
    fclose(f);
}

static Outcome expect_of(const Expect *e, const char *name)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        if (!strcmp(e->names[i], name)) {
            return e->oc[i];
        }
    }
    return OC_NONE;
}

/* ---- running ---- */

static bool picked(const Opts *o, const HostileCase *c)
{
    size_t i;

    if (!o->nonly) {
        return o->full || c->slice;
    }
    for (i = 0; i < o->nonly; i++) {
        if (!strcmp(o->only[i], c->name)) {
            return true;
        }
    }
    return false;
}

/* Run @runs[@idx...] through the tool, @jobs at a time. */
static void run_tool_all(const Opts *o, Run **runs, size_t n,
                         HostileInput *inputs, const char *bin)
{
    size_t next = 0, active = 0, i;
    double start[MAX_CASES];

    while (next < n || active) {
        int status;
        pid_t pid;

        while (active < (size_t)o->jobs && next < n) {
            runs[next]->pid = tool_start(o, runs[next], &inputs[next]);
            start[next] = now_s();
            next++;
            active++;
        }
        pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != EINTR) {
            break;
        }
        if (pid <= 0) {
            /* mfcolo-qemu bounds every wait; this bounds mfcolo-qemu */
            for (i = 0; i < next; i++) {
                if (runs[i]->pid > 0 && !runs[i]->killed &&
                    now_s() - start[i] >
                        o->timeout_ms / 1000.0 + o->tool_slack_s) {
                    /* its process group: the tool and its QEMU */
                    kill(-runs[i]->pid, SIGKILL);
                    runs[i]->killed = true;
                }
            }
            usleep(20000);
            continue;
        }
        for (i = 0; i < next; i++) {
            if (runs[i]->pid == pid) {
                runs[i]->tool_status = status;
                runs[i]->seconds = now_s() - start[i];
                runs[i]->pid = 0;
                read_outcome(runs[i]);
                if (runs[i]->got == OC_CRASH) {
                    backtrace_of(runs[i], bin);
                }
                active--;
            }
        }
    }
}

static bool tool_ok(const Run *r)
{
    return WIFEXITED(r->tool_status) && WEXITSTATUS(r->tool_status) == 0 &&
           r->got != OC_NONE;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: qemu-hostile --tool MFCOLO_QEMU --data ROOT --expect DIR\n"
            "                    [--full] [--case NAME]... [--jobs N]\n"
            "                    [--timeout-ms N] [--tool-slack S] "
            "[--record FILE] [--keep DIR]\n");
    return 2;
}

static bool parse_args(int argc, char **argv, Opts *o)
{
    int a;

    memset(o, 0, sizeof(*o));
    o->jobs = 2;
    o->timeout_ms = 3000;
    o->tool_slack_s = TOOL_SLACK_S;
    for (a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;

        if (!strcmp(argv[a], "--full")) {
            o->full = true;
            continue;
        }
        if (!v) {
            return false;
        }
        if (!strcmp(argv[a], "--tool")) {
            o->tool = v;
        } else if (!strcmp(argv[a], "--data")) {
            o->data = v;
        } else if (!strcmp(argv[a], "--expect")) {
            o->expect = v;
        } else if (!strcmp(argv[a], "--record")) {
            o->record = v;
        } else if (!strcmp(argv[a], "--keep")) {
            o->keep = v;
        } else if (!strcmp(argv[a], "--jobs")) {
            o->jobs = atoi(v);
        } else if (!strcmp(argv[a], "--timeout-ms")) {
            o->timeout_ms = atoi(v);
        } else if (!strcmp(argv[a], "--tool-slack")) {
            o->tool_slack_s = atoi(v);
        } else if (!strcmp(argv[a], "--case") && o->nonly < MAX_CASES) {
            if (!hostile_case_find(v)) {
                fprintf(stderr, "qemu-hostile: unknown case %s\n", v);
                return false;
            }
            o->only[o->nonly++] = v;
        } else {
            return false;
        }
        a++;
    }
    return o->tool && o->data && o->expect && o->jobs > 0 && o->timeout_ms > 0;
}

int main(int argc, char **argv)
{
    static Run all[MAX_CASES];
    static HostileInput inputs[MAX_CASES];
    Run *runs[MAX_CASES], *again[MAX_CASES];
    HostileInput again_in[MAX_CASES];
    HostileRecording rec[HOSTILE_NRECORDINGS];
    const char *bin, *source;
    char why[512], vline[256], work[900], tool[PATH_MAX];
    QTestVersion v = { 0 };
    Expect e;
    Opts o;
    size_t n = 0, i, nagain = 0;
    bool gate = getenv("MFCOLO_QEMU_GATE") != NULL;
    int counts[5] = { 0 }, nnew = 0, nvanished = 0, failures = 0;
    double t0 = now_s();

    if (!parse_args(argc, argv, &o)) {
        return usage();
    }
    bin = qt_qemu_binary(&source);
    printf("qemu-binary: %s (%s)\n", bin, source);
    if (!qt_qemu_probe(bin, 10000, vline, sizeof(vline), why, sizeof(why))) {
        printf("FAIL: the QEMU under test cannot run: %s\n", why);
        return 1;
    }
    if (sscanf(strstr(vline, "version ") ? strstr(vline, "version ") + 8 : "",
               "%d.%d.%d", &v.major, &v.minor, &v.micro) != 3) {
        printf("FAIL: no version in \"%s\"\n", vline);
        return 1;
    }
    printf("qemu-version: %d.%d.%d (%s)\n", v.major, v.minor, v.micro, vline);
    if (access(o.tool, X_OK) != 0 || !realpath(o.tool, tool)) {
        printf("FAIL: %s: %s\n", o.tool, strerror(errno));
        return 1;
    }
    o.tool = tool; /* it runs in each case's directory */
    expect_load(&e, o.expect, &v);
    if (e.found) {
        printf("expectations: %s (%zu cases)\n", e.path, e.n);
    } else {
        printf("expectations: none for QEMU %d.%d.%d (no %s/qemu-%d.%d.%d.txt "
               "or qemu-%d.%d.txt): every crash or hang counts as new; "
               "record them with --record FILE after checking each one "
               "(docs/qemu-findings.md)\n",
               v.major, v.minor, v.micro, o.expect, v.major, v.minor, v.micro,
               v.major, v.minor);
    }
    for (i = 0; i < HOSTILE_NRECORDINGS; i++) {
        if (!hostile_recording_load(o.data, hostile_recordings[i], &rec[i], why,
                                    sizeof(why))) {
            printf("FAIL: %s\n", why);
            return 1;
        }
    }
    if (o.keep) {
        snprintf(work, sizeof(work), "%s", o.keep);
        mkdir(work, 0755);
    } else {
        snprintf(work, sizeof(work), "%s/mfcolo-hostile-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(work)) {
            printf("FAIL: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
    }
    for (i = 0; i < hostile_ncases() && n < MAX_CASES; i++) {
        const HostileCase *c = hostile_case(i);
        Run *r = &all[n];
        char *s;

        if (!picked(&o, c)) {
            continue;
        }
        r->c = c;
        snprintf(r->dir, sizeof(r->dir), "%s/%s", work, c->name);
        for (s = r->dir + strlen(work) + 1; *s; s++) {
            *s = *s == '/' ? '_' : *s;
        }
        hostile_make(c, &rec[hostile_recording_index(c->recording)],
                     &inputs[n]);
        if (!hostile_input_write(&inputs[n], r->dir, why, sizeof(why))) {
            printf("FAIL: %s\n", why);
            return 1;
        }
        mfcolo_verdict(r, &inputs[n]);
        /*
         * Gate mode (ci/qemu-gate, MFCOLO_QEMU_GATE=1) judges the binary's
         * raw behaviour: any crash or hang is worse than expected, whatever
         * its version's file records.
         */
        r->want = gate ? OC_FAILED : expect_of(&e, c->name);
        runs[n++] = r;
    }
    printf("cases: %zu (%s), %d at a time, bound %d ms after the last byte\n",
           n,
           o.nonly  ? "chosen"
           : o.full ? "full"
                    : "slice",
           o.jobs, o.timeout_ms);
    run_tool_all(&o, runs, n, inputs, bin);

    /* a worse outcome than recorded is run again, alone */
    for (i = 0; i < n; i++) {
        if (tool_ok(runs[i]) &&
            oc_rank(runs[i]->got) > oc_rank(runs[i]->want)) {
            again[nagain] = runs[i];
            again_in[nagain] = inputs[i];
            runs[i]->rerun = true;
            nagain++;
        }
    }
    if (nagain) {
        Opts one = o;

        one.jobs = 1;
        printf("re-running %zu case(s) that did worse than recorded, one at a "
               "time\n",
               nagain);
        run_tool_all(&one, again, nagain, again_in, bin);
    }

    printf("\nDifferential table (QEMU %d.%d.%d vs mfcolo on the same bytes)"
           "\n",
           v.major, v.minor, v.micro);
    printf("| %-28s | %-9s | %-60s | %-7s | %s\n", "case", "QEMU",
           "QEMU's message", "mfcolo", "mfcolo's error");
    for (i = 0; i < n; i++) {
        Run *r = runs[i];
        const char *msg = strchr(r->qemu_line, ':');
        const char *prefix = ": qemu-system-x86_64: ";

        if (msg && !strncmp(msg, prefix, strlen(prefix))) {
            msg += strlen(prefix);
        } else if (msg) {
            msg += 2;
        }
        printf("| %-28s | %-9s | %-60.60s | %-7s | %s\n", r->c->name,
               tool_ok(r) ? oc_names[r->got] : "TOOL-ERR",
               msg ? msg : r->detail, r->mf_status ? "rejects" : "accepts",
               r->mf_status ? r->mf_err : "");
    }
    printf("\nFull QEMU outcome lines:\n");
    for (i = 0; i < n; i++) {
        Run *r = runs[i];

        printf("  %s: outcome: %s (%.1f s%s)\n", r->c->name,
               r->qemu_line[0] ? r->qemu_line : "(none)", r->seconds,
               r->rerun ? ", re-run" : "");
        if (r->got == OC_CRASH) {
            printf("    backtrace:\n%s", r->bt[0] ? r->bt : "      (none)\n");
        }
        if (!tool_ok(r)) {
            printf("    mfcolo-qemu could not run (status 0x%x%s): see %s/"
                   "tool.log\n",
                   r->tool_status,
                   r->killed ? ", killed: it overran its own bounds" : "",
                   r->dir);
            failures++;
            o.keep = work;
        }
        counts[r->got]++;
    }
    printf("\ncounts: completed %d, failed %d, crash %d, hang %d\n",
           counts[OC_COMPLETED], counts[OC_FAILED], counts[OC_CRASH],
           counts[OC_HANG]);
    for (i = 0; i < n; i++) {
        Run *r = runs[i];

        if (!tool_ok(r)) {
            continue;
        }
        if (r->c->kind == HK_CLEAN && r->got != OC_COMPLETED) {
            printf("FAIL: control %s did not complete (%s): the destination "
                   "cannot load the recording at all\n",
                   r->c->name, r->qemu_line);
            failures++;
        } else if (oc_rank(r->got) > oc_rank(r->want)) {
            printf("NEW finding: %s: %s (recorded: %s)\n", r->c->name,
                   r->qemu_line, oc_names[r->want]);
            nnew++;
        } else if (oc_rank(r->got) < oc_rank(r->want)) {
            printf("VANISHED finding: %s: recorded %s, now %s\n", r->c->name,
                   oc_names[r->want], r->qemu_line);
            nvanished++;
        } else if (r->want != OC_NONE && r->got != r->want) {
            printf("changed (not a finding): %s: recorded %s, now %s\n",
                   r->c->name, oc_names[r->want], oc_names[r->got]);
        }
    }
    printf("new findings: %d, vanished findings: %d\n", nnew, nvanished);
    if (gate) {
        /* one check per case for ci/qemu-gate: pass unless crash or hang */
        for (i = 0; i < n; i++) {
            Run *r = runs[i];

            printf("gate-check: %s %s %s\n", r->c->name,
                   tool_ok(r) && oc_rank(r->got) == 0 ? "pass" : "fail",
                   r->qemu_line[0] ? r->qemu_line : "(no outcome)");
        }
    }
    if (o.record) {
        FILE *f = fopen(o.record, "w");

        if (!f) {
            printf("FAIL: %s: %s\n", o.record, strerror(errno));
            failures++;
        } else {
            fprintf(f,
                    "# Outcome class of each hostile case on QEMU %d.%d.%d"
                    "\n# (%s), recorded by qemu-hostile --record.\n"
                    "# crash and hang are findings: docs/"
                    "qemu-findings.md.\n",
                    v.major, v.minor, v.micro, vline);
            for (i = 0; i < n; i++) {
                fprintf(f, "%s %s\n", runs[i]->c->name, oc_names[runs[i]->got]);
            }
            fclose(f);
            printf("recorded: %s\n", o.record);
        }
    }
    printf("time: %.1f s\n", now_s() - t0);
    for (i = 0; i < n; i++) {
        hostile_input_free(&inputs[i]);
    }
    for (i = 0; i < HOSTILE_NRECORDINGS; i++) {
        hostile_recording_free(&rec[i]);
    }
    if (o.keep) {
        printf("inputs and logs kept in %s\n", work);
    } else {
        rm_tree(work);
    }
    if (nnew) {
        printf("FAIL: %d case(s) worse than recorded for QEMU %d.%d.%d\n", nnew,
               v.major, v.minor, v.micro);
    }
    return nnew || failures ? 1 : 0;
}
