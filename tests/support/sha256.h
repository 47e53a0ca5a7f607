/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SHA-256 (FIPS 180-4), for comparing memory against the ground truth of
 * the captures (packets.json page hashes, expected-ramblocks.json).
 * Test support only; no external crypto library needed.
 */
#ifndef MFCOLO_TESTS_SHA256_H
#define MFCOLO_TESTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

typedef struct Sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t fill;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
void sha256_final(Sha256 *s, uint8_t out[SHA256_DIGEST_SIZE]);

/* One-shot digest of @len bytes. */
void sha256_digest(const void *data, size_t len,
                   uint8_t out[SHA256_DIGEST_SIZE]);

/*
 * Lower-case hex of the first @nbytes of the digest of @data into @hex
 * (2 * @nbytes + 1 bytes); nbytes <= 32.  8 bytes give the 16-digit
 * "page_sha256_16" of packets.json.
 */
void sha256_hex(const void *data, size_t len, size_t nbytes, char *hex);

#endif /* MFCOLO_TESTS_SHA256_H */
