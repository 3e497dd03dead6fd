// data/model_load.h: open a model from what researchers already have.
//
// `path` may be
//   - a Hugging Face directory: config.json + model.safetensors, or the
//     shards of model.safetensors.index.json (also accepted: the path of
//     config.json or of a .safetensors file inside such a directory);
//   - a llama2.c legacy checkpoint file (data/llama2c.h);
//   - a directory holding exactly one llama2.c checkpoint .bin (and
//     usually its tokenizer .bin): each .bin is classified by validating
//     the checkpoint header against the file size.
// HF tensors mapped (HF names): model.embed_tokens.weight,
// model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
// post_attention_layernorm, mlp.{gate,up,down}_proj}.weight (+ q/k/v
// .bias for Qwen2), model.norm.weight, lm_head.weight. With tied
// embeddings, whichever of embed_tokens / lm_head is stored serves both
// (embed_tokens wins when both are, as transformers' tie_weights does);
// untied models need both.
// Weights are borrowed read-only views into the mmaps (F32/BF16/F16 as
// stored, never converted wholesale); m->backing owns the mappings and
// cpr_model_free releases them.
#ifndef CPR_DATA_MODEL_LOAD_H
#define CPR_DATA_MODEL_LOAD_H

#include <stddef.h>

#include "core/model.h"
#include "core/status.h"
#include "data/safetensors_write.h"

enum cpr_model_kind {
    CPR_MODEL_KIND_HF = 0,  // Hugging Face directory
    CPR_MODEL_KIND_LLAMA2C, // llama2.c checkpoint file
};

// Classify path; `resolved` receives the HF directory or the checkpoint
// file. Errors: CPR_ERR_NOTFOUND (nothing loadable; the message lists what
// was looked for), CPR_ERR_ARG (several checkpoints in one directory).
enum cpr_status cpr_model_resolve(const char *path, enum cpr_model_kind *kind,
                                  char *resolved, size_t cap,
                                  struct cpr_err *err);

// Load a model (m is overwritten; on failure it is left freed/zeroed).
// Sets m->cfg, tensors, m->format ("hf-safetensors" or "llama2c"),
// m->source (the path as given), backing and backing_free, then runs
// cpr_model_validate. Errors: CPR_ERR_NOTFOUND (files; missing tensors are
// named), CPR_ERR_FORMAT / CPR_ERR_SHAPE (naming file, tensor or field,
// expected vs found), CPR_ERR_UNSUPPORTED (architecture, dtype), CPR_ERR_IO,
// CPR_ERR_NOMEM.
enum cpr_status cpr_model_load(const char *path, struct cpr_model *m,
                               struct cpr_err *err);

enum cpr_tokenizer_kind {
    CPR_TOKENIZER_HF_JSON = 0, // tokenizer.json (HF tokenizers)
    CPR_TOKENIZER_LLAMA2C,     // llama2.c tokenizer .bin
};

// The tokenizer that belongs to model `path`:
//   HF directory -> <dir>/tokenizer.json (else <dir>/tokenizer.bin, which
//                   cprune writes beside models converted from llama2.c);
//   llama2.c checkpoint -> the tokenizer .bin in the same directory:
//                   tokenizer.bin if present, else the single other .bin
//                   that is not a checkpoint.
// out receives the path (cap bytes). Errors: CPR_ERR_NOTFOUND (message
// suggests --tokenizer), CPR_ERR_ARG (several candidates).
enum cpr_status cpr_model_find_tokenizer(const char *path, char *out,
                                         size_t cap,
                                         enum cpr_tokenizer_kind *kind,
                                         struct cpr_err *err);

// sha256 (lower-case hex) identifying the weights of model `path`: of the
// checkpoint file (llama2.c), of model.safetensors, or, for sharded
// checkpoints, of the shard files' bytes concatenated in file-name order.
enum cpr_status cpr_model_sha256(const char *path, char hex[65],
                                 struct cpr_err *err);

// The same digest as cpr_model_sha256 of the path m was loaded from, read
// through m's own mappings (model m from cpr_model_load, else
// CPR_ERR_ARG). Reading every byte there also maps every page of the
// weights into the process (page-table entries, page cache), so a pass
// timed afterwards (`cprune eval`) does not pay those first-touch faults;
// the pages are the ones the path-based hash reads anyway, so this costs
// no more memory than it. The files must not have changed since loading.
enum cpr_status cpr_model_sha256_loaded(const struct cpr_model *m,
                                        char hex[65], struct cpr_err *err);

// The first touch of every page of m's mapped files (model m from
// cpr_model_load, else CPR_ERR_ARG): one load per page, so each page is
// read into the page cache if it was not there and mapped into the process,
// as cpr_model_sha256_loaded does, at a fraction of its cost (a 7B bf16
// model: one minor fault per fault-around window instead of hashing
// 13.5 GB). For timed passes that must not pay first-touch faults when no
// hash is wanted. Does not lock the pages: memory pressure can still evict
// them afterwards.
enum cpr_status cpr_model_touch_loaded(const struct cpr_model *m,
                                       struct cpr_err *err);

// Device/inode of the files behind a model loaded by cpr_model_load (for
// writers that must not overwrite their input). Returns how many exist
// (may exceed cap; only cap are stored); 0 for models built elsewhere.
size_t cpr_model_input_files(const struct cpr_model *m,
                             struct cpr_file_id *ids, size_t cap);

#endif
