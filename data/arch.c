// data/arch.c: the family registry and the tensor-name table helpers
// (data/arch.h); the tables themselves live in data/arch_<family>.c.
#include "data/arch.h"

#include <string.h>

const struct cpr_arch_names *cpr_arch_names_for(enum cpr_arch arch) {
    switch (arch) {
    case CPR_ARCH_LLAMA:
    case CPR_ARCH_MISTRAL:
    case CPR_ARCH_QWEN2:
    case CPR_ARCH_QWEN3:
    case CPR_ARCH_GEMMA: return &cpr_arch_names_llama;
    case CPR_ARCH_OPT: return &cpr_arch_names_opt;
    case CPR_ARCH_GPT_NEOX: return &cpr_arch_names_gpt_neox;
    case CPR_ARCH_GPT2: return &cpr_arch_names_gpt2;
    }
    return &cpr_arch_names_llama;
}

struct cpr_tensor *cpr_tensor_name_slot(struct cpr_layer *L,
                                        const struct cpr_tensor_name *tn) {
    return (struct cpr_tensor *)((char *)L + tn->offset);
}

void cpr_tensor_name_dims(const struct cpr_tensor_name *tn,
                          const struct cpr_model_config *cfg,
                          const struct cpr_layer_shape *sh, int64_t *d0,
                          int64_t *d1) {
    const int64_t h = cfg->hidden, qd = sh->n_heads * sh->head_dim,
                  kvd = sh->n_kv_heads * sh->head_dim, im = sh->intermediate;
    *d1 = -1;
    switch (tn->rule) {
    case CPR_SHAPE_HIDDEN: *d0 = h; break;
    case CPR_SHAPE_Q_IN: *d0 = qd, *d1 = h; break;
    case CPR_SHAPE_KV_IN: *d0 = kvd, *d1 = h; break;
    case CPR_SHAPE_O: *d0 = h, *d1 = qd; break;
    case CPR_SHAPE_Q_VEC: *d0 = qd; break;
    case CPR_SHAPE_KV_VEC: *d0 = kvd; break;
    case CPR_SHAPE_MLP_IN: *d0 = im, *d1 = h; break;
    case CPR_SHAPE_MLP_OUT: *d0 = h, *d1 = im; break;
    case CPR_SHAPE_MLP_VEC: *d0 = im; break;
    case CPR_SHAPE_HEAD_DIM: *d0 = sh->head_dim; break;
    case CPR_SHAPE_QKV_IN: *d0 = 3 * qd, *d1 = h; break;
    case CPR_SHAPE_QKV_VEC: *d0 = 3 * qd; break;
    }
}

enum cpr_status cpr_tensor_transpose2d(const struct cpr_tensor *src,
                                       struct cpr_tensor *dst,
                                       struct cpr_err *err) {
    memset(dst, 0, sizeof *dst);
    if (src->sparse || src->ndim != 2 || !src->data)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "transpose: expected a "
                           "dense 2-D tensor (a compressed Conv1D weight "
                           "cannot be transposed)");
    const int64_t r = src->shape[0], c = src->shape[1];
    const int64_t shape[2] = {c, r};
    CPR_TRY(cpr_tensor_alloc(dst, src->dtype, 2, shape, err));
    const size_t es = cpr_dtype_size(src->dtype);
    const char *s = src->data;
    char *d = dst->data;
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++)
            memcpy(d + (size_t)(j * r + i) * es,
                   s + (size_t)(i * src->stride[0] + j * src->stride[1]) * es,
                   es);
    return CPR_OK;
}

int cpr_tensor_name_present(const struct cpr_tensor_name *tn,
                            const struct cpr_model_config *cfg) {
    if ((tn->flags & CPR_TN_QK_NORM) && !cfg->block.qk_norm) return 0;
    return !(tn->flags & CPR_TN_QKV_BIAS) || cfg->qkv_bias;
}
