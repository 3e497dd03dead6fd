// core/struct_pad.h: a width-pruned model zero-padded back to its config's
// uniform shapes (issue 14, `--out-format hf-padded`), so stock
// LlamaForCausalLM loads it and computes exactly the pruned function.
//
// Removed KV groups get zero q/k/v rows and zero o_proj columns (their
// attention output is softmax(.) @ 0 = 0 and o_proj adds 0); removed MLP
// channels get zero gate/up rows and zero down_proj columns (SiLU(0) * 0 =
// 0). Kept rows and columns go back to their original positions (the plan's
// masks), bytes copied in the tensor's dtype. Biases: LLaMA's
// attention_bias gives q/k/v/o all a bias and mlp_bias gives gate/up/down
// all one, so when any layer has an o_proj (down_proj) bias from FLAP's
// compensation, every layer gets o (down) biases (zero where none) and the
// config's qkv_bias (mlp_bias) is set: zero q/k/v biases here, zero gate/up
// biases written by data/model_save.c.
// OPT, GPT-2 and GPT-NeoX (non-gated, biases on every linear in their stock
// configs): removed heads get zero q/k/v rows and bias elements (fused
// q/k/v: at the head's positions) and zero out_proj columns, removed
// channels zero fc1 rows and bias elements (relu / gelu(0) = 0) and zero
// fc2 columns; the config is unchanged (GPT-NeoX with attention_bias false
// and a compensation bias on attention.dense is refused).
#ifndef CPR_CORE_STRUCT_PAD_H
#define CPR_CORE_STRUCT_PAD_H

#include "core/model.h"
#include "core/status.h"
#include "core/struct_plan.h"

// out = m (pruned by p from a uniform model of m->cfg's shapes) padded back
// to m->cfg's shapes. Weights are owned copies; norms and embeddings are
// borrowed views of m's (m must outlive out; free out with cpr_model_free).
// Errors: CPR_ERR_UNSUPPORTED (not LLaMA SwiGLU / OPT / GPT-2 / GPT-NeoX,
// a removed sub-block, compressed weights, a bias the stock config
// cannot express), CPR_ERR_ARG (plan and model disagree: layer count or
// kept units, e.g. a source that was not uniform), CPR_ERR_NOMEM.
enum cpr_status cpr_struct_pad(const struct cpr_struct_plan *p,
                               const struct cpr_model *m,
                               struct cpr_model *out, struct cpr_err *err);

// The checks cpr_struct_pad will make that the source model alone decides,
// run before any calibration: LLaMA arch with SwiGLU, every layer with both
// sub-blocks, dense weights, no bias LlamaConfig cannot express, and every
// layer of the config's shape (uniform). Errors: CPR_ERR_UNSUPPORTED.
enum cpr_status cpr_struct_pad_check_source(const struct cpr_model *m,
                                            struct cpr_err *err);

#endif
