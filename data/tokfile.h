// data/tokfile.h: token files — a token id stream fixed bit for bit, so
// calibration and evaluation windows can be shared and reproduced.
//
// Layout (all integers little-endian):
//   0   8  magic "CPRTOK1\0"
//   8   4  version (1)
//   12  4  bytes per id: 2 (uint16) or 4 (uint32)
//   16  8  count of ids
//   24  32 sha256 digest of the tokenizer file the ids came from (all zero
//          when unknown)
//   56  8  reserved, zero
//   64  count ids
// The writer picks uint16 when every id fits, and writes atomically
// (temporary file + rename).
// The tokenizer hash is the identity of the ids: `cprune eval --tokens`
// compares it with the sha256 of the model's tokenizer file and refuses a
// mismatch (ids of one vocabulary read as another's give a meaningless
// perplexity); the token cache (cli/tokcache.h) keys on it. All zero means
// "unknown" (a writer without a tokenizer): eval then warns and goes on.
// Every version-1 file has the field, so there is no older layout to read.
#ifndef CPR_DATA_TOKFILE_H
#define CPR_DATA_TOKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define CPR_TOKFILE_HEADER 64

// Write n ids. tokenizer_sha256: 64 hex chars or NULL. Ids must be >= 0.
enum cpr_status cpr_tokfile_write(const char *path, const int32_t *ids,
                                  int64_t n, const char *tokenizer_sha256,
                                  struct cpr_err *err);

// Read a token file into a malloc'd *ids of *n ids. vocab > 0 checks every
// id < vocab; tokenizer_sha256 (65 bytes, may be NULL) receives the
// recorded tokenizer hash in hex ("" when unknown). Errors name the file,
// field and expected vs found: CPR_ERR_FORMAT (magic, version, id size,
// size vs count, id out of range), CPR_ERR_NOTFOUND, CPR_ERR_IO,
// CPR_ERR_NOMEM.
enum cpr_status cpr_tokfile_read(const char *path, int64_t vocab,
                                 int32_t **ids, int64_t *n,
                                 char *tokenizer_sha256, struct cpr_err *err);

// The same checks on a token file image in memory (data[0..len), any
// alignment); path (may be NULL) names it in errors. For fuzzing and for
// callers that already hold the bytes.
enum cpr_status cpr_tokfile_parse(const void *data, size_t len,
                                  const char *path, int64_t vocab,
                                  int32_t **ids, int64_t *n,
                                  char *tokenizer_sha256, struct cpr_err *err);

#endif
