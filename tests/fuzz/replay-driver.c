/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replay driver: runs a harness's LLVMFuzzerTestOneInput over files and
 * directories given on the command line (the committed corpus and the
 * regression inputs), in sorted order.  Built with gcc for the default
 * `meson test` run, under valgrind and under ASan/UBSan.  Exit status 0
 * when every input ran; a failing oracle aborts.  Fails (status 2) when
 * no input was found at all, so an empty corpus never passes silently.
 *
 * --expect-crash (negative twins): each input runs in a child process
 * and must make it fail (oracle abort, signal, sanitizer exit); the
 * driver succeeds only when every input, and at least one, did.
 *
 * A watchdog (tests/support/watchdog.h) bounds each input: 10 s for the
 * harness on it (it normally takes milliseconds), or for the child of
 * --expect-crash to end (waitpid); a hang fails the run within seconds
 * and names the input, and the child dies with this process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "watchdog.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Arm the watchdog for @what on the input at @path (its last two parts). */
static void arm_input(const char *what, const char *path)
{
    const char *p = path + strlen(path);
    char msg[200];
    int slashes = 0;

    while (p > path && (p[-1] != '/' || ++slashes < 2)) {
        p--;
    }
    snprintf(msg, sizeof(msg), "fuzz replay: %s %.120s", what, p);
    watchdog_arm(10, msg);
}

static int expect_crash;
static unsigned long crashed;

/* Run one input in a child; count it when the child failed. */
static void run_expect_crash(const char *path, const uint8_t *buf, size_t len)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        LLVMFuzzerTestOneInput(buf, len);
        _exit(0);
    }
    arm_input("the planted twin's child to end (waitpid) on", path);
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        watchdog_disarm();
        fprintf(stderr, "replay: %s: fork/wait failed\n", path);
        return;
    }
    watchdog_disarm();
    if (WIFSIGNALED(status) ||
        (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
        crashed++;
    } else {
        fprintf(stderr, "replay: %s: ran cleanly, a failure was expected\n",
                path);
    }
}

static int run_file(const char *path, unsigned long *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        fprintf(stderr, "replay: %s: cannot size\n", path);
        return -1;
    }
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        fprintf(stderr, "replay: %s: read failed\n", path);
        return -1;
    }
    fclose(f);
    if (expect_crash) {
        run_expect_crash(path, buf, (size_t)len);
    } else {
        arm_input("the harness to return on", path);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        watchdog_disarm();
    }
    free(buf);
    (*count)++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, unsigned long *count)
{
    struct stat st;
    DIR *dir;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int ret = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return run_file(path, count);
    }
    dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names) {
                closedir(dir);
                return -1;
            }
        }
        if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0) {
            closedir(dir);
            return -1;
        }
        n++;
    }
    closedir(dir);
    if (n) {
        qsort(names, n, sizeof(*names), cmp_names);
    }
    for (i = 0; i < n; i++) {
        if (ret == 0 && run_path(names[i], count) != 0) {
            ret = -1;
        }
        free(names[i]);
    }
    free(names);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    int i;

    if (LLVMFuzzerInitialize) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-crash") == 0) {
            expect_crash = 1;
            continue;
        }
        if (argv[i][0] == '-') {
            continue; /* libFuzzer-style flags are ignored */
        }
        if (run_path(argv[i], &count) != 0) {
            return 1;
        }
    }
    printf("replayed %lu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 2;
    }
    if (expect_crash) {
        printf("%lu of %lu inputs failed, as expected\n", crashed, count);
        return crashed == count ? 0 : 1;
    }
    return 0;
}
