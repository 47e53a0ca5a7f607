/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the conformance suite: run mfcolo-replay in-process on the
 * real QEMU 7.2 captures (tests/data), the ground truth of their
 * JSON files, reference memory per checkpoint, and the guest workload
 * oracle of tests/data/qemu-7.2-colo/README.md.
 */
#ifndef MFCOLO_TESTS_CONFORMANCE_H
#define MFCOLO_TESTS_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay.h"

/* The captures directory (argv[1] of the test programs). */
extern const char *conf_captures;
/* "full": the opt-in exhaustive sweep (suite conformance-full). */
extern bool conf_full;

/* Parse argv: captures dir, optional "full", optional cmocka filter. */
void conf_init(int argc, char **argv);

typedef struct ConfBuf {
    uint8_t *data;
    size_t len;
} ConfBuf;

/* Whole file "<captures>/<rel>"; fails the test if missing. */
ConfBuf conf_read(const char *rel);
/* Whole file at an absolute path (NULL data when missing). */
ConfBuf conf_read_abs(const char *path);
void conf_buf_free(ConfBuf *b);
/* "<captures>/<rel>" into a static-free buffer of the caller. */
void conf_path(char *out, size_t size, const char *rel);

/* A private temporary directory (removed by conf_tmp_cleanup). */
const char *conf_tmpdir(void);
void conf_tmp_cleanup(void);
/* Write @len bytes to "<tmpdir>/<name>"; returns the path (static). */
const char *conf_tmp_write(const char *name, const void *data, size_t len);

/* One in-process run of mfcolo-replay. */
typedef struct ConfRun {
    int status;
    char *out; /* stdout text */
    size_t out_len;
    char *err; /* stderr text */
    size_t err_len;
} ConfRun;

/* Run with a NULL-terminated argument list (without argv[0]). */
void conf_replay(ConfRun *r, const ReplayObserver *obs, const char **args);
void conf_run_free(ConfRun *r);

/*
 * The failure contract: status in 1..125, stderr is exactly one line
 * "mfcolo-replay: <where>: offset <offset>: ..."; @where NULL = any,
 * @offset UINT64_MAX = any.
 */
void conf_assert_error_line(const ConfRun *r, const char *where,
                            uint64_t offset);

/* SHA-256 hex of @len bytes. */
void conf_sha_hex(const void *data, size_t len, char hex[65]);

/*
 * A tiny reader for the captures' JSON (flat objects of strings/numbers
 * and arrays of strings).  Returns the value text of "key" inside the
 * object/array text @json (NULL if absent); *@len its length.
 */
const char *conf_json_get(const char *json, size_t jlen, const char *key,
                          size_t *len);
/* The @i-th string of an array value; false past the end. */
bool conf_json_array_str(const char *arr, size_t alen, size_t i, char *out,
                         size_t size);
/* A string value copied into @out. */
bool conf_json_str(const char *val, size_t vlen, char *out, size_t size);

/*
 * The workload oracle on pc.ram (guest/boot.S): the 16 fill pages at
 * 0x10000 hold [v]*k + [v-1]*rest (byte-wise, at most one step), the 8
 * pages at 0x20000 are zero, the 16 pages at 0x30000 are zero except
 * byte 0, whose values across pages also make at most one step.  On
 * failure @why (may be NULL) says where.
 */
bool conf_workload_oracle(const uint8_t *ram, uint64_t len, char *why,
                          size_t why_len);

/*
 * Reference memory of a COLO capture, built from a clean run: every block
 * after precopy, and per checkpoint the pages of each block that differ
 * from precopy.  conf_ref_check compares a table with stage @stage
 * (-1 precopy, k checkpoint k) exactly.
 */
typedef struct ConfRefPage {
    uint32_t block;
    uint64_t offset;
    uint8_t *data;
} ConfRefPage;

typedef struct ConfRefStage {
    size_t npages;
    ConfRefPage *pages;
} ConfRefStage;

typedef struct ConfRef {
    size_t nblocks;
    char (*names)[256];
    uint64_t *lengths;
    uint8_t **pre;  /* precopy copies */
    size_t nstages; /* checkpoints */
    ConfRefStage *stages;
    uint64_t precopy_end; /* = request offset of checkpoint 0 */
    uint64_t *cp_start;   /* request offset of each checkpoint */
    uint64_t *cp_end;     /* offset after each checkpoint's blob */
} ConfRef;

/* Build from a clean replay of main stream @main_rel (+ channels). */
void conf_ref_build(ConfRef *ref, const char **args);
bool conf_ref_check(const ConfRef *ref, const RamTable *ram, long stage,
                    char *why, size_t why_len);
void conf_ref_free(ConfRef *ref);

#endif /* MFCOLO_TESTS_CONFORMANCE_H */
