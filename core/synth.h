// core/synth.h: random-weight LLaMA-shaped models, for tests, benchmarks
// and `cprune synth` (speed and memory at real shapes without downloads).
//
// Initialisation (fixed, so a seed reproduces a model everywhere):
//   - every linear, tok_embed and an untied lm_head: i.i.d. uniform on
//     [-a, a] with a = sqrt(3) * init_std (std = init_std; default 0.02,
//     HF's initializer_range), drawn in f32 and rounded to the dtype;
//   - RMSNorm weights: 1 + norm_jitter * u, u uniform on [-1, 1)
//     (norm_jitter 0 gives HF's init, all ones); Gemma's (1 + w) norms
//     store w = norm_jitter * u (HF's init, zeros); Qwen3's q/k norms
//     (ids after every layer's, see cpr_synth_tensor_id) like RMSNorms;
//   - q/k/v biases (when qkv_bias): bias_std-scaled uniform like weights.
// Each tensor has its own generator stream, seeded with
//   seed + 0x9e3779b97f4a7c15 * (tensor_id + 1)     (see cpr_synth_tensor_id)
// so tensors can be generated one at a time in any order (streaming
// writers never hold the whole model).
// Uniform rather than normal draws: the same std, about 10x cheaper, which
// matters at a billion parameters.
#ifndef CPR_CORE_SYNTH_H
#define CPR_CORE_SYNTH_H

#include <stdint.h>

#include "core/model.h"
#include "core/status.h"
#include "core/tensor.h"

struct cpr_synth_spec {
    enum cpr_arch arch;
    int64_t hidden, intermediate, n_layers, n_heads, n_kv_heads;
    int64_t head_dim;          // 0: hidden / n_heads
    int64_t vocab, context;
    enum cpr_dtype dtype;      // of every weight
    uint64_t seed;
    double init_std;           // 0: 0.02
    double norm_jitter;        // 0: norms are exactly 1
    double bias_std;           // qkv biases (only when qkv_bias)
    double rope_theta;         // 0: 10000
    float norm_eps;            // 0: 1e-5
    enum cpr_rope_style rope_style;
    int tied_embeddings;
    int qkv_bias;
    int32_t bos_id, eos_id;    // ids (must be < vocab; -1 for none)
};

// Fill *cfg from the spec (defaults applied) and check it the way
// cpr_model_validate would. Errors: CPR_ERR_ARG naming the field.
enum cpr_status cpr_synth_config(const struct cpr_synth_spec *s,
                                 struct cpr_model_config *cfg,
                                 struct cpr_err *err);

// Tensor ids: 0 tok_embed, 1 final_norm, 2 lm_head, then for layer l,
// 3 + 12*l + j with j the index in struct cpr_layer order (attn_norm, wq,
// wk, wv, wo, bq, bk, bv, mlp_norm, w_gate, w_up, w_down).
int64_t cpr_synth_tensor_id(int64_t layer, int j);

// Generate tensor `id` (n elements) of the model into out (dtype
// spec->dtype, n * dtype size bytes). `is_norm` (1 centred on 1, 2
// centred on 0) / `is_bias` select the init rule above.
void cpr_synth_fill(const struct cpr_synth_spec *s, int64_t id, int is_norm,
                    int is_bias, size_t n, void *out);

// Build a whole model in memory (owned tensors; lm_head a borrowed view of
// tok_embed when tied). cpr_model_free releases it. Errors: CPR_ERR_ARG,
// CPR_ERR_NOMEM (with the byte count).
enum cpr_status cpr_synth_model(struct cpr_model *m,
                                const struct cpr_synth_spec *s,
                                struct cpr_err *err);

#endif
