// data/arch_gpt2.c: the tensor-name table of GPT-2 (GPT2LMHeadModel, as
// transformers saves it: "transformer." prefix, Conv1D weights stored
// (inputs, outputs) and transposed on load and save, learned positions wpe
// without offset, lm_head tied to wte; data/arch.h). Checkpoints saved from
// the bare GPT2Model (the hub's "gpt2" files: "h.0.attn.c_attn.weight")
// load too: "transformer." is optional.
#include "data/arch.h"

#define T(suffix, field, rule, flags)                                          \
    {suffix, offsetof(struct cpr_layer, field), rule, flags}

static const struct cpr_tensor_name gpt2_layer[] = {
    T("ln_1.weight", attn_norm, CPR_SHAPE_HIDDEN, 0),
    T("ln_1.bias", attn_norm_b, CPR_SHAPE_HIDDEN, 0),
    T("attn.c_attn.weight", wqkv, CPR_SHAPE_QKV_IN, CPR_TN_CONV1D),
    T("attn.c_attn.bias", bqkv, CPR_SHAPE_QKV_VEC, 0),
    T("attn.c_proj.weight", wo, CPR_SHAPE_O, CPR_TN_CONV1D),
    T("attn.c_proj.bias", bo, CPR_SHAPE_HIDDEN, 0),
    T("ln_2.weight", mlp_norm, CPR_SHAPE_HIDDEN, 0),
    T("ln_2.bias", mlp_norm_b, CPR_SHAPE_HIDDEN, 0),
    T("mlp.c_fc.weight", w_up, CPR_SHAPE_MLP_IN, CPR_TN_CONV1D),
    T("mlp.c_fc.bias", b_up, CPR_SHAPE_MLP_VEC, 0),
    T("mlp.c_proj.weight", w_down, CPR_SHAPE_MLP_OUT, CPR_TN_CONV1D),
    T("mlp.c_proj.bias", b_down, CPR_SHAPE_HIDDEN, 0),
};
#undef T

const struct cpr_arch_names cpr_arch_names_gpt2 = {
    .family = "gpt2",
    .embed = "transformer.wte.weight",
    .final_norm = "transformer.ln_f.weight",
    .lm_head = "lm_head.weight",
    .final_norm_bias = "transformer.ln_f.bias",
    .pos_embed = "transformer.wpe.weight",
    .layer_prefix = "transformer.h.%lld.",
    .optional_prefix = "transformer.",
    .layer = gpt2_layer,
    .n_layer = sizeof gpt2_layer / sizeof gpt2_layer[0],
};
