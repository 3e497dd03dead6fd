// cli/sparse_out.h: write a (pruned) model with its linears compressed
// (auto layout, core/weight.h) as an HF directory (data/sparse_st.h): the
// output of `cprune compress` and of `cprune prune --out-format sparse`.
#ifndef CPR_CLI_SPARSE_OUT_H
#define CPR_CLI_SPARSE_OUT_H

#include <stddef.h>

#include "core/model.h"
#include "core/status.h"

// m is not modified (linears are compressed into copies; an interleaved-
// RoPE model gets half-split q/k copies first). meta: n_meta key/value
// pairs for __metadata__; tokenizer files are copied from model path
// tok_from when it has one. Prints nothing.
enum cpr_status cli_save_sparse(const struct cpr_model *m, const char *out_dir,
                                const char *const *meta, size_t n_meta,
                                const char *tok_from, struct cpr_err *err);

#endif
