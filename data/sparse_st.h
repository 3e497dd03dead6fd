// data/sparse_st.h: compressed weights in safetensors files (the layouts of
// core/weight.h), read by the model loader and written by `cprune
// compress`.
//
// A compressed linear `NAME` (e.g. model.layers.0.mlp.up_proj.weight) is
// stored instead of the dense tensor NAME as
//   NAME.values  the kept values in the weight's dtype (F32/BF16/F16),
//                shape [nnz + 64] (64 zero elements of padding at the end);
//   NAME.mask    U8 [rows, ceil(cols/8)]   (bitmask layout), or
//   NAME.idx     U8 [rows, ceil(ceil(cols/4)*2/4)]  (2:4 layout),
// and described in __metadata__ by
//   "cprune.sparse": "1"                       (format version)
//   "cprune.sparse.NAME": "bitmask ROWS COLS" or "nm24 ROWS COLS".
// Every other tensor is stored densely under its usual HF name, so the
// directory is an ordinary HF model directory apart from the compressed
// linears. Loading checks the metadata, the shapes against config.json and
// every meta byte (core/weight.h cpr_sparse_view) before a pointer is
// used; the compressed tensors are borrowed views into the mapping.
#ifndef CPR_DATA_SPARSE_ST_H
#define CPR_DATA_SPARSE_ST_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/status.h"
#include "core/tensor.h"
#include "data/safetensors_set.h"

// Load compressed tensor `name` of expected shape (d0, d1) from set into
// out (out->sparse set, owning its layout record; bytes borrowed).
// Errors: CPR_ERR_NOTFOUND (no NAME.values: not compressed), CPR_ERR_FORMAT
// (metadata, shapes, meta bytes; message names file and tensor),
// CPR_ERR_SHAPE (shape differs from config.json), CPR_ERR_NOMEM.
enum cpr_status cpr_sparse_st_take(const struct cpr_st_set *set,
                                   const char *name, int64_t d0, int64_t d1,
                                   struct cpr_tensor *out,
                                   struct cpr_err *err);

// Write m (any mix of dense and compressed linears; rope_style must be
// half-split) as an HF directory out_dir: config.json, model.safetensors
// in the layout above with __metadata__ {"format": "pt", "cprune.sparse":
// "1", per-tensor layouts, then the caller's n_meta pairs}, and the
// tokenizer files of model path `tokenizer_from` (NULL: none). out_dir is
// created when missing; the directory the model was loaded from is
// refused (CPR_ERR_ARG). Errors: CPR_ERR_ARG, CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_sparse_save_hf(const struct cpr_model *m,
                                   const char *out_dir,
                                   const char *const *meta, size_t n_meta,
                                   const char *tokenizer_from,
                                   struct cpr_err *err);

#endif
