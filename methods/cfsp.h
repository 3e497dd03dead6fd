// methods/cfsp.h: CFSP, coarse-to-fine structured pruning (Wang et al.,
// "CFSP: An Efficient Structured Pruning Framework for LLMs with
// Coarse-to-Fine Activation Information", COLING 2025), as its official
// code (github.com/wyxscir/CFSP: lib/prune.py prune_cfsp, lib/
// block_metrics.py block_influence, lib/layerwrapper.py WrappedGPT)
// computes it, quirks included. Like the reference it prunes MLP channels
// only (no heads) and adds no bias; its optional recovery fine-tuning is
// out of scope.
//
// Coarse (inter-block): the dense model runs block by block over the
// calibration windows (nothing is pruned until the end, so every block
// reads the dense previous output); a block's importance is the sum over
// windows and tokens of a distance between its input x and output y:
//   angular (default)  arccos(x.y / (|x||y|)) / pi  (a zero norm: cos 0.5)
//   cosine             1 - x.y / (|x||y|)
//   mse / mae          mean_d (x - y)^2 / mean_d |x - y|
//   avg                100 per window (uniform allocation)
// Allocation: m = mean_l imp_l; s_l = sigmoid(a (imp_l - m) / 1e4) (the
// reference's fixed 1e4); when max s / mean s * (1 - r) >= 1 the s are
// pulled towards their mean by (mean (1/(1-r) - 1)) / (max - mean) / 1.05;
// keep fraction k_l = s_l / mean s * (1 - r).
// Fine (intra-block), per channel j of layer l, from the down_proj input
// statistic scaler_j = mean over windows of sum_t x_tj^2 (s_j = sqrt):
//   three_w_one_wa (default)  mean_r (|D_rj| s_j^b / sum_r |D_rj| s_j^b +
//                             |U_jr| / sum_r |U_jr| + |G_jr| / sum_r |G_jr|)
//                             * s_j^c     (D down, U up, G gate; r hidden)
//   three_w_one_a             the same without s_j^b inside
//   one_wa                    mean_r (|D_rj| s_j^b / sum_r |D_rj| s_j^b) s_j^c
//   one_a                     mean_r (|D_rj| / sum_r |D_rj|) s_j^0.5
//   wanda_base                mean_r |D_rj| s_j
// Non-gated MLPs (OPT, GPT-2, GPT-NeoX; the reference is LLaMA-only):
// fc1 stands for both G and U, fc2 for D.
// (the normalised weight terms average to 1/hidden, so all but wanda_base
// rank channels by s_j alone; computed literally, in double).
// Layer l keeps the channels whose score is >= its descending-sorted score
// at index int(I k_l) (cuda_friendly: int((I k_l + 64) / 128) * 128 - 1,
// where -1 is the last element, as Python indexes); an index >= I keeps
// every channel (the reference would fail).
// Not reproduced: the reference's fp16 model and fp32 statistics (here f32
// activations, double statistics); an arccos of a cosine rounded above 1
// (NaN there) is clamped.
#ifndef CPR_METHODS_CFSP_H
#define CPR_METHODS_CFSP_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "core/struct_plan.h"
#include "methods/structured.h"

enum cpr_cfsp_global { CPR_CFSP_ANGULAR = 0, CPR_CFSP_COSINE, CPR_CFSP_MSE,
                       CPR_CFSP_MAE, CPR_CFSP_AVG };
enum cpr_cfsp_local { CPR_CFSP_THREE_W_ONE_WA = 0, CPR_CFSP_THREE_W_ONE_A,
                      CPR_CFSP_ONE_WA, CPR_CFSP_ONE_A, CPR_CFSP_WANDA_BASE };

// "angular", ...; "three_w_one_wa", ... (the reference's spellings);
// parse returns -1 for an unknown name.
const char *cpr_cfsp_global_name(int g);
int cpr_cfsp_global_parse(const char *s);
const char *cpr_cfsp_local_name(int l);
int cpr_cfsp_local_parse(const char *s);

// What the coarse stage decided, per layer (optional output).
struct cpr_cfsp_report {
    int64_t n_layers;
    double *importance; // (n_layers) block importance (summed distance)
    double *keep;       // (n_layers) keep fraction k_l
};
void cpr_cfsp_report_free(struct cpr_cfsp_report *r);

// The model checks of cpr_cfsp_prune that need no calibration (every
// layer of layer 0's shape), for callers to run before any
// expensive work. Errors: CPR_ERR_UNSUPPORTED.
enum cpr_status cpr_cfsp_check_model(const struct cpr_model *m,
                                     struct cpr_err *err);

// Prune m in place (o->ratio = the reference's pruning_ratio, in (0, 1);
// o->cfsp_*). windows: (n_seq, seqlen) token ids, n_seq >= 1. plan (out,
// free with cpr_struct_plan_free): kept channels per layer in the original
// widths, every KV group kept, no biases. report may be NULL.
// Errors: CPR_ERR_ARG, CPR_ERR_UNSUPPORTED (non-uniform layers), those
// of the forward and of cpr_struct_plan_apply, NOMEM.
enum cpr_status cpr_cfsp_prune(struct cpr_model *m, const int32_t *windows,
                               int64_t n_seq, int64_t seqlen,
                               const struct cpr_struct_opts *o,
                               struct cpr_pool *pool,
                               struct cpr_struct_plan *plan,
                               struct cpr_cfsp_report *report,
                               struct cpr_err *err);

#endif
