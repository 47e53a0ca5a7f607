/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-qemu send, checked end to end ($MFCOLO_QEMU_TOOL, the QEMU of
 * qt_qemu_binary()):
 *
 *   test-send capture DIR COMPRESSION [x-colo]
 *       a recorded stream of the binary's own version (tests/data/
 *       qemu-M.m.u/DIR, else qemu-M.m/DIR: conn-0.bin main, conn-1.bin,
 *       conn-2.bin channels; the destination's -global settings from its
 *       cmdlines.txt) completes, and the dumped pc.ram and pc.bios equal
 *       the recording's ground truth (expected-ramblocks.json,
 *       DIR/dumps.json and the guest-physical dump it names, compared
 *       outside the VGA window 0xa0000-0xfffff)
 *   test-send hang
 *       the nocomp-2ch stream with a multifd channel cut short: QEMU (7.2
 *       and 10.0.2) never finishes; the tool says "outcome: hang" within its bound
 *       and its QEMU is gone (killed by pid, reaped)
 *   test-send no-binary
 *       --qemu naming a missing file: exit status 1 and the exact reason
 *   test-send bad-args
 *       a missing stream file, a bad --compression, a bad --timeout-ms:
 *       exit status 2 and the exact message
 *   test-send failed, test-send crash
 *       the other two outcomes (see their functions)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef MFCOLO_HAVE_ZSTD
#include <zstd.h>
#endif

#include "libqtest.h"
#include "qemu-backend.h"
#include "sha256.h"

typedef struct ToolRun {
    int status;
    int64_t ms;
    char *out; /* stdout and stderr */
    char last[1024];
} ToolRun;

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    qt_assert(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        qt_fail("%s: short read", path);
    }
    buf[n] = '\0';
    fclose(f);
    if (len) {
        *len = (size_t)n;
    }
    return buf;
}

/* The longest a run of the tool may take (normally 2 s or less; it
 * bounds its own waits, so this is the backstop; 60 s leaves room for a
 * coverage build on a loaded machine). */
#define TOOL_BOUND_MS 60000

/*
 * Run the tool with @argv (NULL-terminated, argv[0] ignored).  With
 * @trigger, create that file as soon as the tool printed "sent: ".
 */
static void run_tool_trigger(char **argv, ToolRun *r, const char *trigger)
{
    const char *tool = getenv("MFCOLO_QEMU_TOOL");
    char out[4200];
    int64_t t0 = ms_now();
    pid_t pid;
    char *nl;
    char *end;

    qt_check(tool, "MFCOLO_QEMU_TOOL is not set (run through meson test)");
    snprintf(out, sizeof(out), "%s/tool.out", qt_tmpdir());
    argv[0] = (char *)tool;
    pid = fork();
    qt_check(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(tool, argv);
        _exit(127);
    }
    for (;;) {
        pid_t w = waitpid(pid, &r->status, WNOHANG);
        char *so_far;

        if (w == pid || (w < 0 && errno != EINTR)) {
            break;
        }
        if (ms_now() - t0 > TOOL_BOUND_MS) {
            /* The tool bounds its own waits; this bounds the tool. */
            kill(pid, SIGKILL);
            waitpid(pid, &r->status, 0);
            qt_fail("watchdog: mfcolo-qemu (pid %ld) still running after "
                    "%d ms (waitpid)",
                    (long)pid, TOOL_BOUND_MS);
        }
        so_far = trigger ? slurp(out, NULL) : NULL;
        if (so_far && strstr(so_far, "\nsent: ")) {
            FILE *t = fopen(trigger, "w");

            qt_check(t, "%s: %s", trigger, strerror(errno));
            fclose(t);
            trigger = NULL;
        }
        free(so_far);
        usleep(10000);
    }
    r->ms = ms_now() - t0;
    r->out = slurp(out, NULL);
    qt_check(r->out, "%s: %s", out, strerror(errno));
    fprintf(stderr, "%s", r->out);
    end = r->out + strlen(r->out);
    while (end > r->out && end[-1] == '\n') {
        end--;
    }
    for (nl = end; nl > r->out && nl[-1] != '\n'; nl--) {
    }
    snprintf(r->last, sizeof(r->last), "%.*s", (int)(end - nl), nl);
}

static void run_tool(char **argv, ToolRun *r)
{
    run_tool_trigger(argv, r, NULL);
}

