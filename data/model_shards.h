// data/model_shards.h: streaming writer of a Hugging Face sharded model
// directory, one shard per decoder block, written as soon as the block is
// final, so a pruning run never holds more than one block of owned
// weights and a killed run can be resumed:
//   model-00001-of-0000N.safetensors ... one per block (N = layers + 1),
//   model-0000N-of-0000N.safetensors     embeddings, final norm, lm_head,
//   model.safetensors.index.json         {"metadata": {"total_size"},
//                                         "weight_map": name -> shard},
//   config.json, tokenizer files         as data/model_save.h.
// Tensor names, dtypes and the RoPE row permutation are those of
// data/model_save.h, so cpr_model_load, transformers and
// tests/oracle/ppl_oracle.py read the result like any sharded checkpoint.
//
// Work directory: "<out_dir>.partial" (a fixed name, so a later run can
// find it). Each block shard is written atomically, then its sha256 goes
// to "<shard>.sha256"; every block shard's __metadata__ holds the caller's
// pairs plus "cprune.block" (its index) and "cprune.run_key" (a digest of
// everything that determines the weights: model, method, options,
// calibration). When the last shard, the index and config.json are
// written the work directory is renamed to out_dir.
//
// Resume: a block counts as done when its shard and .sha256 exist, the
// file hashes to that digest, opens as valid safetensors, and its metadata
// has the same run_key and block index and the expected tensor names and
// shapes. Blocks are taken in order up to the first that fails; every
// later shard is deleted and rewritten.
//
// Memory: after a block shard is written it is mapped read-only and the
// model's tensors of that block are replaced by views of it (their owned
// copies freed), except rows-permuted q/k of interleaved-RoPE models,
// which stay owned. The views live until cpr_shards_close, which must
// come after the last use of the model.
#ifndef CPR_DATA_MODEL_SHARDS_H
#define CPR_DATA_MODEL_SHARDS_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/status.h"
#include "data/model_save.h"
#include "data/safetensors.h"

struct cpr_shards {
    char final[1100], dir[1120];
    int64_t n_layers;
    const char *const *meta; // caller's pairs (borrowed), see model_save.h
    size_t n_meta;
    char run_key[65];
    struct cpr_safetensors *maps; // n_layers + 1, mapped shards
    uint64_t total_size;          // tensor bytes written so far
    int tmp_slot;                 // data/tmpfiles.h registration, or -1
};

// Start (or, with resume, continue) writing m to out_dir. Checks the
// destination like cpr_model_save_check_dest (replace = --force). Without
// resume an existing work directory is refused (CPR_ERR_ARG, suggesting
// --resume). With resume *done receives how many leading blocks are
// already written and valid (0 when there is no work directory).
// Errors: CPR_ERR_ARG, CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_shards_begin(struct cpr_shards *w,
                                 const struct cpr_model *m,
                                 const char *out_dir, const char *const *meta,
                                 size_t n_meta, const char run_key[65],
                                 int replace, int resume, int64_t *done,
                                 struct cpr_err *err);

// Write block l's shard (see above) and swap the block's tensors for
// views of it. Errors: CPR_ERR_IO, CPR_ERR_NOMEM, CPR_ERR_SHAPE.
enum cpr_status cpr_shards_write_block(struct cpr_shards *w,
                                       struct cpr_model *m, int64_t l,
                                       struct cpr_err *err);

// Put the weights of block l (< *done of cpr_shards_begin) from its shard
// into m (views; q/k un-permuted into owned copies for interleaved RoPE).
enum cpr_status cpr_shards_load_block(struct cpr_shards *w,
                                      struct cpr_model *m, int64_t l,
                                      struct cpr_err *err);

// Write the last shard (embeddings, norm, head) with meta + extra pairs
// (e.g. the final sparsity), the index, config.json and the tokenizer
// (opts: tokenizer_from / tokenizer_file; meta and replace are ignored),
// then rename the work directory to out_dir.
enum cpr_status cpr_shards_finish(struct cpr_shards *w,
                                  const struct cpr_model *m,
                                  const char *const *extra_meta,
                                  size_t n_extra,
                                  const struct cpr_model_save_opts *opts,
                                  struct cpr_err *err);

// Unmap the shards (views into them become invalid). Accepts a zeroed w.
void cpr_shards_close(struct cpr_shards *w);

// "model-%05d-of-%05d.safetensors" for shard i (0-based) of n.
void cpr_shards_name(char *buf, size_t cap, int64_t i, int64_t n);

#endif
