/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-replay: run recorded migration streams (a main channel and its
 * multifd channels) through the same receive path as live sockets: the
 * incoming parser over an in-memory channel, the multifd engine with the
 * deterministic driver, RAM blocks sized from the MEM_SIZE list, COLO on.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "chan/chan.h"
#include "colo/colo.h"
#include "incoming/incoming.h"
#include "ram/ram.h"
#include "recv/recv.h"
#include "replay.h"
#include "secondary.h"
#include "sha256.h"
#include "wire/multifd.h"

#define REPLAY_MAX_CHANNELS 255

typedef struct ReplayFile {
    const char *path;
    uint8_t *data;
    size_t len;
} ReplayFile;

typedef struct ReplayOpts {
    ReplayFile main;
    ReplayFile chans[REPLAY_MAX_CHANNELS];
    size_t nchans;
    WireCompression compression;
    uint32_t page_size;
    bool have_uuid;
    uint8_t uuid[WIRE_UUID_SIZE];
    const char *dump_dir;
    const char *replies_path;
    bool trace;
    IncomingSyncMode sync;
    uint64_t seed;
    uint64_t chunk;
    uint64_t max_ram;
} ReplayOpts;

typedef struct Replay {
    ReplayOpts o;
    FILE *out;
    FILE *errf;
    const ReplayObserver *obs;
    Secondary *sec; /* the receiver (tests/support/secondary.h) */
} Replay;

static const char usage_text[] =
    "usage: mfcolo-replay --main FILE [--channel FILE]... [options]\n"
    "  --main FILE          main channel (starts with QEVM)\n"
    "  --channel FILE       a multifd channel (repeatable, any order)\n"
    "  --compression M      none (default), zstd or zlib\n"
    "  --page-size N        target page size (default 4096)\n"
    "  --uuid HEX           expected uuid (default: the first handshake's)\n"
    "  --sync MODE          section (default), round or auto\n"
    "  --dump DIR           write each RAM block to DIR/<name>.bin\n"
    "  --replies FILE       write what the secondary sends back\n"
    "  --trace              SHA-256 of every block after precopy and after\n"
    "                       each checkpoint\n"
    "  --seed N             multifd scheduler seed (default 0)\n"
    "  --chunk N            largest multifd delivery in bytes (0: any)\n"
    "  --max-ram N          refuse a MEM_SIZE total above N bytes\n"
    "                       (default 4 GiB)\n";

/* One line on errf: "mfcolo-replay: " + @msg with control chars made '?'. */
static void replay_error_line(Replay *r, const char *msg)
{
    char line[MF_ERROR_MSG_LEN + MF_ERROR_WHERE_LEN + 64];
    size_t len = strnlen(msg, sizeof(line) - 1);
    size_t i;

    /* A longer message is cut; the copy is bounded, not snprintf's. */
    memcpy(line, msg, len);
    line[len] = '\0';
    for (i = 0; line[i]; i++) {
        unsigned char c = (unsigned char)line[i];

        if (c < 0x20 || c == 0x7f) {
            line[i] = '?';
        }
    }
    fprintf(r->errf, "mfcolo-replay: %s\n", line);
    fflush(r->errf);
}

static int usage_error(Replay *r, const char *what, const char *arg)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s%s%s (see --help)", what, arg ? ": " : "",
             arg ? arg : "");
    replay_error_line(r, msg);
    return REPLAY_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (!s || !*s || *s == '-') {
        return false;
    }
    errno = 0;
    x = strtoull(s, &end, 0);
    if (errno || *end) {
        return false;
    }
    *v = x;
    return true;
}

