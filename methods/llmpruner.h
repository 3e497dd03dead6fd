// methods/llmpruner.h: LLM-Pruner's block-wise structured pruning (Ma et
// al. 2023), as horseee/LLM-Pruner hf_prune.py --block_wise (@3758e56) and
// llama3.py (its GQA variant) run it with LLMPruner/pruner/
// hf_llama_pruner.py (TaylorImportance, MagnitudeImportance @07ece7a) and
// its torch_pruning fork (MetaPruner prune_local / prune_global). Builds a
// struct cpr_struct_plan and applies it (core/struct_plan.h).
//
// Coupled groups per layer (the dependency graph the reference traces,
// written out for each block kind):
//   attention: k_proj and v_proj rows (kv_dim = n_kv * head_dim) with
//     q_proj rows and o_proj columns (q_dim = n_heads * head_dim); a unit
//     is one KV group = its head_dim k/v rows, the rep = n_heads / n_kv
//     query heads that read it and their o_proj columns (MHA: one head).
//     OPT: q/k/v/out_proj alike. Fused q/k/v (GPT-NeoX query_key_value,
//     per head [q k v] rows; GPT-2 c_attn, q | k | v thirds, stored
//     (in, out) in the file, (out, in) in memory): head h's q, k and v
//     rows are split out and scored as the q, k and v members, so a
//     model's scores do not depend on whether its file fuses them (with
//     the sum reduction this is also torch_pruning's fold of the one
//     3 * q_dim vector).
//   MLP: gate_proj and up_proj row c with down_proj column c; non-gated
//     (OPT fc1/fc2, GPT-2 c_fc/c_proj, GPT-NeoX dense_h_to_4h/4h_to_h):
//     fc1 row c with fc2 column c.
// Biases: a removed unit's q/k/v (qkv) and up/fc1 bias entries go with its
// rows (core/struct_plan.h); o/down biases stay. The importance reads the
// weights only, as LLM-Pruner's TaylorImportance / MagnitudeImportance do
// (layer.weight, .grad, .acc_grad; also for its BLOOM example, biases on
// every linear); torch_pruning's GroupTaylorImportance adds |b * db| only
// with bias=True (default False). So bias gradients do not contribute.
// Scores, per member, a vector over its rows (q, k, v, gate, up) or
// columns (o, down) from an element salience s:
//   taylor param_first   s = W * g
//          param_second  s = W * acc * W          (acc = sum_j g_j^2 / n)
//          param_mix     s = W * g - 0.5 * W * acc * W
//          vectorize     s = W * g
//   member score: vectorize |sum s|, param_* sum |s|; l1 / l2: sum |W|^p.
//   g = dL/dW of the mean next-token loss of all n windows in one batch
//   (the reference: 10 bookcorpus samples x 64 tokens); acc from n batch-1
//   passes (only for param_second / param_mix).
// Alignment (the reference's quirk, kept): vectors longer than kv_dim
// (q rows, o columns) are folded as view(len / kv_dim, kv_dim).sum(0), so
// query channel p counts for KV channel p mod kv_dim. With GQA this credits
// query head h to KV group h mod n_kv although pruning a group removes
// heads g*rep .. g*rep + rep - 1 (HF repeat_kv); MHA is unaffected.
// The members are reduced with sum (taylor default), mean (l1/l2 default)
// or max; a unit's score is the sum over its head_dim channels.
// Selection over layers [layer_start, layer_end):
//   per layer (default): attention n_pruned = C - int(C * (1 - ratio)) of
//     the C = kv_dim root channels, n_pruned / head_dim groups removed;
//     MLP I - int(I * (1 - ratio)) channels; the lowest scores go (ties:
//     lower index first).
//   global: every unit (KV groups and channels) of every layer in one
//     list; n_pruned = N - int(N * (1 - ratio)); everything <= the
//     n_pruned-th smallest score goes.
// random: uniform scores from cprune's RNG with `seed` (not torch's).
#ifndef CPR_METHODS_LLMPRUNER_H
#define CPR_METHODS_LLMPRUNER_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/scratch_io.h"
#include "core/status.h"
#include "core/struct_plan.h"

enum cpr_llmp_importance { CPR_LLMP_TAYLOR = 0, CPR_LLMP_L1, CPR_LLMP_L2,
                           CPR_LLMP_RANDOM };
enum cpr_llmp_taylor { CPR_LLMP_PARAM_MIX = 0, CPR_LLMP_PARAM_FIRST,
                       CPR_LLMP_PARAM_SECOND, CPR_LLMP_VECTORIZE };