static const char *data_root(void)
{
    const char *root = getenv("MFCOLO_DATA_ROOT");

    qt_check(root, "MFCOLO_DATA_ROOT is not set (run through meson test)");
    return root;
}

static void sha_hex(const void *data, size_t len, char hex[65])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    int i;

    sha256_digest(data, len, d);
    for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
        sprintf(hex + 2 * i, "%02x", d[i]);
    }
}

#ifdef MFCOLO_HAVE_ZSTD
/* Guest-physical dump vs pc.ram outside 0xa0000-0xfffff: first byte. */
static void compare_physical(const char *dir, const json_t *dumps,
                             const uint8_t *ram, size_t ram_len)
{
    json_t *d = json_object_get(dumps, "dst-ram.bin");
    const char *file = json_string_value(json_object_get(d, "file"));
    char path[4400];
    size_t zlen;
    char *z;
    uint8_t *phys;
    unsigned long long n;
    size_t i;

    qt_check(file, "%s/dumps.json: no dst-ram.bin file", dir);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (access(path, R_OK) < 0) {
        /* 7.2's dumps.json names them as in the recording's own tree;
         * they live in the version folder's dumps/ (its README.md) */
        file = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        snprintf(path, sizeof(path), "%s/../dumps/%s", dir, file);
    }
    z = slurp(path, &zlen);
    qt_check(z, "%s: %s", path, strerror(errno));
    n = ZSTD_getFrameContentSize(z, zlen);
    qt_check(n == ram_len, "%s: %llu bytes, pc.ram %zu", path, n, ram_len);
    phys = malloc(ram_len);
    qt_assert(phys);
    qt_check(ZSTD_decompress(phys, ram_len, z, zlen) == ram_len,
             "%s: does not decompress", path);
    for (i = 0; i < ram_len; i++) {
        if (i == 0xa0000) {
            i = 0xfffff;
            continue;
        }
        qt_check(phys[i] == ram[i],
                 "pc.ram page 0x%zx, byte 0x%zx: 0x%02x, the recording's "
                 "destination had 0x%02x",
                 i & ~(size_t)4095, i & 4095, ram[i], phys[i]);
    }
    free(phys);
    free(z);
    qt_log("pc.ram equals %s outside 0xa0000-0xfffff", file);
}
#endif

static void check_file_sha(const char *path, size_t want_len,
                           const char *want_sha, const char *what)
{
    size_t len = 0;
    char *buf = slurp(path, &len);
    char hex[65];

    qt_check(buf, "%s: %s", path, strerror(errno));
    qt_check(len == want_len, "%s: %zu bytes, %s has %zu", path, len, what,
             want_len);
    sha_hex(buf, len, hex);
    qt_check(!strcmp(hex, want_sha), "%s: sha256 %s, %s %s", path, hex, what,
             want_sha);
    free(buf);
}

/* The data folder of the binary's version: qemu-M.m.u, else qemu-M.m. */
static void version_dir(char *buf, size_t size)
{
    char line[160];
    char why[512];
    int v[3];
    int i;

    qt_check(qt_qemu_probe(qt_qemu_binary(NULL), 10000, line, sizeof(line), why,
                           sizeof(why)),
             "%s", why);
    qt_check(sscanf(line, "QEMU emulator version %d.%d.%d", &v[0], &v[1],
                    &v[2]) == 3,
             "-version: '%s'", line);
    for (i = 0; i < 2; i++) {
        if (i == 0) {
            snprintf(buf, size, "%s/qemu-%d.%d.%d", data_root(), v[0], v[1],
                     v[2]);
        } else {
            snprintf(buf, size, "%s/qemu-%d.%d", data_root(), v[0], v[1]);
        }
        if (access(buf, R_OK) == 0) {
            return;
        }
    }
    qt_fail("no recording of %s under %s (qemu-%d.%d.%d/ or qemu-%d.%d/)", line,
            data_root(), v[0], v[1], v[2], v[0], v[1]);
}