static bool parse_uuid(const char *s, uint8_t out[WIRE_UUID_SIZE])
{
    size_t n = 0;
    int hi = -1;

    for (; *s; s++) {
        int d;

        if (*s == '-') {
            continue;
        }
        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (*s >= 'a' && *s <= 'f') {
            d = *s - 'a' + 10;
        } else if (*s >= 'A' && *s <= 'F') {
            d = *s - 'A' + 10;
        } else {
            return false;
        }
        if (hi < 0) {
            hi = d;
        } else {
            if (n == WIRE_UUID_SIZE) {
                return false;
            }
            out[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    return n == WIRE_UUID_SIZE && hi < 0;
}

/* Parse argv; returns -1 to go on, else an exit status. */
static int parse_args(Replay *r, int argc, char **argv)
{
    ReplayOpts *o = &r->o;
    int i;

    o->page_size = WIRE_DEFAULT_PAGE_SIZE;
    o->compression = WIRE_COMP_NONE;
    o->sync = INCOMING_SYNC_SECTION;
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = NULL;
        char name[32];
        const char *eq = strchr(opt, '=');
        uint64_t v;

        if (strncmp(opt, "--", 2) != 0) {
            return usage_error(r, "unexpected argument", opt);
        }
        if (eq) {
            snprintf(name, sizeof(name), "%.*s", (int)(eq - opt), opt);
            val = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", opt);
        }
        if (!strcmp(name, "--help")) {
            fputs(usage_text, r->out);
            return REPLAY_EXIT_OK;
        }
        if (!strcmp(name, "--trace")) {
            o->trace = true;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                return usage_error(r, "option needs a value", name);
            }
            val = argv[++i];
        }
        if (!strcmp(name, "--main")) {
            o->main.path = val;
        } else if (!strcmp(name, "--channel")) {
            if (o->nchans == REPLAY_MAX_CHANNELS) {
                return usage_error(r, "too many --channel", val);
            }
            o->chans[o->nchans++].path = val;
        } else if (!strcmp(name, "--compression")) {
            if (!strcmp(val, "none")) {
                o->compression = WIRE_COMP_NONE;
            } else if (!strcmp(val, "zstd")) {
                o->compression = WIRE_COMP_ZSTD;
            } else if (!strcmp(val, "zlib")) {
                o->compression = WIRE_COMP_ZLIB;
            } else {
                return usage_error(r, "unknown --compression", val);
            }
        } else if (!strcmp(name, "--page-size")) {
            if (!parse_u64(val, &v) || v > UINT32_MAX ||
                wire_page_count((uint32_t)v) == 0 || v < 1024) {
                return usage_error(r,
                                   "bad --page-size (a power of two, "
                                   "1024..524288)",
                                   val);
            }
            o->page_size = (uint32_t)v;
        } else if (!strcmp(name, "--uuid")) {
            if (!parse_uuid(val, o->uuid)) {
                return usage_error(r, "bad --uuid (32 hex digits)", val);
            }
            o->have_uuid = true;
        } else if (!strcmp(name, "--sync")) {
            if (!strcmp(val, "section")) {
                o->sync = INCOMING_SYNC_SECTION;
            } else if (!strcmp(val, "round")) {
                o->sync = INCOMING_SYNC_ROUND;
            } else if (!strcmp(val, "auto")) {
                o->sync = INCOMING_SYNC_AUTO;
            } else {
                return usage_error(r, "unknown --sync", val);
            }
        } else if (!strcmp(name, "--dump")) {
            o->dump_dir = val;
        } else if (!strcmp(name, "--replies")) {
            o->replies_path = val;
        } else if (!strcmp(name, "--seed")) {
            if (!parse_u64(val, &o->seed)) {
                return usage_error(r, "bad --seed", val);
            }
        } else if (!strcmp(name, "--chunk")) {
            if (!parse_u64(val, &o->chunk)) {
                return usage_error(r, "bad --chunk", val);
            }
        } else if (!strcmp(name, "--max-ram")) {
            if (!parse_u64(val, &o->max_ram) || o->max_ram == 0) {
                return usage_error(r, "bad --max-ram", val);
            }
        } else {
            return usage_error(r, "unknown option", name);
        }
    }
    if (!o->main.path) {
        return usage_error(r, "--main FILE is required", NULL);
    }
    return -1;
}

static int read_file(Replay *r, ReplayFile *f)
{
    struct stat st;
    size_t done = 0;
    char msg[512];
    int fd;

    fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, sizeof(msg), "%s: cannot read: %s", f->path,
                 fd < 0 || errno ? strerror(errno) : "not a regular file");
        if (fd >= 0) {
            close(fd);
        }
        replay_error_line(r, msg);
        return REPLAY_EXIT_IO;
    }
    f->len = (size_t)st.st_size;
    f->data = malloc(f->len ? f->len : 1);
    if (!f->data) {
        close(fd);
        replay_error_line(r, "out of memory reading the input files");
        return REPLAY_EXIT_NOMEM;
    }
    while (done < f->len) {
        ssize_t n = read(fd, f->data + done, f->len - done);

        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            snprintf(msg, sizeof(msg), "%s: read failed: %s", f->path,
                     n < 0 ? strerror(errno) : "file shrank");
            close(fd);
            replay_error_line(r, msg);
            return REPLAY_EXIT_IO;
        }
        done += (size_t)n;
    }
    close(fd);
    return -1;
}

