// cli/tokcache.h: tokenization with an on-disk cache of token files, so a
// sweep of many runs tokenizes each corpus once.
//
// The cache key is (tokenizer file sha256, text sha256, add_bos): the file
// is DIR/<tokenizer sha256>-<text sha256>-<bos0|bos1>.tok (data/tokfile.h,
// which also records the tokenizer hash; it is checked on reading). A hit
// reads the ids back; a miss tokenizes and writes the file atomically (so
// concurrent runs at worst tokenize twice, never read a partial file). A
// cache entry that fails to read (corrupt, wrong tokenizer) is ignored and
// rewritten. cache_dir NULL: plain tokenization.
#ifndef CPR_CLI_TOKCACHE_H
#define CPR_CLI_TOKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/tokenizer.h"

// *hit = 1 when the ids came from the cache (may be NULL).
enum cpr_status cli_tokenize_cached(const char *cache_dir,
                                    const struct cpr_tokenizer *tok,
                                    const char *text, size_t len, int add_bos,
                                    int32_t **ids, int64_t *n, int *hit,
                                    struct cpr_err *err);

#endif