/* "-global X" pairs of the DESTINATION line of DIR/cmdlines.txt. */
static int dst_globals(const char *dir, char **argv, int argc, int max)
{
    char path[4400];
    char *text;
    char *dst;
    char *save = NULL;
    char *tok;
    bool next = false;

    snprintf(path, sizeof(path), "%s/cmdlines.txt", dir);
    text = slurp(path, NULL);
    qt_check(text, "%s: %s", path, strerror(errno));
    dst = strstr(text, "DESTINATION:");
    qt_check(dst, "%s: no DESTINATION line", path);
    dst += strlen("DESTINATION:");
    dst += strspn(dst, "\n");
    dst[strcspn(dst, "\n")] = '\0'; /* the line after the label */
    for (tok = strtok_r(dst, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (next) {
            qt_check(argc + 4 < max, "too many -global");
            argv[argc++] = "--qemu-arg";
            argv[argc++] = "-global";
            argv[argc++] = "--qemu-arg";
            argv[argc++] = strdup(tok);
        }
        next = !strcmp(tok, "-global");
    }
    free(text);
    return argc;
}

/*
 * With @colo_cap the destination has the x-colo capability on while the
 * stream is a plain precopy that never sends ENABLE_COLO: QEMU must load
 * it as a plain precopy (it allocates the COLO cache only when the main
 * channel enables COLO), so the outcome and memory are those of the
 * capture.  The seed commit's multifd_ram_unfill_packet() asserts that
 * the cache exists whenever migrate_colo() is on: a peer reaches that
 * assert (docs/qemu-findings.md, S1).
 */
static int test_capture(const char *name, const char *comp, bool colo_cap)
{
    char vdir[4200];
    char dir[4300];
    char f[3][4400];
    char dump[4200];
    char path[4400];
    char *argv[40];
    int argc;
    json_error_t err;
    json_t *exp;
    json_t *dumps;
    json_t *pcram;
    json_t *bios;
    ToolRun r;
    int i;

    version_dir(vdir, sizeof(vdir));
    snprintf(dir, sizeof(dir), "%s/%s", vdir, name);
    for (i = 0; i < 3; i++) {
        snprintf(f[i], sizeof(f[i]), "%s/conn-%d.bin", dir, i);
    }
    snprintf(dump, sizeof(dump), "%s/dump", qt_tmpdir());
    argv[1] = "send";
    argv[2] = "--qemu";
    argv[3] = (char *)qt_qemu_binary(NULL);
    argv[4] = "--main";
    argv[5] = f[0];
    argv[6] = "--channel";
    argv[7] = f[1];
    argv[8] = "--channel";
    argv[9] = f[2];
    argv[10] = "--compression";
    argv[11] = (char *)comp;
    argv[12] = "--dump";
    argv[13] = dump;
    argc = dst_globals(dir, argv, 14, 35);
    if (colo_cap) {
        argv[argc++] = "--qemu-arg";
        argv[argc++] = "-global";
        argv[argc++] = "--qemu-arg";
        argv[argc++] = "migration.x-colo=on";
    }
    argv[argc] = NULL;
    run_tool(argv, &r);
    qt_check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
             "mfcolo-qemu ended with status 0x%x", r.status);
    qt_check(!strcmp(r.last, "outcome: completed"),
             "the last line is '%s', not 'outcome: completed'", r.last);
    qt_check(strstr(r.out, "qemu-version: QEMU emulator version "),
             "no qemu-version line");

    snprintf(path, sizeof(path), "%s/expected-ramblocks.json", vdir);
    exp = json_load_file(path, 0, &err);
    qt_check(exp, "%s: %s", path, err.text);
    pcram = json_object_get(json_object_get(exp, "ramblocks"), "pc.ram");
    snprintf(path, sizeof(path), "%s/pc.ram.bin", dump);
    check_file_sha(
        path, (size_t)json_integer_value(json_object_get(pcram, "used_length")),
        json_string_value(json_object_get(pcram, "sha256")),
        "expected-ramblocks.json pc.ram");
    snprintf(path, sizeof(path), "%s/dumps.json", dir);
    dumps = json_load_file(path, 0, &err);
    qt_check(dumps, "%s: %s", path, err.text);
    bios = json_object_get(dumps, "dst-bios-fffc0000.bin");
    snprintf(path, sizeof(path), "%s/pc.bios.bin", dump);
    check_file_sha(path,
                   (size_t)json_integer_value(json_object_get(bios, "size")),
                   json_string_value(json_object_get(bios, "sha256")),
                   "dumps.json dst-bios-fffc0000.bin");
#ifdef MFCOLO_HAVE_ZSTD
    {
        size_t len;
        char *ram;

        snprintf(path, sizeof(path), "%s/pc.ram.bin", dump);
        ram = slurp(path, &len);
        qt_check(ram, "%s: %s", path, strerror(errno));
        compare_physical(dir, dumps, (uint8_t *)ram, len);
        free(ram);
    }
#endif
    json_decref(dumps);
    json_decref(exp);
    for (i = 14; i < argc - (colo_cap ? 4 : 0); i++) {
        if (strcmp(argv[i], "--qemu-arg") && strcmp(argv[i], "-global")) {
            free(argv[i]);
        }
    }
    printf("ok send/capture %s (%s%s): completed in %" PRId64
           " ms, pc.ram and pc.bios equal the ground truth\n",
           name, comp, colo_cap ? ", x-colo on, no ENABLE_COLO" : "", r.ms);
    free(r.out);
    return 0;
}

