// data/model_save.h: write a cpr_model as a complete Hugging Face model
// directory that transformers (and cpr_model_load) can load:
//   config.json        generated from m->cfg (data/hf_config.h)
//   model.safetensors  every tensor under its HF name, with __metadata__
//                      {"format": "pt", <caller's pairs>...}
//   tokenizer files    copied from a source model when asked
//
// RoPE convention: HF Llama rotates pairs (i, i + head_dim/2); llama2.c
// and Meta checkpoints rotate (2i, 2i+1). For a model with rope_style
// CPR_ROPE_INTERLEAVED the q and k projections (and q/k biases) are
// written with their rows permuted within each head,
//     new row h*hd + p*(hd/2) + i  =  old row h*hd + 2i + p
//     (i < hd/2, p in {0, 1}),
// which is the `permute` of transformers'
// convert_llama_weights_to_hf.py. q.k dot products are unchanged because
// both sides get the same permutation, so the saved model computes the
// same function under HF's convention; config.json describes it as plain
// Llama.
//
// Tied embeddings are stored once, as model.embed_tokens.weight (what
// transformers saves). Atomicity: out_dir is always built as
// "<out_dir>.tmp.XXXXXX" beside it (registered in data/tmpfiles.h while
// it exists) and renamed into place; an existing directory is never
// merged into (see cpr_model_save_check_dest).
// Refused (CPR_ERR_ARG): writing into the directory the model was loaded
// from, or over any file the model's weights are mapped from.
#ifndef CPR_DATA_MODEL_SAVE_H
#define CPR_DATA_MODEL_SAVE_H

#include <stddef.h>

#include "core/model.h"
#include "core/status.h"

struct cpr_model_save_opts {
    // __metadata__ pairs: meta[2i] = key, meta[2i+1] = value (e.g.
    // "cprune.method", "wanda"). "format": "pt" is always written first.
    const char *const *meta;
    size_t n_meta;
    // Model path (as given to cpr_model_load) whose tokenizer files are
    // copied: from an HF directory tokenizer.json, tokenizer_config.json,
    // special_tokens_map.json, tokenizer.model, added_tokens.json,
    // generation_config.json (those present); from a llama2.c checkpoint
    // its tokenizer .bin, saved as tokenizer.bin. NULL: none.
    const char *tokenizer_from;
    // A tokenizer file to copy instead (the --tokenizer the model was used
    // with): *.json is saved as tokenizer.json, anything else as
    // tokenizer.bin. NULL: use tokenizer_from.
    const char *tokenizer_file;
    // 1: an existing non-empty out_dir that is a cprune output
    // (cpr_model_is_cprune_output) is replaced atomically (the new
    // directory is built beside it, then swapped in). 0: refused.
    int replace;
};

// Where the output may go, checked before any work (cpr_model_save_hf
// checks again): out_dir does not exist, or is an empty directory, or (with
// replace) is a cprune output; its parent folder exists and is writable.
// cprune never writes into an existing non-empty directory. Errors:
// CPR_ERR_ARG (exists), CPR_ERR_NOTFOUND (no parent), CPR_ERR_IO (not
// writable).
enum cpr_status cpr_model_save_check_dest(const char *out_dir, int replace,
                                          struct cpr_err *err);
// 1 when dir holds config.json and a model.safetensors whose __metadata__
// has "cprune.version" (what cpr_model_save_hf writes for the CLI).
int cpr_model_is_cprune_output(const char *dir);
// Errors: CPR_ERR_ARG (refused destination), CPR_ERR_SHAPE / FORMAT (the
// model fails cpr_model_validate), CPR_ERR_IO, CPR_ERR_NOMEM, and those of
// cpr_model_find_tokenizer when tokenizer_from has none.
enum cpr_status cpr_model_save_hf(const struct cpr_model *m,
                                  const char *out_dir,
                                  const struct cpr_model_save_opts *opts,
                                  struct cpr_err *err);

// The permutation above applied to the rows of a (n_heads*head_dim, cols)
// tensor: an owned contiguous copy in src's dtype. CPR_ERR_SHAPE when the
// rows are not n_heads * head_dim or head_dim is odd.
enum cpr_status cpr_rope_rows_to_half(const struct cpr_tensor *src,
                                      int64_t n_heads, int64_t head_dim,
                                      struct cpr_tensor *dst,
                                      struct cpr_err *err);

#endif
