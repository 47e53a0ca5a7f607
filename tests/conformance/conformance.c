/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers of the conformance suite (see conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance.h"
#include "sha256.h"

const char *conf_captures;
bool conf_full;
static char tmpdir[512];

void conf_init(int argc, char **argv)
{
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CAPTURES_DIR [full] [filter]\n", argv[0]);
        exit(1);
    }
    conf_captures = argv[1];
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "full")) {
            conf_full = true;
        } else {
            cmocka_set_test_filter(argv[i]);
        }
    }
}

void conf_path(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", conf_captures, rel);
}

ConfBuf conf_read_abs(const char *path)
{
    ConfBuf b = { NULL, 0 };
    struct stat st;
    size_t done = 0;
    int fd = open(path, O_RDONLY);

    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return b;
    }
    b.len = (size_t)st.st_size;
    b.data = malloc(b.len + 1);
    assert_non_null(b.data);
    while (done < b.len) {
        ssize_t n = read(fd, b.data + done, b.len - done);

        assert_true(n > 0);
        done += (size_t)n;
    }
    b.data[b.len] = 0;
    close(fd);
    return b;
}

ConfBuf conf_read(const char *rel)
{
    char path[1024];
    ConfBuf b;

    conf_path(path, sizeof(path), rel);
    b = conf_read_abs(path);
    if (!b.data) {
        print_error("capture file missing: %s (the captures are required)\n",
                    path);
        fail();
    }
    return b;
}

void conf_buf_free(ConfBuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

const char *conf_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");

        snprintf(tmpdir, sizeof(tmpdir), "%s/mfcolo-conf-XXXXXX",
                 base && *base ? base : "/tmp");
        assert_non_null(mkdtemp(tmpdir));
    }
    return tmpdir;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[1024];

    if (d) {
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
                continue;
            }
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void conf_tmp_cleanup(void)
{
    if (tmpdir[0]) {
        rm_tree(tmpdir);
        tmpdir[0] = 0;
    }
}

const char *conf_tmp_write(const char *name, const void *data, size_t len)
{
    static char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", conf_tmpdir(), name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

void conf_replay(ConfRun *r, const ReplayObserver *obs, const char **args)
{
    char *argv[64];
    int argc = 0;
    FILE *out, *err;

    memset(r, 0, sizeof(*r));
    argv[argc++] = (char *)"mfcolo-replay";
    while (*args) {
        assert_true(argc < 63);
        argv[argc++] = (char *)*args++;
    }
    argv[argc] = NULL;
    out = open_memstream(&r->out, &r->out_len);
    err = open_memstream(&r->err, &r->err_len);
    assert_non_null(out);
    assert_non_null(err);
    r->status = replay_main(argc, argv, out, err, obs);
    fclose(out);
    fclose(err);
}

void conf_run_free(ConfRun *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void conf_assert_error_line(const ConfRun *r, const char *where,
                            uint64_t offset)
{
    char want[128];
    const char *nl;

    if (r->status < 1 || r->status > 125) {
        print_error("status %d, stderr: %s\n", r->status, r->err);
    }
    assert_in_range(r->status, 1, 125);
    assert_true(r->err_len > 0);
    nl = strchr(r->err, '\n');
    assert_non_null(nl);
    if ((size_t)(nl - r->err) != r->err_len - 1) {
        print_error("more than one line: %s\n", r->err);
        fail();
    }
    assert_int_equal(strncmp(r->err, "mfcolo-replay: ", 15), 0);
    if (where) {
        snprintf(want, sizeof(want), "mfcolo-replay: %s: offset %llu: ", where,
                 (unsigned long long)offset);
        if (strncmp(r->err, want, strlen(want)) != 0) {
            print_error("want prefix \"%s\", got: %s", want, r->err);
            fail();
        }
    } else if (offset != UINT64_MAX) {
        snprintf(want, sizeof(want),
                 ": offset %llu: ", (unsigned long long)offset);
        if (!strstr(r->err, want)) {
            print_error("want \"%s\" in: %s", want, r->err);
            fail();
        }
    }
}

void conf_sha_hex(const void *data, size_t len, char hex[65])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    int i;

    sha256_digest(data, len, d);
    for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
}

/* ---- JSON ---- */

static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return len;
}