static int test_hang(void)
{
    char vdir[4200];
    char dir[4300];
    char f[3][4400];
    char cut[4400];
    char *argv[40];
    int argc;
    const char *pidline;
    size_t len;
    char *data;
    FILE *o;
    long pid;
    ToolRun r;
    int i;

    version_dir(vdir, sizeof(vdir));
    snprintf(dir, sizeof(dir), "%s/nocomp-2ch", vdir);
    for (i = 0; i < 3; i++) {
        snprintf(f[i], sizeof(f[i]), "%s/conn-%d.bin", dir, i);
    }
    /* channel conn-1 cut after 2852 bytes: in 7.2's capture the
     * handshake (64), a SYNC (1344), a header and 100 bytes of the first
     * page payload; in 10.0.2's inside its second packet */
    data = slurp(f[1], &len);
    qt_check(data && len > 64 + 1344 + 1344 + 100, "%s", f[1]);
    snprintf(cut, sizeof(cut), "%s/conn-1.cut.bin", qt_tmpdir());
    o = fopen(cut, "wb");
    qt_check(o && fwrite(data, 1, 64 + 1344 + 1344 + 100, o) ==
                      64 + 1344 + 1344 + 100,
             "%s: cannot write", cut);
    fclose(o);
    free(data);
    argv[1] = "send";
    argv[2] = "--qemu";
    argv[3] = (char *)qt_qemu_binary(NULL);
    argv[4] = "--main";
    argv[5] = f[0];
    argv[6] = "--channel";
    argv[7] = cut;
    argv[8] = "--channel";
    argv[9] = f[2];
    argv[10] = "--compression";
    argv[11] = "none";
    argv[12] = "--timeout-ms";
    argv[13] = "1000";
    argc = dst_globals(dir, argv, 14, 39);
    argv[argc] = NULL;
    run_tool(argv, &r);
    qt_check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
             "mfcolo-qemu ended with status 0x%x", r.status);
    qt_check(!strncmp(r.last, "outcome: hang", 13),
             "the last line is '%s', not 'outcome: hang...'", r.last);
    pidline = strstr(r.out, "qemu-pid: ");
    qt_check(pidline && sscanf(pidline, "qemu-pid: %ld", &pid) == 1 && pid > 0,
             "no qemu-pid line");
    qt_check(strstr(r.out, "qemu-killed: pid "), "no qemu-killed line");
    qt_check(kill((pid_t)pid, 0) < 0 && errno == ESRCH,
             "QEMU pid %ld still exists after the tool ended", pid);
    /* start (~1 s) + send + the 1 s bound + kill: well under 8 s */
    qt_check(r.ms < 8000, "the tool took %" PRId64 " ms", r.ms);
    for (i = 14; i < argc; i++) {
        if (strcmp(argv[i], "--qemu-arg") && strcmp(argv[i], "-global")) {
            free(argv[i]);
        }
    }
    printf("ok send/hang: '%s' after %" PRId64 " ms, pid %ld gone\n", r.last,
           r.ms, pid);
    free(r.out);
    return 0;
}

/* @src with its first @n bytes replaced by @with, as a new file. */
static void write_patched(const char *src, const char *dst, const char *with,
                          size_t n, size_t keep)
{
    size_t len;
    char *data = slurp(src, &len);
    FILE *o;

    qt_check(data && len >= keep && keep >= n, "%s", src);
    memcpy(data, with, n);
    o = fopen(dst, "wb");
    qt_check(o && fwrite(data, 1, keep, o) == keep, "%s: cannot write", dst);
    fclose(o);
    free(data);
}

