// data/sha256.h: SHA-256 (FIPS 180-4), streaming and whole-file.
//
// Used for model_sha256 in eval reports and for the token-stream hashes of
// `cprune tokenize`. Plain portable C, about 200-400 MB/s: fine for files
// of a few GB, not a crypto library (no constant-time claims needed here).
#ifndef CPR_DATA_SHA256_H
#define CPR_DATA_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct cpr_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;        // total fed so far
    unsigned char buf[64];   // partial block
    size_t n_buf;
};

void cpr_sha256_init(struct cpr_sha256 *s);
void cpr_sha256_update(struct cpr_sha256 *s, const void *data, size_t n);
// Writes the 32-byte digest; s must be re-initialized before reuse.
void cpr_sha256_final(struct cpr_sha256 *s, unsigned char out[32]);

// One-shot digest of a buffer.
void cpr_sha256(const void *data, size_t n, unsigned char out[32]);
// Lower-case hex of a digest, NUL-terminated (65 bytes).
void cpr_sha256_hex(const unsigned char digest[32], char out[65]);

// Lower-case hex digest of a whole file (read through mmap).
// Errors: CPR_ERR_NOTFOUND, CPR_ERR_IO.
enum cpr_status cpr_file_sha256(const char *path, char out[65],
                                struct cpr_err *err);

#endif
