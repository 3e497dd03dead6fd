// methods/structured.h: width-structured pruning that makes the model
// smaller (issue 14): FLAP, Wanda-sp and magnitude-sp as the official FLAP
// repository (CASIA-IVA-Lab/FLAP, lib/prune.py, lib/layerwrapper.py)
// computes them, quirks included. Each builds a struct cpr_struct_plan and
// applies it (core/struct_plan.h).
//
// Units: an attention unit is a KV group (its n_heads / n_kv_heads query
// heads and its k/v head); removing it removes the whole group (GQA). The
// reference has MHA only and hard-codes 128 columns per head; here a unit
// is (n_heads / n_kv_heads) * head_dim columns of o_proj's input. An MLP
// unit is one intermediate channel.
//
// flap: statistics of o_proj's and down_proj's inputs over the calibration
//   windows with the *dense* model (each block reads the unpruned previous
//   block's output), per window s (0-based), in double:
//     mu      <- mu * s/(s+1) + mean_t(x)/(s+1)
//     fluc    <- 0 for s = 0 (the first window's deviations are dropped, as
//                the reference does), else fluc*(s-1)/s +
//                sum_t (x - mu)^2 / (s+1) (mu already updated: the
//                reference's old/new baselines alias)
//     scaler  <- scaler * s/(s+1) + sum_t x^2 / (s+1)     (WIFN)
//   metrics per input column j: IFV fluc_j; WIFV fluc_j * sum_r W_rj^2;
//   WIFN mean_r |W_rj| sqrt(scaler_j); the attention metric is squared.
//   Structures: UL-UM (per layer: keep units >= the sorted value at
//   int(ratio * units); attention units summed), UL-MM / AL-MM (a head
//   budget --remove-heads, MLP from the reference's cal_remove_neuron),
//   AL-AM (default: per-layer standardisation (unbiased std), attention
//   units averaged, one global threshold where the cumulative weighted
//   count is closest to (1 - ratio) of the total; attention units weigh
//   int(params per unit / (3 hidden)), the reference's int64 512/3 = 170
//   truncation generalised). Bias compensation (default on): o / down bias
//   += (fp16-rounded mu) * removed-mask @ W^T.
// wanda-sp: per layer, sequential (the pruned block feeds the next):
//   column score mean_r |W_rj| sqrt(scaler_j) (scaler as WIFN), attention
//   units summed; per layer keep >= the sorted value at int(ratio * n).
// magnitude-sp: column L2 norms of o_proj / down_proj, units summed; per
//   layer as wanda-sp; no calibration.
// cfsp: methods/cfsp.h (MLP channels only, per-layer ratios from block
//   angular distances); cpr_struct_prune hands it to cpr_cfsp_prune.
// ratio is FLAP's pruning_ratio, applied to units; the achieved fraction of
// decoder-linear parameters is reported by the caller (exact counts).
#ifndef CPR_METHODS_STRUCTURED_H
#define CPR_METHODS_STRUCTURED_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "core/struct_plan.h"

enum cpr_struct_kind { CPR_STRUCT_FLAP = 0, CPR_STRUCT_WANDA_SP,
                       CPR_STRUCT_MAGNITUDE_SP,
                       CPR_STRUCT_CFSP }; // methods/cfsp.h
enum cpr_flap_metric { CPR_FLAP_IFV = 0, CPR_FLAP_WIFV, CPR_FLAP_WIFN };
enum cpr_flap_structure { CPR_FLAP_UL_UM = 0, CPR_FLAP_AL_AM,
                          CPR_FLAP_UL_MM, CPR_FLAP_AL_MM };

struct cpr_struct_opts {
    enum cpr_struct_kind kind;
    double ratio;                       // in [0, 1)
    enum cpr_flap_metric metric;        // flap
    enum cpr_flap_structure structure;  // flap
    int no_bias_comp;                   // flap: 1 = no compensation
    int64_t remove_heads;               // flap UL-MM / AL-MM (units)
    // cfsp (methods/cfsp.h); zeroed = the reference's defaults
    int cfsp_global;                    // enum cpr_cfsp_global
    int cfsp_local;                     // enum cpr_cfsp_local
    double cfsp_a, cfsp_b, cfsp_c;      // its --a, --b, --c (0 = 1)
    int cfsp_cuda_friendly;             // its --cuda_friendly
};

// Names for options and reports ("flap", "wifv", "al-am"); parse returns
// -1 for an unknown name.
const char *cpr_struct_kind_name(enum cpr_struct_kind k);
int cpr_struct_kind_parse(const char *s);
const char *cpr_flap_metric_name(enum cpr_flap_metric x);
int cpr_flap_metric_parse(const char *s);
const char *cpr_flap_structure_name(enum cpr_flap_structure x);
int cpr_flap_structure_parse(const char *s);

// Prune m in place. windows: (n_seq, seqlen) token ids (unused by
// magnitude-sp, may be NULL then). plan (out, owned by the caller, free
// with cpr_struct_plan_free): the kept units of each layer in the
// original shapes and the bias vectors applied. pool may be NULL.
// Errors: CPR_ERR_ARG (ratio, sizes), those of the forward and of
// cpr_struct_plan_apply (a layer left without heads or channels),
// CPR_ERR_NOMEM.
enum cpr_status cpr_struct_prune(struct cpr_model *m, const int32_t *windows,
                                 int64_t n_seq, int64_t seqlen,
                                 const struct cpr_struct_opts *o,
                                 struct cpr_pool *pool,
                                 struct cpr_struct_plan *plan,
                                 struct cpr_err *err);

#endif
