/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Black-box faults: mfcolo-replay under `fiu-run -x` (libfiu's POSIX
 * preload), reading streams of the fake primary.  Each run enables POSIX
 * points (read, open, write, malloc, calloc, mmap, recv) with the errno
 * pinned through failinfo, or at random with a fixed FIU_PRNG_SEED.  The
 * program must succeed or exit 1..125 with exactly one line on stderr;
 * never a signal, never a hang.  EINTR is not an error: runs that only
 * inject EINTR must succeed with the fault-free output.
 *
 *   faults-blackbox FIU-RUN MFCOLO-REPLAY [--full] [--verbose]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "primary.h"

#define DEADLINE_MS 20000

typedef enum BbOutcome {
    BB_SUCCESS,
    BB_CLEAN_ERROR, /* 1..125 and one stderr line */
    BB_UNCLEAR,     /* other status, or not exactly one line */
    BB_CRASH,
    BB_HANG,
    BB_MISMATCH, /* an EINTR-only run failed or printed otherwise */
    BB_COUNT,
} BbOutcome;

static const char *const bb_names[BB_COUNT] = {
    "success", "clean-error", "unclear", "crash", "hang", "mismatch",
};

typedef struct BbConfig {
    const char *cls;     /* row of the table */
    const char *control; /* fiu-run -c argument; NULL: no fault */
    bool random;         /* run once per seed */
    bool dump;           /* add --dump DIR (exercises write/open) */
    bool must_succeed;   /* EINTR only */
} BbConfig;

static const BbConfig configs[] = {
    { "none", NULL, false, false, true },
    { "read EIO", "enable name=posix/io/rw/read,failinfo=5", false, false,
      false },
    { "read EINTR 1x",
      "enable name=posix/io/rw/read,failinfo=4,failnum=1,"
      "flags=one",
      false, false, true },
    { "read EINTR random",
      "enable_random name=posix/io/rw/read,"
      "probability=0.5,failinfo=4",
      true, false, true },
    { "open ENOENT", "enable name=posix/io/oc/open,failinfo=2", false, false,
      false },
    { "open EMFILE dump", "enable name=posix/io/oc/open,failinfo=24", false,
      true, false },
    { "write ENOSPC dump", "enable name=posix/io/rw/write,failinfo=28", false,
      true, false },
    { "malloc NULL", "enable name=libc/mm/malloc,failinfo=12", false, false,
      false },
    { "calloc NULL", "enable name=libc/mm/calloc,failinfo=12", false, false,
      false },
    { "mmap ENOMEM", "enable name=posix/mm/mmap,failinfo=12", false, false,
      false },
    { "recv ECONNRESET", "enable name=posix/io/net/recv,failinfo=104", false,
      false, false },
    { "random read EIO",
      "enable_random name=posix/io/rw/read,"
      "probability=0.3,failinfo=5",
      true, false, false },
    { "random malloc",
      "enable_random name=libc/mm/malloc,"
      "probability=0.3,failinfo=12",
      true, false, false },
    { "random calloc",
      "enable_random name=libc/mm/calloc,"
      "probability=0.05,failinfo=12",
      true, false, false },
    { "random open+write dump",
      "enable_random name=posix/io/oc/open,"
      "probability=0.2,failinfo=5",
      true, true, false },
    { "random write dump",
      "enable_random name=posix/io/rw/write,"
      "probability=0.2,failinfo=5",
      true, true, false },
};

typedef struct Bb {
    const char *fiu_run;
    const char *replay;
    char dir[64];
    char files[8][96];
    size_t nfiles;
    char *baseline; /* stdout of the fault-free run */
    bool verbose;
} Bb;

static void die(const char *what)
{
    perror(what);
    exit(99);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET)) {
        die(path);
    }
    buf = calloc(1, (size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        die(path);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
        die(path);
    }
}