/* End (exclusive) of the value starting at @i. */
static size_t value_end(const char *s, size_t len, size_t i)
{
    int depth = 0;

    if (s[i] == '"') {
        return skip_string(s, len, i);
    }
    for (; i < len; i++) {
        if (s[i] == '"') {
            i = skip_string(s, len, i) - 1;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++;
        } else if (s[i] == '}' || s[i] == ']') {
            if (depth == 0) {
                return i;
            }
            if (--depth == 0) {
                return i + 1;
            }
        } else if (s[i] == ',' && depth == 0) {
            return i;
        }
    }
    return len;
}

const char *conf_json_get(const char *json, size_t jlen, const char *key,
                          size_t *len)
{
    size_t klen = strlen(key);
    size_t i = 0;
    int depth = 0;

    while (i < jlen) {
        char c = json[i];

        if (c == '"') {
            size_t end = skip_string(json, jlen, i);

            if (depth == 1 && end - i - 2 == klen &&
                !memcmp(json + i + 1, key, klen)) {
                size_t j = end;

                while (j < jlen && (json[j] == ' ' || json[j] == '\n')) {
                    j++;
                }
                if (j < jlen && json[j] == ':') {
                    j++;
                    while (j < jlen && (json[j] == ' ' || json[j] == '\n')) {
                        j++;
                    }
                    *len = value_end(json, jlen, j) - j;
                    return json + j;
                }
            }
            i = end;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
        i++;
    }
    return NULL;
}

bool conf_json_str(const char *val, size_t vlen, char *out, size_t size)
{
    if (vlen < 2 || val[0] != '"' || vlen - 2 >= size) {
        return false;
    }
    memcpy(out, val + 1, vlen - 2);
    out[vlen - 2] = 0;
    return true;
}

bool conf_json_array_str(const char *arr, size_t alen, size_t idx, char *out,
                         size_t size)
{
    size_t i = 1, n = 0;

    while (i < alen) {
        if (arr[i] == '"') {
            size_t end = skip_string(arr, alen, i);

            if (n++ == idx) {
                return conf_json_str(arr + i, end - i, out, size);
            }
            i = end;
        } else {
            i++;
        }
    }
    return false;
}

/* ---- workload oracle ---- */

/* @n values at @p with stride @stride: [v]*k + [v-1]*(n-k)? */
static bool one_step(const uint8_t *p, size_t n, size_t stride, size_t *bad)
{
    uint8_t v = p[0];
    bool stepped = false;
    size_t i;

    for (i = 1; i < n; i++) {
        uint8_t c = p[i * stride];

        if (c == v) {
            continue;
        }
        if (!stepped && c == (uint8_t)(v - 1)) {
            stepped = true;
            v = c;
            continue;
        }
        *bad = i;
        return false;
    }
    return true;
}

bool conf_workload_oracle(const uint8_t *ram, uint64_t len, char *why,
                          size_t why_len)
{
    size_t bad, i, j;

    if (len < 0x40000) {
        snprintf(why, why_len, "pc.ram too small");
        return false;
    }
    if (!one_step(ram + 0x10000, 0x10000, 1, &bad)) {
        snprintf(why, why_len, "fill region byte 0x%zx = 0x%02x after 0x%02x",
                 0x10000 + bad, ram[0x10000 + bad], ram[0x10000 + bad - 1]);
        return false;
    }
    for (i = 0x20000; i < 0x28000; i++) {
        if (ram[i]) {
            snprintf(why, why_len, "zero region byte 0x%zx = 0x%02x", i,
                     ram[i]);
            return false;
        }
    }
    for (i = 0x30000; i < 0x40000; i += 0x1000) {
        for (j = 1; j < 0x1000; j++) {
            if (ram[i + j]) {
                snprintf(why, why_len,
                         "one-byte page 0x%zx: byte %zu = "
                         "0x%02x",
                         i, j, ram[i + j]);
                return false;
            }
        }
    }
    if (!one_step(ram + 0x30000, 16, 0x1000, &bad)) {
        snprintf(why, why_len, "one-byte page 0x%zx byte 0 = 0x%02x",
                 0x30000 + bad * 0x1000, ram[0x30000 + bad * 0x1000]);
        return false;
    }
    return true;
}

/* ---- reference memory ---- */

/*
 * Residency of the OS pages under @p..@p+@len (mincore).  A page of
 * anonymous memory that was never touched is not resident and reads as
 * zero: comparing it needs no read (reading would fault it in, which
 * dominates the sweep's time).  This is a fact of the OS, not of the
 * code under test.  NULL when mincore fails: then everything is read.
 */
typedef struct Residency {
    unsigned char *vec;
    uintptr_t base;
    uintptr_t ps;
} Residency;

static void residency_get(Residency *r, const uint8_t *p, uint64_t len)
{
    uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t b = (uintptr_t)p & ~(ps - 1);
    uintptr_t e = ((uintptr_t)p + len + ps - 1) & ~(ps - 1);

    r->ps = ps;
    r->base = b;
    r->vec = malloc((e - b) / ps + 1);
    if (r->vec && mincore((void *)b, e - b, r->vec) != 0) {
        free(r->vec);
        r->vec = NULL;
    }
}

/* May [@p, @p + @n) hold non-zero bytes? */
static bool residency_maybe_data(const Residency *r, const uint8_t *p,
                                 uint64_t n)
{
    uintptr_t a = ((uintptr_t)p & ~(r->ps - 1));
    uintptr_t e = (uintptr_t)p + n;

    if (!r->vec) {
        return true;
    }
    for (; a < e; a += r->ps) {
        if (r->vec[(a - r->base) / r->ps] & 1) {
            return true;
        }
    }
    return false;
}

static bool is_zero(const uint8_t *p, uint64_t n)
{
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* Does guest memory @got (residency @r) equal @want over @n bytes? */
static bool same(const Residency *r, const uint8_t *got, const uint8_t *want,
                 uint64_t n)
{
    if (!residency_maybe_data(r, got, n)) {
        return is_zero(want, n);
    }
    return memcmp(got, want, n) == 0;
}

static void ref_precopy(void *opaque, const RamTable *ram)
{
    ConfRef *ref = opaque;
    size_t i;

    ref->nblocks = ram->nblocks;
    ref->names = calloc(ram->nblocks, sizeof(*ref->names));
    ref->lengths = calloc(ram->nblocks, sizeof(*ref->lengths));
    ref->pre = calloc(ram->nblocks, sizeof(*ref->pre));
    assert_non_null(ref->names);
    assert_non_null(ref->lengths);
    assert_non_null(ref->pre);
    for (i = 0; i < ram->nblocks; i++) {
        snprintf(ref->names[i], sizeof(ref->names[i]), "%s",
                 ram->blocks[i]->name);
        ref->lengths[i] = ram->blocks[i]->used_length;
        ref->pre[i] = malloc(ref->lengths[i]);
        assert_non_null(ref->pre[i]);
        memcpy(ref->pre[i], ram->blocks[i]->host, ref->lengths[i]);
    }
}

static void ref_checkpoint(void *opaque, const RamTable *ram,
                           const IncomingCheckpoint *cp)
{
    ConfRef *ref = opaque;
    ConfRefStage *st;
    size_t i;
    uint64_t off;

    assert_int_equal(cp->index, ref->nstages);
    ref->stages =
        realloc(ref->stages, (ref->nstages + 1) * sizeof(*ref->stages));
    ref->cp_start =
        realloc(ref->cp_start, (ref->nstages + 1) * sizeof(*ref->cp_start));
    ref->cp_end =
        realloc(ref->cp_end, (ref->nstages + 1) * sizeof(*ref->cp_end));
    assert_non_null(ref->stages);
    assert_non_null(ref->cp_start);
    assert_non_null(ref->cp_end);
    st = &ref->stages[ref->nstages];
    memset(st, 0, sizeof(*st));
    ref->cp_start[ref->nstages] = cp->request_offset;
    ref->cp_end[ref->nstages] = cp->end_offset;
    if (ref->nstages == 0) {
        ref->precopy_end = cp->request_offset;
    }
    ref->nstages++;
    for (i = 0; i < ram->nblocks; i++) {
        const RamBlock *b = ram->blocks[i];
        Residency res;

        residency_get(&res, b->host, b->used_length);
        for (off = 0; off < b->used_length; off += ram->page_size) {
            uint64_t n = b->used_length - off < ram->page_size
                             ? b->used_length - off
                             : ram->page_size;

            if (same(&res, b->host + off, ref->pre[i] + off, n)) {
                continue;
            }
            st->pages =
                realloc(st->pages, (st->npages + 1) * sizeof(*st->pages));
            assert_non_null(st->pages);
            st->pages[st->npages].block = (uint32_t)i;
            st->pages[st->npages].offset = off;
            st->pages[st->npages].data = malloc(ram->page_size);
            assert_non_null(st->pages[st->npages].data);
            memcpy(st->pages[st->npages].data, b->host + off, n);
            st->npages++;
        }
        free(res.vec);
    }
}

void conf_ref_build(ConfRef *ref, const char **args)
{
    ReplayObserver obs = { 0 };
    ConfRun r;

    memset(ref, 0, sizeof(*ref));
    obs.opaque = ref;
    obs.quiet = true;
    obs.precopy = ref_precopy;
    obs.checkpoint = ref_checkpoint;
    conf_replay(&r, &obs, args);
    if (r.status != 0) {
        print_error("clean run failed: %s\n", r.err);
    }
    assert_int_equal(r.status, 0);
    assert_non_null(ref->pre);
    conf_run_free(&r);
}

bool conf_ref_check(const ConfRef *ref, const RamTable *ram, long stage,
                    char *why, size_t why_len)
{
    const ConfRefStage *st = stage >= 0 ? &ref->stages[stage] : NULL;
    uint32_t ps = ram->page_size;
    size_t i, p = 0;
    uint64_t off;

    if (ram->nblocks != ref->nblocks) {
        snprintf(why, why_len, "%zu blocks, reference has %zu", ram->nblocks,
                 ref->nblocks);
        return false;
    }
    for (i = 0; i < ram->nblocks; i++) {
        const RamBlock *b = ram->blocks[i];
        Residency res;

        residency_get(&res, b->host, b->used_length);
        for (off = 0; off < b->used_length; off += ps) {
            uint64_t n = b->used_length - off < ps ? b->used_length - off : ps;
            const uint8_t *want = ref->pre[i] + off;

            if (st && p < st->npages && st->pages[p].block == i &&
                st->pages[p].offset == off) {
                want = st->pages[p++].data;
            }
            if (!same(&res, b->host + off, want, n)) {
                snprintf(why, why_len,
                         "block %s page 0x%llx differs from "
                         "stage %ld",
                         b->name, (unsigned long long)off, stage);
                free(res.vec);
                return false;
            }
        }
        free(res.vec);
    }
    return true;
}

void conf_ref_free(ConfRef *ref)
{
    size_t i, j;

    for (i = 0; i < ref->nblocks; i++) {
        free(ref->pre[i]);
    }
    for (i = 0; i < ref->nstages; i++) {
        for (j = 0; j < ref->stages[i].npages; j++) {
            free(ref->stages[i].pages[j].data);
        }
        free(ref->stages[i].pages);
    }
    free(ref->pre);
    free(ref->names);
    free(ref->lengths);
    free(ref->stages);
    free(ref->cp_start);
    free(ref->cp_end);
    memset(ref, 0, sizeof(*ref));
}
