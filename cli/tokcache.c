// cli/tokcache.c: token-file cache (contract in cli/tokcache.h).
#include "cli/tokcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/fileio.h"
#include "data/sha256.h"
#include "data/tokfile.h"

enum cpr_status cli_tokenize_cached(const char *cache_dir,
                                    const struct cpr_tokenizer *tok,
                                    const char *text, size_t len, int add_bos,
                                    int32_t **ids, int64_t *n, int *hit,
                                    struct cpr_err *err) {
    if (hit) *hit = 0;
    if (!cache_dir)
        return cpr_tokenizer_encode(tok, text, len, add_bos, ids, n, err);
    if (mkdir(cache_dir, 0777) != 0 && errno != EEXIST)
        return cpr_err_set(err, CPR_ERR_IO, "%s: cannot create the token "
                           "cache folder: %s", cache_dir, strerror(errno));
    unsigned char d[32];
    char text_sha[65], path[1024];
    cpr_sha256(text, len, d);
    cpr_sha256_hex(d, text_sha);
    int w = snprintf(path, sizeof path, "%s/%s-%s-bos%d.tok", cache_dir,
                     tok->sha256, text_sha, add_bos ? 1 : 0);
    if (w < 0 || (size_t)w >= sizeof path)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: token cache path too long",
                           cache_dir);
    if (cpr_path_is_file(path)) {
        char rec[65] = "";
        struct cpr_err e2 = {0};
        *ids = NULL;
        if (cpr_tokfile_read(path, tok->vocab_size, ids, n, rec, &e2) ==
                CPR_OK &&
            !strcmp(rec, tok->sha256)) {
            if (hit) *hit = 1;
            return CPR_OK;
        }
        free(*ids); // unusable entry: tokenize and rewrite it
        *ids = NULL;
    }
    CPR_TRY(cpr_tokenizer_encode(tok, text, len, add_bos, ids, n, err));
    return cpr_tokfile_write(path, *ids, *n, tok->sha256, err);
}