void replay_dump_name(const char *block, char *buf, size_t size)
{
    size_t i, n = 0;

    for (i = 0; block[i] && n + 5 < size; i++) {
        char c = block[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

        buf[n++] = ok ? c : '_';
    }
    snprintf(buf + n, size - n, ".bin");
}

static void block_hex(const RamBlock *b, char hex[65])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    int i;

    sha256_digest(b->host, b->used_length, d);
    for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
}

static void trace_blocks(Replay *r, const char *prefix)
{
    char hex[65];
    size_t i;

    for (i = 0; i < r->sec->ram.nblocks; i++) {
        block_hex(r->sec->ram.blocks[i], hex);
        fprintf(r->out, "%s %s %s\n", prefix, r->sec->ram.blocks[i]->name, hex);
    }
}

static void hook_precopy(void *opaque)
{
    Replay *r = opaque;

    if (r->o.trace) {
        trace_blocks(r, "precopy");
    }
    if (r->obs && r->obs->precopy) {
        r->obs->precopy(r->obs->opaque, &r->sec->ram);
    }
}

static void hook_checkpoint(void *opaque, const IncomingCheckpoint *cp)
{
    Replay *r = opaque;
    char prefix[48];

    if (r->o.trace) {
        snprintf(prefix, sizeof(prefix), "checkpoint %" PRIu64, cp->index);
        trace_blocks(r, prefix);
    }
    if (r->obs && r->obs->checkpoint) {
        r->obs->checkpoint(r->obs->opaque, &r->sec->ram, cp);
    }
}

static int write_file(Replay *r, const char *path, const uint8_t *data,
                      size_t len)
{
    char msg[512];
    size_t done = 0;
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(msg, sizeof(msg), "%s: cannot write: %s", path,
                 strerror(errno));
        replay_error_line(r, msg);
        return REPLAY_EXIT_IO;
    }
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(msg, sizeof(msg), "%s: write failed: %s", path,
                     n < 0 ? strerror(errno) : "no progress");
            close(fd);
            replay_error_line(r, msg);
            return REPLAY_EXIT_IO;
        }
        done += (size_t)n;
    }
    if (close(fd) < 0) {
        snprintf(msg, sizeof(msg), "%s: close failed: %s", path,
                 strerror(errno));
        replay_error_line(r, msg);
        return REPLAY_EXIT_IO;
    }
    return -1;
}

static int dump_blocks(Replay *r)
{
    char name[2 * RAM_BLOCK_NAME_MAX + 8];
    char path[4096 + sizeof(name)];
    char msg[sizeof(path) + 64];
    size_t i, j;
    int st;

    if (mkdir(r->o.dump_dir, 0755) < 0 && errno != EEXIST) {
        snprintf(msg, sizeof(msg), "%s: cannot create: %s", r->o.dump_dir,
                 strerror(errno));
        replay_error_line(r, msg);
        return REPLAY_EXIT_IO;
    }
    for (i = 0; i < r->sec->ram.nblocks; i++) {
        char other[sizeof(name)];

        replay_dump_name(r->sec->ram.blocks[i]->name, name, sizeof(name));
        for (j = 0; j < i; j++) {
            replay_dump_name(r->sec->ram.blocks[j]->name, other, sizeof(other));
            if (!strcmp(name, other)) {
                snprintf(msg, sizeof(msg),
                         "--dump: blocks %zu and %zu "
                         "both map to the file name %s",
                         j, i, name);
                replay_error_line(r, msg);
                return REPLAY_EXIT_IO;
            }
        }
        snprintf(path, sizeof(path), "%s/%s", r->o.dump_dir, name);
        st = write_file(r, path, r->sec->ram.blocks[i]->host,
                        r->sec->ram.blocks[i]->used_length);
        if (st >= 0) {
            return st;
        }
    }
    return -1;
}

static int status_of(const MfError *err)
{
    return err->code == MF_ERR_NOMEM ? REPLAY_EXIT_NOMEM : REPLAY_EXIT_STREAM;
}

static void stream_error(Replay *r, const MfError *err)
{
    char buf[MF_ERROR_MSG_LEN + MF_ERROR_WHERE_LEN + 40];

    mf_error_format(err, buf, sizeof(buf));
    replay_error_line(r, buf);
}

/*
 * The receive path itself, on the receiver replay_run built (RAM table
 * filled by the MEM_SIZE list, COLO on); returns -1 when the stream was
 * valid.
 */
