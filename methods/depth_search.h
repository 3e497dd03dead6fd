// methods/depth_search.h: greedy depth searches (issue 14) that try every
// candidate removal on the calibration windows and keep the cheapest one,
// step by step: SLEB (whole layers), BlockPruner and FinerCut (attention
// and MLP sub-blocks). core/model_edit.h applies the result.
//
// SLEB (jiwonsong-dev/SLEB sleb.py): each step switches off every alive
// layer in turn, except the first `early` and the last `latter` alive ones
// (the code's early_barrier = latter_barrier = 1), and removes the one with
// the lowest calibration NLL (sum over windows of the window's mean next-
// token loss x seqlen); ties: the first alive layer.
// BlockPruner (MrGGLS/BlockPruner block_search.py, block-type mix): the
// candidates are the attention ("mha") sub-blocks of every layer, then the
// MLP ones, in layer order; each step removes the one whose removal gives
// the lowest calibration perplexity exp(mean over windows of the window's
// mean loss); ties: the first in that order. No protected blocks.
// FinerCut (YaNgZhAnG-V5/llm_dissect scripts/prune_layer.py with the
// Output evaluator, distance_metric js_divergence): the candidates are the
// o_proj and down_proj outputs (attention and MLP sub-blocks) in the order
// of their module names sorted as strings ("layers.10." sorts before
// "layers.2."; in a layer "mlp" before "self_attn"); the sub-blocks of the
// first int(n_cand * exclude / 2) + 1 layers are withheld until
// int(n_cand * exclude) + 1 removals, then appended to the list. Each step
// removes the candidate with the smallest Jensen-Shannon distance between
// the dense model's logits and the pruned model's logits at every position
// of every window, as the code computes it:
//   JS = 0.5 * (kl_div(log_softmax(dense), M) + kl_div(log_softmax(pruned), M))
//   M = (softmax(dense) + softmax(pruned)) / 2, kl_div(x, t) = mean over
//   all (positions x vocab) of t * (log t - x)   (0 where t = 0);
// ties: the first candidate in list order.
//
// Calibration: whatever windows the caller gives (cprune uses its own
// sequential windows); the official codes use wikitext2/alpaca rows.
//
// Cost: each candidate re-runs the model from the first affected layer on
// every window; the inputs of every layer of the current model are cached
// per window ((n_layers + 1) x seqlen x hidden floats). FinerCut also holds
// the dense logits of every window (n_seq x seqlen x vocab floats).
// Every score is accumulated in double in window order, per-row terms each
// by one thread: results are bit-identical for any pool size.
#ifndef CPR_METHODS_DEPTH_SEARCH_H
#define CPR_METHODS_DEPTH_SEARCH_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"

enum cpr_depth_kind { CPR_DEPTH_LAYER = 0, CPR_DEPTH_ATTN, CPR_DEPTH_MLP };

// One removal: layer index in the input model, what goes, the score of the
// model after this step (SLEB: NLL sum; BlockPruner: ppl; FinerCut: JS).
struct cpr_depth_step {
    int64_t layer;
    enum cpr_depth_kind kind;
    double score;
};

// When to stop: after `count` removals (count > 0), else once the removed
// decoder-linear parameters reach min_linear (>= 1).
struct cpr_depth_target {
    int64_t count;
    int64_t min_linear;
};

struct cpr_depth_search_opts {
    int early, latter;  // SLEB barriers (default 1, 1)
    double exclude;     // FinerCut's -x rate (default 0)
};

// Run the search; steps (capacity 2 * n_layers) receives the removals in
// order, *n_steps their number. Errors: CPR_ERR_ARG (no candidate left
// before the target is reached: the message says why), CPR_ERR_NOMEM,
// forward errors.
enum cpr_status cpr_sleb_search(const struct cpr_model *m,
                                struct cpr_pool *pool, const int32_t *tok,
                                int64_t n_seq, int64_t seqlen,
                                const struct cpr_depth_target *tg,
                                const struct cpr_depth_search_opts *o,
                                struct cpr_depth_step *steps,
                                int64_t *n_steps, struct cpr_err *err);
enum cpr_status cpr_blockpruner_search(const struct cpr_model *m,
                                       struct cpr_pool *pool,
                                       const int32_t *tok, int64_t n_seq,
                                       int64_t seqlen,
                                       const struct cpr_depth_target *tg,
                                       struct cpr_depth_step *steps,
                                       int64_t *n_steps, struct cpr_err *err);
enum cpr_status cpr_finercut_search(const struct cpr_model *m,
                                    struct cpr_pool *pool, const int32_t *tok,
                                    int64_t n_seq, int64_t seqlen,
                                    const struct cpr_depth_target *tg,
                                    const struct cpr_depth_search_opts *o,
                                    struct cpr_depth_step *steps,
                                    int64_t *n_steps, struct cpr_err *err);

// Decoder-linear parameters of layer l's attention / MLP sub-block.
int64_t cpr_depth_sub_linear(const struct cpr_model *m, int64_t layer,
                             enum cpr_depth_kind kind);

// Apply steps to m: drop layers (CPR_DEPTH_LAYER) or remove sub-blocks and
// then drop the layers left empty. Layer indices are m's.
enum cpr_status cpr_depth_apply(struct cpr_model *m,
                                const struct cpr_depth_step *steps,
                                int64_t n_steps, struct cpr_err *err);

// "layer", "attn", "mlp".
const char *cpr_depth_kind_name(enum cpr_depth_kind kind);

#endif
