/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qtest line protocol over guest memory (QEMU system/qtest.c subset):
 *   readb|readw|readl|readq ADDR        -> OK 0x<value, 2/4/8/16 digits>
 *   writeb|writew|writel|writeq ADDR V  -> OK
 *   read ADDR SIZE                      -> OK 0x<hex bytes>
 *   write ADDR SIZE 0x<hex bytes>       -> OK
 *   memset ADDR SIZE BYTE               -> OK
 * Values are little-endian in memory (x86 guest); integers parse with
 * strtoull base 0; errors answer "FAIL <reason>".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtest-proto.h"

struct QtestConn {
    Vm *vm;
    int fd;
    char *buf;
    size_t len;
    size_t cap;
};

static void qt_reply(QtestConn *c, const char *text, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t r = write(c->fd, text + off, n - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return;
        }
        off += (size_t)r;
    }
}

static void qt_replyf(QtestConn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void qt_replyf(QtestConn *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0) {
        qt_reply(c, line,
                 (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;

    if (!s) {
        return false;
    }
    errno = 0;
    *v = strtoull(s, &end, 0);
    return errno == 0 && end != s && *end == '\0';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

static void qt_read_sized(QtestConn *c, uint64_t addr, unsigned size)
{
    uint8_t b[8];
    uint64_t v = 0;
    unsigned i;

    if (!vm_mem_read(c->vm, addr, b, size)) {
        qt_replyf(c, "FAIL address 0x%" PRIx64 " outside guest memory\n", addr);
        return;
    }
    for (i = 0; i < size; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    qt_replyf(c, "OK 0x%0*" PRIx64 "\n", (int)size * 2, v);
}

static void qt_write_sized(QtestConn *c, uint64_t addr, unsigned size,
                           uint64_t v)
{
    uint8_t b[8];
    unsigned i;

    for (i = 0; i < size; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    if (!vm_mem_write(c->vm, addr, b, size)) {
        qt_replyf(c, "FAIL address 0x%" PRIx64 " outside guest memory\n", addr);
        return;
    }
    qt_replyf(c, "OK\n");
}

static void qt_read(QtestConn *c, uint64_t addr, uint64_t size)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t *data;
    char *out;
    uint64_t i;

    if (size == 0 || size > (64u << 20)) {
        qt_replyf(c, "FAIL bad size %" PRIu64 "\n", size);
        return;
    }
    data = malloc(size);
    out = malloc(size * 2 + 5);
    if (!data || !out) {
        free(data);
        free(out);
        qt_replyf(c, "FAIL out of memory\n");
        return;
    }
    if (!vm_mem_read(c->vm, addr, data, size)) {
        qt_replyf(c,
                  "FAIL range 0x%" PRIx64 "+%" PRIu64 " outside guest memory\n",
                  addr, size);
    } else {
        memcpy(out, "OK 0x", 5);
        for (i = 0; i < size; i++) {
            out[5 + 2 * i] = hex[data[i] >> 4];
            out[6 + 2 * i] = hex[data[i] & 15];
        }
        qt_reply(c, out, 5 + 2 * size);
        qt_reply(c, "\n", 1);
    }
    free(data);
    free(out);
}

static void qt_write(QtestConn *c, uint64_t addr, uint64_t size,
                     const char *hexdata)
{
    uint8_t *data;
    uint64_t i;
    size_t hlen;

    if (!hexdata || strncmp(hexdata, "0x", 2) != 0) {
        qt_replyf(c, "FAIL data must start with 0x\n");
        return;
    }
    hexdata += 2;
    hlen = strlen(hexdata);
    if (size == 0 || size > (64u << 20)) {
        qt_replyf(c, "FAIL bad size %" PRIu64 "\n", size);
        return;
    }
    data = calloc(1, size);
    if (!data) {
        qt_replyf(c, "FAIL out of memory\n");
        return;
    }
    /* QEMU pads missing digits with zeros; so do we. */
    for (i = 0; i < size && 2 * i + 1 < hlen + 1; i++) {
        int hi = 2 * i < hlen ? hexval(hexdata[2 * i]) : 0;
        int lo = 2 * i + 1 < hlen ? hexval(hexdata[2 * i + 1]) : 0;
        if (hi < 0 || lo < 0) {
            free(data);
            qt_replyf(c, "FAIL bad hex digit\n");
            return;
        }
        data[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!vm_mem_write(c->vm, addr, data, size)) {
        qt_replyf(c, "FAIL range outside guest memory\n");
    } else {
        qt_replyf(c, "OK\n");
    }
    free(data);
}

static void qt_memset(QtestConn *c, uint64_t addr, uint64_t size, uint64_t val)
{
    uint8_t *data;

    if (size > (64u << 20)) {
        qt_replyf(c, "FAIL bad size %" PRIu64 "\n", size);
        return;
    }
    if (size == 0) {
        qt_replyf(c, "OK\n");
        return;
    }
    data = malloc(size);
    if (!data) {
        qt_replyf(c, "FAIL out of memory\n");
        return;
    }
    memset(data, (int)(val & 0xff), size);
    if (!vm_mem_write(c->vm, addr, data, size)) {
        qt_replyf(c, "FAIL range outside guest memory\n");
    } else {
        qt_replyf(c, "OK\n");
    }
    free(data);
}

static unsigned sized_op(const char *cmd, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(cmd, prefix, n) != 0 || strlen(cmd) != n + 1) {
        return 0;
    }
    switch (cmd[n]) {
    case 'b':
        return 1;
    case 'w':
        return 2;
    case 'l':
        return 4;
    case 'q':
        return 8;
    default:
        return 0;
    }
}

static void qt_line(QtestConn *c, char *line)
{
    char *words[5] = { NULL };
    char *save = NULL;
    char *w;
    int n = 0;
    uint64_t a;
    uint64_t b;
    unsigned size;

    for (w = strtok_r(line, " ", &save); w && n < 5;
         w = strtok_r(NULL, " ", &save)) {
        words[n++] = w;
    }
    if (n == 0) {
        return;
    }
    if ((size = sized_op(words[0], "read")) != 0) {
        if (n != 2 || !parse_u64(words[1], &a)) {
            qt_replyf(c, "FAIL usage: %s ADDR\n", words[0]);
            return;
        }
        qt_read_sized(c, a, size);
    } else if ((size = sized_op(words[0], "write")) != 0) {
        if (n != 3 || !parse_u64(words[1], &a) || !parse_u64(words[2], &b)) {
            qt_replyf(c, "FAIL usage: %s ADDR VALUE\n", words[0]);
            return;
        }
        qt_write_sized(c, a, size, b);
    } else if (strcmp(words[0], "read") == 0) {
        if (n != 3 || !parse_u64(words[1], &a) || !parse_u64(words[2], &b)) {
            qt_replyf(c, "FAIL usage: read ADDR SIZE\n");
            return;
        }
        qt_read(c, a, b);
    } else if (strcmp(words[0], "write") == 0) {
        if (n != 4 || !parse_u64(words[1], &a) || !parse_u64(words[2], &b)) {
            qt_replyf(c, "FAIL usage: write ADDR SIZE 0xDATA\n");
            return;
        }
        qt_write(c, a, b, words[3]);
    } else if (strcmp(words[0], "memset") == 0) {
        uint64_t v;
        if (n != 4 || !parse_u64(words[1], &a) || !parse_u64(words[2], &b) ||
            !parse_u64(words[3], &v)) {
            qt_replyf(c, "FAIL usage: memset ADDR SIZE VALUE\n");
            return;
        }
        qt_memset(c, a, b, v);
    } else {
        qt_replyf(c, "FAIL Unknown command '%s'\n", words[0]);
    }
}

QtestConn *qtest_conn_new(Vm *vm, int fd)
{
    QtestConn *c = calloc(1, sizeof(*c));

    if (c) {
        c->vm = vm;
        c->fd = fd;
    }
    return c;
}

int qtest_conn_fd(const QtestConn *c)
{
    return c->fd;
}

bool qtest_conn_handle_input(QtestConn *c)
{
    ssize_t n;
    char *nl;

    if (c->cap - c->len < 4096) {
        size_t ncap = c->cap ? c->cap * 2 : 8192;
        char *nb = realloc(c->buf, ncap);
        if (!nb) {
            return false;
        }
        c->buf = nb;
        c->cap = ncap;
    }
    n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
        size_t used = (size_t)(nl - c->buf) + 1;
        *nl = '\0';
        if (nl > c->buf && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        qt_line(c, c->buf);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        c->buf[c->len] = '\0';
    }
    return true;
}

void qtest_conn_free(QtestConn *c)
{
    if (c) {
        close(c->fd);
        free(c->buf);
        free(c);
    }
}
