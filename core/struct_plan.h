// core/struct_plan.h: a width-structured pruning plan and the one routine
// that applies it (issue 14; docs/design_model_shapes.md section 3).
//
// A plan says, per layer, which KV groups (each with its n_heads /
// n_kv_heads query heads) and which MLP channels stay, and which vectors
// are added to the o_proj / down_proj biases (FLAP's compensation: the
// mean contribution of the removed inputs). Applying it gathers the kept
// rows and columns into new, smaller owned tensors (bytes copied in the
// tensor's own dtype: exact), sets the layer's struct cpr_layer_shape and
// keeps head_dim. Methods (methods/structured.h) build plans; they never
// resize tensors themselves.
//
// Every family's layout: separate q/k/v (LLaMA, OPT), fused q/k/v with
// per-head [q k v] rows (GPT-NeoX) or q | k | v thirds (GPT-2: a head's
// rows in each third), gated (gate/up rows) or non-gated (fc1 rows) MLPs;
// biases of the gathered rows (q/k/v, qkv, up/fc1) follow their rows, the
// o / down(fc2) biases are output-sized and only get the plan's vectors
// added.
//
// What it is not: it never removes a whole sub-block (at least one KV
// group and one MLP channel stay; dropping sub-blocks is depth pruning)
// and never removes query heads inside a kept group.
#ifndef CPR_CORE_STRUCT_PLAN_H
#define CPR_CORE_STRUCT_PLAN_H

#include <stdint.h>

#include "core/model.h"
#include "core/status.h"

struct cpr_struct_layer_plan {
    uint8_t *keep_kv;  // (n_kv_heads of the layer) 1 = keep; NULL = all
    uint8_t *keep_ch;  // (intermediate of the layer) 1 = keep; NULL = all
    float *o_bias;     // (hidden) added to o_proj's bias; NULL = none
    float *down_bias;  // (hidden) added to down_proj's bias; NULL = none
    // Widths the masks index: the layer's KV groups and channels when the
    // plan was made (set by cpr_struct_plan_init; read-only afterwards).
    int64_t n_kv, n_ch;
};

struct cpr_struct_plan {
    int64_t n_layers;
    struct cpr_struct_layer_plan *layers; // (n_layers), calloc'd
};

// A plan for m that keeps everything (every pointer NULL).
// Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_struct_plan_init(struct cpr_struct_plan *p,
                                     const struct cpr_model *m,
                                     struct cpr_err *err);
// Frees the arrays of every layer and the layer array; accepts a zeroed
// plan.
void cpr_struct_plan_free(struct cpr_struct_plan *p);

// Kept units of layer `layer` under the plan (model's current shape).
int64_t cpr_struct_plan_kept_kv(const struct cpr_struct_plan *p,
                                const struct cpr_model *m, int64_t layer);
int64_t cpr_struct_plan_kept_ch(const struct cpr_struct_plan *p,
                                const struct cpr_model *m, int64_t layer);

// Decoder-linear parameters m would have after the plan (exact).
int64_t cpr_struct_plan_linear_params(const struct cpr_struct_plan *p,
                                      const struct cpr_model *m);

// Check the plan against m: layer count, at least one KV group and one
// channel kept per layer, finite bias vectors, no compressed weights.
// Errors name the layer: CPR_ERR_ARG, CPR_ERR_UNSUPPORTED.
enum cpr_status cpr_struct_plan_check(const struct cpr_struct_plan *p,
                                      const struct cpr_model *m,
                                      struct cpr_err *err);

// Check, then apply p to m in place: every touched tensor is replaced by an
// owned smaller copy (the old one freed if owned); biases become owned f32
// tensors (an existing bias plus the plan's vector). On error m is
// unchanged only for check errors; an allocation failure mid-way leaves m
// consistent per layer (layers before it applied) and returns
// CPR_ERR_NOMEM.
enum cpr_status cpr_struct_plan_apply(const struct cpr_struct_plan *p,
                                      struct cpr_model *m,
                                      struct cpr_err *err);

#endif