/*
 * The main channel with a bad magic and no multifd: QEMU says so and
 * exits 1: "outcome: failed: MESSAGE" with its message.
 */
static int test_failed(void)
{
    char vdir[4200];
    char f[4400];
    char bad[4400];
    char *argv[12];
    const char *msg;
    ToolRun r;

    version_dir(vdir, sizeof(vdir));
    snprintf(f, sizeof(f), "%s/nocomp-2ch/conn-0.bin", vdir);
    snprintf(bad, sizeof(bad), "%s/main.badmagic.bin", qt_tmpdir());
    write_patched(f, bad, "XXXX", 4, 4096);
    argv[1] = "send";
    argv[2] = "--qemu";
    argv[3] = (char *)qt_qemu_binary(NULL);
    argv[4] = "--main";
    argv[5] = bad;
    argv[6] = "--compression";
    argv[7] = "none";
    argv[8] = NULL;
    run_tool(argv, &r);
    qt_check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
             "mfcolo-qemu ended with status 0x%x", r.status);
    qt_check(!strncmp(r.last, "outcome: failed: ", 17),
             "the last line is '%s', not 'outcome: failed: MESSAGE'", r.last);
    msg = r.last + 17;
    qt_check(strstr(msg, "load of migration failed"),
             "QEMU's message '%s' is not its load failure", msg);
    qt_check(strstr(r.out, "qemu-exit: status 1\n"),
             "no 'qemu-exit: status 1' line");
    printf("ok send/failed: '%s'\n", r.last);
    free(r.out);
    return 0;
}

/*
 * A "QEMU" that dies of SIGSEGV while the stream waits: a wrapper
 * script around the real binary, triggered once the tool sent the bytes.
 * "outcome: crash SIGSEGV: LAST STDERR LINE".
 */
static int test_crash(void)
{
    char vdir[4200];
    char dir[4300];
    char f[3][4400];
    char cut[4400];
    char fake[4400];
    char trigger[4400];
    char *argv[40];
    const char *want = "outcome: crash SIGSEGV: fake-qemu: simulated crash";
    FILE *o;
    ToolRun r;
    int argc;
    int i;

    version_dir(vdir, sizeof(vdir));
    for (i = 0; i < 3; i++) {
        snprintf(f[i], sizeof(f[i]), "%s/nocomp-2ch/conn-%d.bin", vdir, i);
    }
    snprintf(cut, sizeof(cut), "%s/conn-1.cut.bin", qt_tmpdir());
    write_patched(f[1], cut, "", 0, 2852);
    snprintf(trigger, sizeof(trigger), "%s/crash-now", qt_tmpdir());
    snprintf(fake, sizeof(fake), "%s/fake-qemu", qt_tmpdir());
    o = fopen(fake, "w");
    qt_check(o, "%s: %s", fake, strerror(errno));
    /* exec keeps the pid: the tool's child is the real QEMU, and a
     * watcher sends it SIGSEGV once the trigger file exists */
    fprintf(o,
            "#!/bin/sh\n"
            "ulimit -c 0\n"
            "[ \"$1\" = -version ] && exec '%s' -version\n"
            "me=$$\n"
            "(while [ ! -e '%s' ]; do\n"
            "   kill -0 $me 2>/dev/null || exit 0\n"
            "   sleep 0.02\n"
            " done\n"
            " echo 'fake-qemu: simulated crash' >&2\n"
            " kill -SEGV $me) &\n"
            "exec '%s' \"$@\"\n",
            qt_qemu_binary(NULL), trigger, qt_qemu_binary(NULL));
    fclose(o);
    qt_check(chmod(fake, 0700) == 0, "chmod: %s", strerror(errno));
    argv[1] = "send";
    argv[2] = "--qemu";
    argv[3] = fake;
    argv[4] = "--main";
    argv[5] = f[0];
    argv[6] = "--channel";
    argv[7] = cut;
    argv[8] = "--channel";
    argv[9] = f[2];
    argv[10] = "--compression";
    argv[11] = "none";
    argv[12] = "--timeout-ms";
    argv[13] = "8000";
    snprintf(dir, sizeof(dir), "%s/nocomp-2ch", vdir);
    argc = dst_globals(dir, argv, 14, 39);
    argv[argc] = NULL;
    run_tool_trigger(argv, &r, trigger);
    qt_check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
             "mfcolo-qemu ended with status 0x%x", r.status);
    qt_check(!strcmp(r.last, want), "the last line is '%s', not '%s'", r.last,
             want);
    qt_check(r.ms < 8000, "the crash was seen after %" PRId64 " ms", r.ms);
    for (i = 14; i < argc; i++) {
        if (strcmp(argv[i], "--qemu-arg") && strcmp(argv[i], "-global")) {
            free(argv[i]);
        }
    }
    printf("ok send/crash: '%s' after %" PRId64 " ms\n", r.last, r.ms);
    free(r.out);
    return 0;
}

