// data/tokenizer.c: the kind-independent tokenizer API (tokenizer.h).
#include "data/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/sha256.h"

#define MAX_TOKENIZER_BYTES ((size_t)256 << 20)

enum cpr_status cpr_tokenizer_load(struct cpr_tokenizer *t, const char *path,
                                   enum cpr_tokenizer_kind kind,
                                   int64_t vocab_size, struct cpr_err *err) {
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->vocab_size = vocab_size;
    t->bos_id = t->eos_id = -1;
    snprintf(t->source, sizeof t->source, "%s", path);
    if (!cpr_path_is_file(path))
        return cpr_err_set(err, CPR_ERR_NOTFOUND, "tokenizer %s not found", path);
    char *buf;
    size_t len;
    CPR_TRY(cpr_file_read_all(path, MAX_TOKENIZER_BYTES, &buf, &len, err));
    unsigned char digest[32];
    cpr_sha256(buf, len, digest);
    cpr_sha256_hex(digest, t->sha256);
    enum cpr_status s;
    if (kind == CPR_TOKENIZER_HF_JSON) {
        // tokenizer_config.json beside it gives BOS/EOS (optional)
        char cfg_path[1100], *cfg = NULL, *slash;
        size_t cfg_len = 0;
        snprintf(cfg_path, sizeof cfg_path, "%s", path);
        slash = strrchr(cfg_path, '/');
        snprintf(slash ? slash + 1 : cfg_path,
                 sizeof cfg_path - (size_t)(slash ? slash + 1 - cfg_path : 0),
                 "tokenizer_config.json");
        s = CPR_OK;
        if (cpr_path_is_file(cfg_path))
            s = cpr_file_read_all(cfg_path, (size_t)16 << 20, &cfg, &cfg_len, err);
        if (!s) s = cpr_tok_hfbpe_load(t, buf, len, cfg, cfg_len, err);
        free(cfg);
    } else {
        s = cpr_tok_llama2c_load(t, buf, len, err);
        t->add_bos = 1; // run.c: encode(..., bos=1, ...)
    }
    free(buf);
    if (s) cpr_tokenizer_free(t);
    return s;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum cpr_status cpr_tokenizer_load_for_model(struct cpr_tokenizer *t,
                                             const char *model_path,
                                             const char *override,
                                             int64_t vocab_size,
                                             struct cpr_err *err) {
    memset(t, 0, sizeof *t);
    if (override)
        return cpr_tokenizer_load(t, override,
                                  ends_with(override, ".json")
                                      ? CPR_TOKENIZER_HF_JSON
                                      : CPR_TOKENIZER_LLAMA2C,
                                  vocab_size, err);
    char path[1024];
    enum cpr_tokenizer_kind kind;
    CPR_TRY(cpr_model_find_tokenizer(model_path, path, sizeof path, &kind, err));
    return cpr_tokenizer_load(t, path, kind, vocab_size, err);
}

enum cpr_status cpr_tokenizer_encode(const struct cpr_tokenizer *t,
                                     const char *text, size_t len,
                                     int add_bos, int32_t **ids, int64_t *n,
                                     struct cpr_err *err) {
    *ids = NULL;
    *n = 0;
    if (!t->impl)
        return cpr_err_set(err, CPR_ERR_ARG, "tokenizer %s is not loaded",
                           t->source);
    if (t->kind == CPR_TOKENIZER_HF_JSON)
        return cpr_tok_hfbpe_encode(t, text, len, add_bos, ids, n, err);
    return cpr_tok_llama2c_encode(t, text, len, add_bos, ids, n, err);
}

const char *cpr_tokenizer_piece(const struct cpr_tokenizer *t, int32_t id,
                                size_t *len) {
    if (!t->impl) return NULL;
    if (t->kind == CPR_TOKENIZER_HF_JSON) return cpr_tok_hfbpe_piece(t, id, len);
    return cpr_tok_llama2c_piece(t, id, len);
}

void cpr_tokenizer_free(struct cpr_tokenizer *t) {
    if (t->kind == CPR_TOKENIZER_LLAMA2C) cpr_tok_llama2c_free(t);
    else cpr_tok_hfbpe_free(t);
    memset(t, 0, sizeof *t);
}
