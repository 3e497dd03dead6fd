// methods/depth.h: depth pruning (issue 14): score whole layers on
// calibration windows and remove the least important ones
// (core/model_edit.h does the removal).
//
// ShortGPT (icip-cas/ShortGPT, shortgpt/metrics.py): Block Influence of
// layer i = sum over calibration tokens of 1 - cos(h_i, h_{i+1}), h_i the
// layer's input and h_{i+1} its output as HF's output_hidden_states gives
// them, so the last layer's output is taken after the final norm (a quirk
// of the official code, kept). A NaN cosine (a zero row) counts as 0.5, as
// the code's nan_to_num does. angular = 1: arccos(cos) / pi instead. The
// n layers with the lowest score are removed in one shot.
//
// Not built yet: SLEB, BlockPruner, FinerCut (METHODS_REFERENCE.md A.11).
#ifndef CPR_METHODS_DEPTH_H
#define CPR_METHODS_DEPTH_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"

// bi[l] (n_layers entries) for the calibration windows tok (n_seq windows
// of seqlen tokens), one window at a time. Each per-token term is computed
// in double by one thread, summed in token order: the result is the same
// for any pool size. pool may be NULL.
enum cpr_status cpr_shortgpt_scores(const struct cpr_model *m,
                                    struct cpr_pool *pool,
                                    const int32_t *tok, int64_t n_seq,
                                    int64_t seqlen, int angular, double *bi,
                                    struct cpr_err *err);

// drop[l] = 1 for the k layers with the lowest score (ties: lower index
// first), else 0. 0 <= k <= n.
void cpr_depth_lowest(const double *score, int64_t n, int64_t k,
                      uint8_t *drop);

#endif