/* A COLO run: 2 multifd channels, zstd, precopy + 2 checkpoints. */
static void make_streams(Bb *bb)
{
    MemImage *img = mem_image_new(4096);
    PrimaryConfig cfg;
    Primary *p;
    size_t i;
    int k;

    mem_image_add(img, "pc.ram", 48 * 4096);
    mem_image_add(img, "pc.bios", 4 * 4096);
    for (i = 0; i < 48; i += 2) {
        memset(mem_image_page(img, 0, i), (int)i + 1, 4096);
    }
    primary_config_init(&cfg, PRIMARY_QEMU_9, 2, WIRE_COMP_ZSTD);
    cfg.max_packet_pages = 8;
    cfg.device_section = true;
    cfg.vmdesc = true;
    cfg.keep_images = false;
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(p);
    for (k = 0; k < 2; k++) {
        for (i = (size_t)k; i < 48; i += 3) {
            memset(mem_image_page(primary_memory(p), 0, i), 0x50 + k, 4096);
            page_set_add(primary_dirty(p), 0, i);
        }
        primary_checkpoint(p);
    }
    for (i = 0; i < primary_nconns(p); i++) {
        const PrimaryConn *c = primary_conn(p, i);

        snprintf(bb->files[i], sizeof(bb->files[i]), "%s/conn%zu.bin", bb->dir,
                 i);
        write_file(bb->files[i], c->buf.data, c->buf.len);
    }
    bb->nfiles = primary_nconns(p);
    primary_free(p);
}

static void rm_rf_dump(const Bb *bb)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s/dump'", bb->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot clean %s/dump\n", bb->dir);
    }
}

static int count_lines(const char *s, size_t len)
{
    int n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        n += s[i] == '\n';
    }
    if (len && s[len - 1] != '\n') {
        n += 100; /* a line without its end is not a clear line */
    }
    return n;
}

static BbOutcome run(Bb *bb, const BbConfig *c, unsigned seed, char *why,
                     size_t why_len)
{
    char out[96], err[96], dump[80], seedbuf[16];
    const char *argv[32];
    size_t i, a = 0, olen, elen;
    struct timespec tick = { 0, 5 * 1000 * 1000 };
    int st = 0, ms;
    pid_t pid;
    char *o, *e;
    BbOutcome r;

    snprintf(out, sizeof(out), "%s/stdout", bb->dir);
    snprintf(err, sizeof(err), "%s/stderr", bb->dir);
    snprintf(dump, sizeof(dump), "%s/dump", bb->dir);
    snprintf(seedbuf, sizeof(seedbuf), "%u", seed);
    rm_rf_dump(bb);
    if (c->dump && mkdir(dump, 0700) < 0) {
        die(dump);
    }
    if (c->control) {
        argv[a++] = bb->fiu_run;
        argv[a++] = "-x";
        argv[a++] = "-c";
        argv[a++] = c->control;
    }
    argv[a++] = bb->replay;
    argv[a++] = "--main";
    argv[a++] = bb->files[0];
    for (i = 1; i < bb->nfiles; i++) {
        argv[a++] = "--channel";
        argv[a++] = bb->files[i];
    }
    argv[a++] = "--compression";
    argv[a++] = "zstd";
    argv[a++] = "--sync";
    argv[a++] = "auto";
    if (c->dump) {
        argv[a++] = "--dump";
        argv[a++] = dump;
    }
    argv[a] = NULL;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        die("fork");
    }
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) {
            _exit(126);
        }
        setenv("FIU_PRNG_SEED", seedbuf, 1);
        /* An ASan build must accept the preload libraries before it. */
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (ms = 0; ms < DEADLINE_MS * (getenv("MFCOLO_UNDER_VALGRIND") ? 5 : 1);
         ms += 5) {
        pid_t w = waitpid(pid, &st, WNOHANG);

        if (w == pid) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            die("waitpid");
        }
        nanosleep(&tick, NULL);
    }
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        snprintf(why, why_len, "no exit within %d ms", DEADLINE_MS);
        return BB_HANG;
    }
    o = slurp(out, &olen);
    e = slurp(err, &elen);
    why[0] = 0;
    if (WIFSIGNALED(st)) {
        snprintf(why, why_len, "signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
        r = BB_CRASH;
    } else if (WEXITSTATUS(st) == 0) {
        r = BB_SUCCESS;
        if (bb->baseline && strcmp(o, bb->baseline) && !c->dump) {
            snprintf(why, why_len, "exit 0 but output differs");
            r = BB_MISMATCH;
        }
    } else if (WEXITSTATUS(st) <= 125 && count_lines(e, elen) == 1) {
        snprintf(why, why_len, "exit %d: %.*s", WEXITSTATUS(st),
                 (int)(elen - 1), e);
        r = BB_CLEAN_ERROR;
    } else {
        snprintf(why, why_len, "exit %d, %d stderr lines: %.200s",
                 WEXITSTATUS(st), count_lines(e, elen), e);
        r = BB_UNCLEAR;
    }
    if (c->must_succeed && r != BB_SUCCESS) {
        r = BB_MISMATCH;
    }
    if (!bb->baseline && r == BB_SUCCESS && !c->control) {
        bb->baseline = o;
    } else {
        free(o);
    }
    free(e);
    return r;
}

