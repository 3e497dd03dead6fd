// core/arch.c: names of the block-specification kinds (core/arch.h).
#include "core/arch.h"

const char *cpr_norm_kind_name(enum cpr_norm_kind k) {
    switch (k) {
    case CPR_NORM_RMS: return "rms";
    case CPR_NORM_LAYER: return "layernorm";
    case CPR_NORM_RMS_1P: return "rms_1p";
    }
    return "?";
}

const char *cpr_pos_kind_name(enum cpr_pos_kind k) {
    switch (k) {
    case CPR_POS_ROPE: return "rope";
    case CPR_POS_LEARNED: return "learned";
    }
    return "?";
}

const char *cpr_mlp_kind_name(enum cpr_mlp_kind k) {
    switch (k) {
    case CPR_MLP_SWIGLU: return "swiglu";
    case CPR_MLP_RELU: return "relu";
    case CPR_MLP_GEGLU_TANH: return "geglu_tanh";
    case CPR_MLP_GELU: return "gelu";
    case CPR_MLP_GELU_TANH: return "gelu_tanh";
    }
    return "?";
}

const char *cpr_resid_kind_name(enum cpr_resid_kind k) {
    switch (k) {
    case CPR_RESID_SEQUENTIAL: return "sequential";
    case CPR_RESID_PARALLEL: return "parallel";
    }
    return "?";
}

const char *cpr_qkv_kind_name(enum cpr_qkv_kind k) {
    switch (k) {
    case CPR_QKV_SEPARATE: return "separate";
    case CPR_QKV_FUSED_HEADS: return "fused-heads";
    case CPR_QKV_FUSED_CONCAT: return "fused-concat";
    }
    return "?";
}