enum cpr_llmp_reduce { CPR_LLMP_SUM = 0, CPR_LLMP_MEAN, CPR_LLMP_MAX };

struct cpr_llmp_opts {
    enum cpr_llmp_importance importance;
    enum cpr_llmp_taylor taylor;
    enum cpr_llmp_reduce reduce;
    double ratio;                      // pruning_ratio, in [0, 1)
    int global;                        // 1 = --global_pruning
    int64_t layer_start, layer_end;    // already clipped to the model
    uint64_t seed;                     // random
    // param_second / param_mix: acc (4 bytes per weight of the layers in
    // range; 23 GB for LLaMA-7B's [3, 31)) in this scratch store, one
    // layer in RAM (methods/slab_store.h), instead of all in RAM (NULL);
    // the acc passes then run layer-major groups of windows (each layer's
    // acc read and written once per group). Results are bit-identical.
    const struct cpr_scratch_io *acc_store;
};

// Names ("taylor", "param_mix", "sum"); parse returns -1 if unknown.
const char *cpr_llmp_importance_name(enum cpr_llmp_importance x);
int cpr_llmp_importance_parse(const char *s);
const char *cpr_llmp_taylor_name(enum cpr_llmp_taylor x);
int cpr_llmp_taylor_parse(const char *s);
const char *cpr_llmp_reduce_name(enum cpr_llmp_reduce x);
int cpr_llmp_reduce_parse(const char *s);

// Per-unit scores of the layers in range, filled by cpr_llmp_scores:
// attn[l] (n_kv of layer l) and mlp[l] (intermediate), NULL outside the
// range. Free with cpr_llmp_scores_free.
struct cpr_llmp_scores {
    int64_t n_layers;
    double **attn, **mlp;
    double loss;          // mean loss of the batched pass (taylor), else 0
    uint64_t acc_bytes_read, acc_bytes_written; // acc_store traffic
};
void cpr_llmp_scores_free(struct cpr_llmp_scores *sc);

// The checks that need only the model and the options (ratio, layer range,
// both sub-blocks present, a block kind the backward pass differentiates
// for taylor, no compressed weights), so a caller can run them before
// reading calibration data. Errors: CPR_ERR_ARG,
// CPR_ERR_UNSUPPORTED.
enum cpr_status cpr_llmp_check_model(const struct cpr_model *m,
                                     const struct cpr_llmp_opts *o,
                                     struct cpr_err *err);

// Bytes of RAM the scores take beyond the backward pass (core/backward.h
// cpr_backward_init with n_seq windows): acc (all layers in range, or the
// largest layer's with o->acc_store, plus the group's extra checkpoints),
// the dW scratch of the largest linear and the member vectors. For --plan.
size_t cpr_llmp_ram_bytes(const struct cpr_model *m,
                          const struct cpr_llmp_opts *o, int64_t n_seq,
                          int64_t seqlen);

// Scores of every unit. windows: (n_seq, seqlen) token ids (taylor only;
// may be NULL otherwise). Errors: CPR_ERR_ARG (range, sizes),
// CPR_ERR_UNSUPPORTED (a model the backward pass refuses, compressed
// weights), CPR_ERR_NOMEM.
enum cpr_status cpr_llmp_scores(const struct cpr_model *m,
                                const int32_t *windows, int64_t n_seq,
                                int64_t seqlen, const struct cpr_llmp_opts *o,
                                struct cpr_pool *pool,
                                struct cpr_llmp_scores *sc,
                                struct cpr_err *err);

// The plan the scores select (see the header comment). plan is
// initialised here; on error it is freed. Errors: CPR_ERR_ARG (a layer
// left without KV groups or channels), CPR_ERR_NOMEM.
enum cpr_status cpr_llmp_select(const struct cpr_model *m,
                                const struct cpr_llmp_scores *sc,
                                const struct cpr_llmp_opts *o,
                                struct cpr_struct_plan *plan,
                                struct cpr_err *err);

// Scores, select, apply to m in place. plan (out, free with
// cpr_struct_plan_free) holds the kept units in the original shapes.
enum cpr_status cpr_llmp_prune(struct cpr_model *m, const int32_t *windows,
                               int64_t n_seq, int64_t seqlen,
                               const struct cpr_llmp_opts *o,
                               struct cpr_pool *pool,
                               struct cpr_struct_plan *plan, double *loss,
                               struct cpr_err *err);

#endif
