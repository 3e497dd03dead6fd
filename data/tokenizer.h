// data/tokenizer.h: text -> token ids, as the model's own tokenizer does.
//
// Kinds (enum cpr_tokenizer_kind in data/model_load.h):
//   CPR_TOKENIZER_LLAMA2C  llama2.c tokenizer .bin (data/tok_llama2c.c):
//     run.c's encode() exactly: optional BOS (id 1), the dummy-prefix " "
//     when the text is non-empty, one token per UTF-8 code point found in
//     the vocabulary or one <0xNN> token per byte (id = byte + 3), then
//     repeatedly merge the adjacent pair whose concatenation has the
//     highest vocabulary score, the leftmost pair on ties. A heap over
//     adjacent pairs gives the same merge order in O(n log n) instead of
//     run.c's O(n^2) rescans.
//   CPR_TOKENIZER_HF_JSON  tokenizer.json with a BPE model, as Hugging Face
//     `tokenizers` runs it (pipeline in data/tok_hfbpe.h): SentencePiece
//     style (Prepend/Replace normalizer or Metaspace; byte fallback; LLaMA-2,
//     TinyStories) and byte-level (GPT-2 / Llama-3 / Qwen2 regex + byte map,
//     ignore_merges), added tokens matched first (leftmost-longest). BOS/EOS
//     ids and whether they are added from tokenizer_config.json beside it
//     (bos_token, add_bos_token, add_eos_token), else from the
//     post_processor's TemplateProcessing. Other pipelines are refused with
//     CPR_ERR_UNSUPPORTED naming the field.
#ifndef CPR_DATA_TOKENIZER_H
#define CPR_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/model_load.h"

struct cpr_tokenizer {
    enum cpr_tokenizer_kind kind;
    int64_t vocab_size;
    int32_t bos_id;     // -1 when none
    int32_t eos_id;     // -1 when none
    int add_bos;        // 1: the tokenizer's own convention puts BOS first
                        // (llama2.c: always; HF: add_bos_token / template)
                        // — what callers should pass as encode's add_bos
    char source[1024];  // path it was loaded from
    char sha256[65];    // of the tokenizer file's bytes (its identity)
    void *impl;         // kind-specific state
};

// Load the tokenizer file at `path` of the given kind. vocab_size: the
// model's vocabulary size (llama2.c tokenizer files do not store it; it is
// read from the checkpoint header) — 0 means "unknown" and is an error for
// llama2.c files. Errors name the file and the entry: CPR_ERR_FORMAT
// (truncated, negative lengths, trailing bytes), CPR_ERR_NOTFOUND,
// CPR_ERR_UNSUPPORTED, CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_tokenizer_load(struct cpr_tokenizer *t, const char *path,
                                   enum cpr_tokenizer_kind kind,
                                   int64_t vocab_size, struct cpr_err *err);

// The tokenizer of a model: `override` when non-NULL (its kind decided by
// its extension: .json -> HF, else llama2.c), else the one found by
// cpr_model_find_tokenizer. vocab_size as above.
enum cpr_status cpr_tokenizer_load_for_model(struct cpr_tokenizer *t,
                                             const char *model_path,
                                             const char *override,
                                             int64_t vocab_size,
                                             struct cpr_err *err);

// Encode len bytes of text (NUL bytes are encoded as bytes, not stops)
// into a malloc'd array *ids of *n ids; add_bos puts BOS (when the
// tokenizer has one) at position 0 — pass t->add_bos to follow the
// tokenizer's convention. HF tokenizers with add_eos_token append EOS.
// The text should be valid UTF-8 (corpus loaders check); other bytes are
// encoded byte by byte, never read out of bounds.
enum cpr_status cpr_tokenizer_encode(const struct cpr_tokenizer *t,
                                     const char *text, size_t len,
                                     int add_bos, int32_t **ids, int64_t *n,
                                     struct cpr_err *err);

// The piece of id (its bytes and length), or NULL when out of range.
const char *cpr_tokenizer_piece(const struct cpr_tokenizer *t, int32_t id,
                                size_t *len);

void cpr_tokenizer_free(struct cpr_tokenizer *t);

// ---- kind-specific entry points (used by tokenizer.c) ----
enum cpr_status cpr_tok_llama2c_load(struct cpr_tokenizer *t, const char *buf,
                                     size_t len, struct cpr_err *err);
enum cpr_status cpr_tok_llama2c_encode(const struct cpr_tokenizer *t,
                                       const char *text, size_t len,
                                       int add_bos, int32_t **ids, int64_t *n,
                                       struct cpr_err *err);
const char *cpr_tok_llama2c_piece(const struct cpr_tokenizer *t, int32_t id,
                                  size_t *len);
void cpr_tok_llama2c_free(struct cpr_tokenizer *t);
// config_buf: tokenizer_config.json's bytes or NULL.
enum cpr_status cpr_tok_hfbpe_load(struct cpr_tokenizer *t, const char *buf,
                                   size_t len, const char *config_buf,
                                   size_t config_len, struct cpr_err *err);
enum cpr_status cpr_tok_hfbpe_encode(const struct cpr_tokenizer *t,
                                     const char *text, size_t len,
                                     int add_bos, int32_t **ids, int64_t *n,
                                     struct cpr_err *err);
const char *cpr_tok_hfbpe_piece(const struct cpr_tokenizer *t, int32_t id,
                                size_t *len);
void cpr_tok_hfbpe_free(struct cpr_tokenizer *t);

#endif
