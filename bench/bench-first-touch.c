/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Why colo-checkpoint's flush of a multifd "none" checkpoint can take
 * several times a memcpy of the same pages (docs/performance.md).
 *
 * With compression none the multifd engine reads pages straight into the
 * COLO cache (readv into the page slots), so the first write to a cache
 * page is made by the kernel inside recv(); with zstd, or on the main
 * channel, it is made by user code.  This program fills a fresh
 * anonymous 4 MiB "cache" in another thread, either by recv() from a
 * loopback socket or by memcpy, then times the flush: a page-by-page
 * memcpy from the cache to a "guest" buffer that was written before.  It
 * repeats on the same (now mapped) cache: laps 2 and 3.  --pretouch
 * writes the cache from user code before the first recv().
 *
 * usage: bench-first-touch [--memcpy] [--pretouch]
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FT_BYTES (4u << 20)
#define FT_PAGE 4096u
#define FT_LAPS 3

typedef struct FtJob {
    int fd_out, fd_in;
    bool by_recv;
    const uint8_t *data;
    uint8_t *cache;
} FtJob;

static double ft_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ft_die(const char *what)
{
    perror(what);
    exit(1);
}

static void *ft_send(void *opaque)
{
    FtJob *j = opaque;
    size_t off = 0;

    while (off < FT_BYTES) {
        ssize_t n = send(j->fd_out, j->data + off, FT_BYTES - off, 0);

        if (n <= 0) {
            ft_die("send");
        }
        off += (size_t)n;
    }
    return NULL;
}

/* The receiving thread: the first writer of the cache pages. */
static void *ft_fill(void *opaque)
{
    FtJob *j = opaque;
    size_t off = 0;

    if (!j->by_recv) {
        memcpy(j->cache, j->data, FT_BYTES);
        return NULL;
    }
    while (off < FT_BYTES) {
        ssize_t n = recv(j->fd_in, j->cache + off, FT_BYTES - off, 0);

        if (n <= 0) {
            ft_die("recv");
        }
        off += (size_t)n;
    }
    return NULL;
}

static void ft_pair(int *cli, int *srv)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &al) < 0) {
        ft_die("listen");
    }
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    if (*cli < 0 || connect(*cli, (struct sockaddr *)&a, sizeof(a)) < 0) {
        ft_die("connect");
    }
    *srv = accept(l, NULL, NULL);
    if (*srv < 0) {
        ft_die("accept");
    }
    close(l);
}

int main(int argc, char **argv)
{
    FtJob job = { .by_recv = true };
    uint8_t *data, *guest;
    bool pretouch = false;
    size_t off;
    int a, lap;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--memcpy")) {
            job.by_recv = false;
        } else if (!strcmp(argv[a], "--pretouch")) {
            pretouch = true;
        } else {
            fprintf(stderr, "usage: %s [--memcpy] [--pretouch]\n", argv[0]);
            return 2;
        }
    }
    data = malloc(FT_BYTES);
    job.cache = mmap(NULL, FT_BYTES, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    guest = mmap(NULL, FT_BYTES, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!data || job.cache == MAP_FAILED || guest == MAP_FAILED) {
        ft_die("alloc");
    }
    for (off = 0; off < FT_BYTES; off++) {
        data[off] = (uint8_t)(off * 2654435761u >> 13);
    }
    memset(guest, 0, FT_BYTES);
    if (pretouch) {
        memset(job.cache, 1, FT_BYTES);
    }
    job.data = data;
    ft_pair(&job.fd_out, &job.fd_in);
    for (lap = 1; lap <= FT_LAPS; lap++) {
        pthread_t ts, tf;
        struct rusage r0, r1;
        double t0, t;

        pthread_create(&tf, NULL, ft_fill, &job);
        if (job.by_recv) {
            pthread_create(&ts, NULL, ft_send, &job);
            pthread_join(ts, NULL);
        }
        pthread_join(tf, NULL);
        getrusage(RUSAGE_THREAD, &r0);
        t0 = ft_now();
        for (off = 0; off < FT_BYTES; off += FT_PAGE) {
            memcpy(guest + off, job.cache + off, FT_PAGE);
        }
        t = ft_now() - t0;
        getrusage(RUSAGE_THREAD, &r1);
        if (memcmp(guest, data, FT_BYTES) != 0) {
            fprintf(stderr, "lap %d: guest differs from the data\n", lap);
            return 1;
        }
        printf("cache filled by %s%s, lap %d: flush of %u pages %.3f ms "
               "(%.2f us/page), minor faults %ld\n",
               job.by_recv ? "recv" : "memcpy", pretouch ? " (pretouched)" : "",
               lap, FT_BYTES / FT_PAGE, t * 1e3, t * 1e6 / (FT_BYTES / FT_PAGE),
               r1.ru_minflt - r0.ru_minflt);
    }
    return 0;
}