static int test_no_binary(void)
{
    char missing[4300];
    char want[4500];
    char *argv[10];
    char f[4400];
    ToolRun r;

    snprintf(missing, sizeof(missing), "%s/no-such-qemu", qt_tmpdir());
    snprintf(f, sizeof(f), "%s/qemu-7.2/nocomp-2ch/conn-0.bin", data_root());
    argv[1] = "send";
    argv[2] = "--qemu";
    argv[3] = missing;
    argv[4] = "--main";
    argv[5] = f;
    argv[6] = "--compression";
    argv[7] = "none";
    argv[8] = NULL;
    run_tool(argv, &r);
    snprintf(want, sizeof(want),
             "mfcolo-qemu: cannot run QEMU (from --qemu): %s does not exist",
             missing);
    qt_check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1,
             "status 0x%x, not exit 1", r.status);
    qt_check(!strcmp(r.last, want), "the last line is '%s', not '%s'", r.last,
             want);
    free(r.out);
    printf("ok send/no-binary\n");
    return 0;
}

/* Exit 2 and the exact first line for bad arguments (no QEMU runs). */
static int test_bad_args(void)
{
    char missing[4300];
    char f[4400];
    char want[4500];
    char *argv[10];
    ToolRun r;
    int k;

    snprintf(missing, sizeof(missing), "%s/no-such-stream.bin", qt_tmpdir());
    snprintf(f, sizeof(f), "%s/qemu-7.2/nocomp-2ch/conn-0.bin", data_root());
    for (k = 0; k < 3; k++) {
        argv[1] = "send";
        argv[2] = "--main";
        argv[3] = k == 0 ? missing : f;
        argv[4] = "--compression";
        argv[5] = k == 1 ? "lz4" : "none";
        argv[6] = k == 2 ? "--timeout-ms" : NULL;
        argv[7] = "0";
        argv[8] = NULL;
        if (k == 0) {
            snprintf(want, sizeof(want),
                     "mfcolo-qemu: %s: cannot open: No such file or "
                     "directory\n",
                     missing);
        } else if (k == 1) {
            snprintf(want, sizeof(want),
                     "mfcolo-qemu: --compression lz4: not none, zstd or "
                     "zlib\n");
        } else {
            snprintf(want, sizeof(want),
                     "mfcolo-qemu: --timeout-ms 0: not a number of ms in "
                     "1..3600000\n");
        }
        run_tool(argv, &r);
        qt_check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2,
                 "case %d: status 0x%x, not exit 2", k, r.status);
        qt_check(!strncmp(r.out, want, strlen(want)),
                 "case %d: the output starts '%.200s', not '%s'", k, r.out,
                 want);
        free(r.out);
    }
    printf("ok send/bad-args\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "capture")) {
        return test_capture(argv[2], argv[3], false);
    } else if (argc == 5 && !strcmp(argv[1], "capture") &&
               !strcmp(argv[4], "x-colo")) {
        return test_capture(argv[2], argv[3], true);
    } else if (argc == 2 && !strcmp(argv[1], "hang")) {
        return test_hang();
    } else if (argc == 2 && !strcmp(argv[1], "no-binary")) {
        return test_no_binary();
    } else if (argc == 2 && !strcmp(argv[1], "bad-args")) {
        return test_bad_args();
    } else if (argc == 2 && !strcmp(argv[1], "failed")) {
        return test_failed();
    } else if (argc == 2 && !strcmp(argv[1], "crash")) {
        return test_crash();
    }
    fprintf(stderr,
            "usage: %s capture DIR none|zstd|zlib [x-colo] | hang | failed | "
            "crash | no-binary | bad-args\n",
            argv[0]);
    return 2;
}