static int replay_stream(Replay *r)
{
    Secondary *sec = r->sec;
    IncomingOutcome outcome;
    Chan *main_chan, *reply;
    MfError err;
    int status = -1;
    size_t i;

    mf_error_clear(&err);
    if (r->o.nchans) {
        SecondaryMultifd m = { 0 };

        m.channels = (uint32_t)r->o.nchans;
        m.compression = r->o.compression;
        m.expect_uuid = r->o.have_uuid;
        memcpy(m.uuid, r->o.uuid, sizeof(m.uuid));
        m.driver = RECV_DRIVER_DETERMINISTIC;
        m.seed = r->o.seed;
        m.max_chunk = (size_t)r->o.chunk;
        if (secondary_start_multifd(sec, &m, &err)) {
            for (i = 0; i < r->o.nchans; i++) {
                Chan *c = chan_mem_new(r->o.chans[i].data, r->o.chans[i].len, 0,
                                       r->o.chans[i].path, &err);

                if (!c || !secondary_add_channel(sec, c, &err)) {
                    break;
                }
            }
        }
        if (mf_error_is_set(&err)) {
            goto out;
        }
    }
    main_chan = chan_mem_new(r->o.main.data, r->o.main.len, 0, "main", &err);
    if (!main_chan) {
        goto out;
    }
    reply = chan_mem_sink_new("replies", &err);
    if (!reply) {
        chan_free(main_chan);
        goto out;
    }
    if (!secondary_attach_main(sec, main_chan, reply, &err)) {
        goto out;
    }
    incoming_run(sec->in, &outcome, &err);

out:
    if (mf_error_is_set(&err)) {
        stream_error(r, &err);
        status = status_of(&err);
        /* Whatever happened, fail over: memory = last checkpoint (I4). */
        if (sec->engine) {
            recv_engine_cancel(sec->engine, NULL);
        }
        colo_failover(secondary_colo(sec));
    }
    return status;
}

static int replay_run(Replay *r)
{
    SecondaryOptions so = { 0 };
    MfError err;
    int status;
    size_t i, len = 0;
    const uint8_t *data = NULL;
    char hex[65];

    mf_error_clear(&err);
    status = read_file(r, &r->o.main);
    for (i = 0; status < 0 && i < r->o.nchans; i++) {
        status = read_file(r, &r->o.chans[i]);
    }
    if (status >= 0) {
        return status;
    }
    so.page_size = r->o.page_size;
    so.create_blocks = true;
    so.max_ram = r->o.max_ram;
    so.colo = true;
    so.sync = r->o.sync;
    so.expect_end = true;
    so.hooks.opaque = r;
    so.hooks.precopy_done = hook_precopy;
    so.hooks.checkpoint_done = hook_checkpoint;
    r->sec = secondary_build(&so, &err);
    if (!r->sec) {
        stream_error(r, &err);
        return status_of(&err);
    }
    status = replay_stream(r);
    if (r->o.replies_path) {
        int st;

        if (r->sec->reply) {
            data = chan_mem_data(r->sec->reply, &len);
        }
        st = write_file(r, r->o.replies_path, data, len);
        if (status < 0) {
            status = st;
        }
    }
    if (r->o.dump_dir) {
        int st = dump_blocks(r);

        if (status < 0) {
            status = st;
        }
    }
    for (i = 0; !(r->obs && r->obs->quiet) && i < r->sec->ram.nblocks; i++) {
        block_hex(r->sec->ram.blocks[i], hex);
        fprintf(r->out, "%s %" PRIu64 " %s\n", r->sec->ram.blocks[i]->name,
                r->sec->ram.blocks[i]->used_length, hex);
    }
    return status < 0 ? REPLAY_EXIT_OK : status;
}

int replay_main(int argc, char **argv, FILE *out, FILE *errf,
                const ReplayObserver *obs)
{
    Replay *r = calloc(1, sizeof(*r));
    int status;
    size_t i;

    if (!r) {
        fprintf(errf, "mfcolo-replay: out of memory\n");
        return REPLAY_EXIT_NOMEM;
    }
    r->out = out;
    r->errf = errf;
    r->obs = obs;
    status = parse_args(r, argc, argv);
    if (status < 0) {
        status = replay_run(r);
    }
    if (obs && obs->end && r->sec) {
        obs->end(obs->opaque, &r->sec->ram, status);
    }
    fflush(out);
    secondary_free(r->sec);
    free(r->o.main.data);
    for (i = 0; i < r->o.nchans; i++) {
        free(r->o.chans[i].data);
    }
    free(r);
    return status;
}
