// data/arch_opt.c: the tensor-name table of OPT (OPTForCausalLM, as
// transformers saves it: "model.decoder." prefix, lm_head tied to
// embed_tokens; data/arch.h).
#include "data/arch.h"

#define T(suffix, field, rule)                                                 \
    {suffix, offsetof(struct cpr_layer, field), rule, 0}

static const struct cpr_tensor_name opt_layer[] = {
    T("self_attn.k_proj.weight", wk, CPR_SHAPE_KV_IN),
    T("self_attn.k_proj.bias", bk, CPR_SHAPE_KV_VEC),
    T("self_attn.v_proj.weight", wv, CPR_SHAPE_KV_IN),
    T("self_attn.v_proj.bias", bv, CPR_SHAPE_KV_VEC),
    T("self_attn.q_proj.weight", wq, CPR_SHAPE_Q_IN),
    T("self_attn.q_proj.bias", bq, CPR_SHAPE_Q_VEC),
    T("self_attn.out_proj.weight", wo, CPR_SHAPE_O),
    T("self_attn.out_proj.bias", bo, CPR_SHAPE_HIDDEN),
    T("self_attn_layer_norm.weight", attn_norm, CPR_SHAPE_HIDDEN),
    T("self_attn_layer_norm.bias", attn_norm_b, CPR_SHAPE_HIDDEN),
    T("fc1.weight", w_up, CPR_SHAPE_MLP_IN),
    T("fc1.bias", b_up, CPR_SHAPE_MLP_VEC),
    T("fc2.weight", w_down, CPR_SHAPE_MLP_OUT),
    T("fc2.bias", b_down, CPR_SHAPE_HIDDEN),
    T("final_layer_norm.weight", mlp_norm, CPR_SHAPE_HIDDEN),
    T("final_layer_norm.bias", mlp_norm_b, CPR_SHAPE_HIDDEN),
};
#undef T

const struct cpr_arch_names cpr_arch_names_opt = {
    .family = "opt",
    .embed = "model.decoder.embed_tokens.weight",
    .final_norm = "model.decoder.final_layer_norm.weight",
    .lm_head = "lm_head.weight",
    .final_norm_bias = "model.decoder.final_layer_norm.bias",
    .pos_embed = "model.decoder.embed_positions.weight",
    .layer_prefix = "model.decoder.layers.%lld.",
    .layer = opt_layer,
    .n_layer = sizeof opt_layer / sizeof opt_layer[0],
};
