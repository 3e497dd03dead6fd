// methods/pipeline.h: the layer-wise, sequential pruning pipeline every
// method runs on (wanda lib/prune.py prune_wanda / prune_sparsegpt,
// sparsegpt llama.py llama_sequential; METHODS_REFERENCE A.0).
//
//   1. inps = the embeddings of every calibration window (the inputs of
//      block 0), held in f32 or bf16 (calib_bf16).
//   2. for each block l in order:
//      a. statistics pass: every window goes through the still-dense
//         block; a capture hook accumulates, for each of the four input
//         sites (q/k/v, o, gate/up, down: core/forward.h), the statistics
//         the method declares (methods/stats.h);
//      b. each of the seven linears q, k, v, o, gate, up, down is pruned
//         by the method with its site's statistics (all seven from the
//         same dense pass, as the reference);
//      c. inps = the now-pruned block applied to inps, in place (the next
//         block's inputs come from the pruned model, as the reference).
//   Embeddings, norms and the output head are never touched.
// Layer-allocation methods (OWL, mixed sparsity: method.h version 2) are
// preceded by a dense scan (windows through the unpruned model, scan() per
// linear) and allocate(), which sets one target per linear.
// Methods that need no statistics (magnitude) skip the calibration
// entirely; magnitude with group=global plans one threshold over all
// decoder linears first (methods/magnitude.h) and then prunes each.
//
// Weights: a pruned linear is replaced by an owned tensor of its original
// dtype (f32 pruned in place on an owned copy; bf16/f16 converted to f32,
// pruned, and rounded back, as the reference casts back to the layer
// dtype; zeros stay exact). The model's other tensors stay borrowed.
//
// Memory: one activation buffer (nsamples x seqlen x hidden in the
// calibration dtype, updated in place block by block), one forward state for `chunk_seq` windows, and per
// block the statistics of its four sites (Hessians: 3 x hidden^2 +
// intermediate^2 floats, plus one per-linear copy for the method).
//
// Determinism: windows go through the block in fixed chunks of chunk_seq
// (independent of the thread count), statistics are bit-identical for any
// thread count (stats.h), and methods are too, so masks and weights are
// bit-identical for 1 and N threads on one ISA.
#ifndef CPR_METHODS_PIPELINE_H
#define CPR_METHODS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "methods/gradstats.h"
#include "methods/method.h"
#include "simd/kernels.h"

// Progress, reported on the caller's thread after each phase of a block.
enum cpr_pipe_phase {
    CPR_PIPE_EMBED = 0, // block = -1
    CPR_PIPE_STATS,     // statistics pass of `block` done
    CPR_PIPE_PRUNE,     // `block`'s linears pruned
    CPR_PIPE_PROPAGATE, // outputs of the pruned `block` computed
    CPR_PIPE_DONE,      // `block` finished (written when streaming);
                        // `block_sec` holds its seconds
};

// Seconds one block took, per phase (cpr_pipe_report.block_sec).
struct cpr_pipe_block_sec {
    double forward, stats, prune, diag, write;
};

struct cpr_pipe_progress {
    enum cpr_pipe_phase phase;
    int64_t block, n_blocks;
    double seconds;        // since the start of cpr_prune_model
    double block_sparsity; // PRUNE: zeros / numel over this block's linears
    const struct cpr_pipe_block_sec *block_sec; // DONE: this block's split
};

struct cpr_pipe_opts {
    const struct cpr_method *method;
    const void *method_state;          // from method->init / parse_opts
    struct cpr_prune_target target;    // the same for every linear, unless
    const struct cpr_prune_target *per_linear; // (n_layers * per_layer)
                                       // overrides indexed layer * per_layer
                                       // + j (j: the layer's linear table,
                                       // cpr_layer_linears), or NULL
    int calib_bf16;    // hold activations in bf16 (default f32)
    const struct cpr_scratch_io *calib_scratch; // non-NULL: the activation
                       // buffer is mapped from this store (its map op; the
                       // CLI's: an unlinked scratch file; calib_store.h)
    int calib_compute; // enum cpr_calib_compute: the calibration
                       // forward's arithmetic (calib_compute.h; 0 = auto)
    int hessian_f64;   // accumulate Hessians in double
    int64_t chunk_seq; // windows per forward call; 0 = max(1, 4096/seqlen)
    int diagnostics;   // per-linear reconstruction error (pipe_diag.h):
                       // one more dense block pass + 2 GEMMs per linear;
                       // needs windows (also for methods without stats)
    void (*progress)(void *user, const struct cpr_pipe_progress *p);
    void *progress_user;
    // Block range and streaming (0 / NULL: all blocks, nothing streamed).
    // Blocks [block_begin, block_end) are pruned (block_end 0 = all); the
    // others keep their weights (blocks before the range still propagate
    // the calibration activations; nothing runs past the range).
    int64_t block_begin, block_end;
    // Blocks [0, resume_from) were finished by an earlier run:
    // load_block(block_user, m, l) puts block l's final weights into m;
    // they are only propagated (same chunks, so the activations and every
    // later block come out bit-identical to an uninterrupted run).
    int64_t resume_from;
    enum cpr_status (*load_block)(void *user, struct cpr_model *m, int64_t l,
                                  struct cpr_err *err);
    // Called once per block l >= resume_from, in order, as soon as the
    // block is final (pruned and propagated, or outside the range); it may
    // write the block out and replace its owned tensors by read-only views
    // of the same values (the pipeline never reads block l again).
    enum cpr_status (*block_done)(void *user, struct cpr_model *m, int64_t l,
                                  struct cpr_err *err);
    void *block_user;
    // CPR_NEED_GRAD (methods/gradstats.h): the norms' dtype (--grad-dtype),
    // and a store for the accumulators (one layer slab in RAM), or NULL
    // to hold them all in RAM.
    enum cpr_grad_dtype grad_dtype;
    const struct cpr_scratch_io *grad_scratch;
};