int main(int argc, char **argv)
{
    Bb bb = { 0 };
    unsigned seeds = 8, seed;
    unsigned long tally[BB_COUNT] = { 0 }, runs = 0, bad = 0;
    size_t i;
    int k;

    if (argc < 3) {
        fprintf(stderr, "usage: faults-blackbox FIU-RUN MFCOLO-REPLAY "
                        "[--full] [--verbose]\n");
        return 2;
    }
    bb.fiu_run = argv[1];
    bb.replay = argv[2];
    for (k = 3; k < argc; k++) {
        if (!strcmp(argv[k], "--full")) {
            seeds = 100;
        } else if (!strcmp(argv[k], "--verbose")) {
            bb.verbose = true;
        }
    }
    if (getenv("MFCOLO_UNDER_VALGRIND")) {
        seeds = 3;
    }
    snprintf(bb.dir, sizeof(bb.dir), "/tmp/mfcolo-blackbox-XXXXXX");
    if (!mkdtemp(bb.dir)) {
        die("mkdtemp");
    }
    make_streams(&bb);
    printf("%-26s %5s", "class", "runs");
    for (k = 0; k < BB_COUNT; k++) {
        printf(" %11s", bb_names[k]);
    }
    printf("\n");
    for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        const BbConfig *c = &configs[i];
        unsigned long row[BB_COUNT] = { 0 }, n = 0;

        for (seed = 1; seed <= (c->random ? seeds : 1); seed++) {
            char why[400];
            BbOutcome r = run(&bb, c, seed, why, sizeof(why));

            row[r]++;
            n++;
            if (r != BB_SUCCESS && r != BB_CLEAN_ERROR) {
                bad++;
                printf("FAIL %s: %s seed %u: %s\n  reproduce: "
                       "FIU_PRNG_SEED=%u fiu-run -x -c '%s' mfcolo-replay "
                       "...\n",
                       bb_names[r], c->cls, seed, why, seed,
                       c->control ? c->control : "");
            } else if (bb.verbose) {
                printf("  %s seed %u: %s %s\n", c->cls, seed, bb_names[r], why);
            }
            if (!c->control && r != BB_SUCCESS) {
                fprintf(stderr, "fault-free replay failed: %s\n", why);
                return 1;
            }
        }
        printf("%-26s %5lu", c->cls, n);
        for (k = 0; k < BB_COUNT; k++) {
            printf(" %11lu", row[k]);
            tally[k] += row[k];
        }
        printf("\n");
        runs += n;
    }
    printf("%-26s %5lu", "TOTAL", runs);
    for (k = 0; k < BB_COUNT; k++) {
        printf(" %11lu", tally[k]);
    }
    printf("\n%lu runs, %lu bad\n", runs, bad);
    rm_rf_dump(&bb);
    for (i = 0; i < bb.nfiles; i++) {
        unlink(bb.files[i]);
    }
    {
        char p[128];

        snprintf(p, sizeof(p), "%s/stdout", bb.dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/stderr", bb.dir);
        unlink(p);
    }
    rmdir(bb.dir);
    free(bb.baseline);
    return bad ? 1 : 0;
}