// Per-linear arrays below have n_layers * per_layer entries, [layer *
// per_layer + j] for entry j of the layer's linear table (core/model.h);
// "7" in the comments is per_layer for the LLaMA family.
struct cpr_pipe_report {
    int64_t n_layers;
    int per_layer;                       // linears per block
    const char *lin_name[CPR_MAX_LINEARS]; // their short names ("q_proj")
    enum cpr_linear_role lin_role[CPR_MAX_LINEARS];
    int64_t *zeros;  // (n_layers * 7) zero weights after pruning
    int64_t *numel;  // (n_layers * 7)
    int64_t zeros_total, numel_total;
    double sparsity; // zeros_total / numel_total over the decoder linears
    int used_calibration; // 0 when the method needs no statistics
    double sec_forward;   // embedding + block passes (without the hooks)
    double sec_stats;     // accumulating + finishing statistics
    double sec_prune;     // the method's prune calls
    double sec_scan;      // layer allocation: the dense scan (all of it)
    struct cpr_prune_target *alloc; // layer allocation: (n_layers * 7)
                          // targets the method chose, else NULL
    double *recon_err;    // diagnostics: (n_layers * 7) relative output
                          // reconstruction error ||XW^T - XWhat^T||^2 /
                          // ||XW^T||^2 on the calibration inputs, else NULL
    double sec_diag;      // diagnostics passes
    int64_t diag_tokens;  // diagnostics: calibration token rows sampled
                          // for recon_err (methods/pipe_diag.h)
    double *score_q;      // diagnostics: (n_layers * 7 * 5) min, quartiles,
                          // max of the method's scores before pruning (NaN
                          // when the method has no `scores` entry)
    double *row_dev_mean; // (n_layers * 7) unstructured targets: mean and
    double *row_dev_max;  // max over rows of |zeros in the row -
                          // int(cols * s)| / cols (0 for exact per-row
                          // methods; NaN for N:M or untouched linears)
    double sec_write;     // block_done calls (streamed output)
    double sec_grad;      // CPR_NEED_GRAD: the dense gradient pre-pass
    // (n_layers) seconds per block, each phase's share of the totals above:
    // the time between the end of block l-1 and the end of block l (so
    // block 0 includes the embedding; a block reused by --resume counts
    // its reload and propagation; the dense scan and the gradient
    // pre-pass are in sec_scan / sec_grad only). Zeros for blocks not
    // reached.
    struct cpr_pipe_block_sec *block_sec;
    struct cpr_pipe_block_sec sec_mark; // internal: totals at the end of
    double t_start;                     // the last block; the run's start
    size_t activation_bytes; // the activation buffer (updated in place)
    size_t stats_bytes;      // the largest block's statistics
};

// Prune m in place. windows: nsamples * seqlen token ids (window i at
// windows + i*seqlen; may be NULL when the method needs no statistics),
// 1 <= seqlen <= context. k: NULL = cpr_kernels_get(); pool may be NULL.
// rep is filled (free with cpr_pipe_report_free) even on error, as far as
// the run got. Errors: CPR_ERR_ARG (options, target vs a linear's width,
// windows missing, token ids outside the vocabulary), CPR_ERR_NOMEM, those
// of the forward pass and of the method (prefixed with the linear's name,
// "layers.3.down_proj").
enum cpr_status cpr_prune_model(struct cpr_model *m, const int32_t *windows,
                                int64_t nsamples, int64_t seqlen,
                                const struct cpr_pipe_opts *o,
                                struct cpr_pool *pool,
                                const struct cpr_kernels *k,
                                struct cpr_pipe_report *rep,
                                struct cpr_err *err);

void cpr_pipe_report_free(struct cpr_pipe_report *rep);

// Count zeros of every decoder linear of m into rep (zeros, numel, totals,
// sparsity); allocates the arrays when NULL. Used by the pipeline and to
// check a model loaded from disk. Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_model_sparsity(const struct cpr_model *m,
                                   const struct cpr_kernels *k,
                                   struct cpr_pipe_report *rep,
                                   struct cpr_err *err);

#endif
