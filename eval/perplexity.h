// eval/perplexity.h: perplexity of a model on a token stream, under an
// explicit, named protocol.
//
// Protocols (METHODS_REFERENCE A.15 and E):
//   CPR_PPL_HF (Wanda / SparseGPT, Hugging Face "full stride"): the stream
//     is the whole evaluation text tokenized once (BOS at position 0 only).
//     nchunks = ntokens / seqlen non-overlapping chunks, the tail dropped,
//     no BOS inserted per chunk; every chunk scores its seqlen - 1
//     next-token predictions (first = 0). ppl = exp(mean NLL) -- the same as
//     the reference exp(sum_chunks(mean_loss * seqlen) / (nchunks * seqlen))
//     since every chunk scores the same number of tokens.
//   CPR_PPL_LLAMACPP (llama.cpp tools/perplexity, perplexity()): n_ctx
//     (default 512) token chunks, nchunks = ntokens / n_ctx, at least 2
//     chunks' worth of tokens required; the first token of each chunk is
//     overwritten with BOS (when the model has one); only the second half
//     is scored: positions first = n_ctx/2 .. n_ctx-2 predicting the next
//     token, n_ctx - 1 - first tokens per chunk.
//
// Numerics: per-token NLL = logsumexp(logits) - logit[target] with the
// logsumexp_f32 kernel (f32 exponentials, double sum), each computed by one
// thread; per-chunk sums are taken serially in position order in double,
// the total serially in chunk order, so the result is bit-identical for
// any thread count.
//
// eval/ never prints: progress goes through a callback (cli/ draws it).
#ifndef CPR_EVAL_PERPLEXITY_H
#define CPR_EVAL_PERPLEXITY_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

enum cpr_ppl_protocol {
    CPR_PPL_HF = 0,
    CPR_PPL_LLAMACPP,
    CPR_PPL_PROTOCOL_COUNT
};

// "hf", "llamacpp"; parse returns -1 for an unknown name.
const char *cpr_ppl_protocol_name(enum cpr_ppl_protocol p);
int cpr_ppl_protocol_parse(const char *name);

struct cpr_ppl_progress {
    int64_t chunks_done;
    int64_t nchunks;
    int64_t tokens_done;   // tokens run through the model so far
    int64_t scored_done;   // tokens scored so far
    double nll_mean;       // mean NLL so far
};

struct cpr_ppl_opts {
    enum cpr_ppl_protocol protocol;
    int64_t seqlen;     // chunk length (n_ctx). 0: hf -> model context,
                        // llamacpp -> 512
    int64_t max_chunks; // 0: all chunks
    // Called on the caller's thread after every chunk (may be NULL).
    void (*progress)(void *user, const struct cpr_ppl_progress *p);
    void *progress_user;
};

struct cpr_ppl_result {
    enum cpr_ppl_protocol protocol;
    int64_t seqlen;         // chunk length used
    int64_t first;          // first scored position in a chunk
    int64_t nchunks;        // chunks evaluated
    int64_t nchunks_avail;  // ntokens / seqlen (before max_chunks)
    int64_t ntokens;        // tokens in the input stream
    int64_t ntokens_scored; // nchunks * (seqlen - 1 - first)
    double nll_sum;         // sum of per-token NLLs (nats)
    double nll;             // mean per-token NLL
    double ppl;             // exp(nll)
    double ppl_stderr;      // ppl * sqrt(var(nll) / (N - 1)), llama.cpp's ±
};

// Resolve defaults and check the request without running anything:
// fills r's protocol, seqlen, first, nchunks, nchunks_avail, ntokens,
// ntokens_scored. Errors (CPR_ERR_ARG, message with the numbers and a
// hint): seqlen < 2; seqlen larger than the model's context; a stream
// shorter than one chunk (llamacpp: than two chunks); max_chunks < 0.
enum cpr_status cpr_ppl_plan(const struct cpr_model_config *cfg,
                             int64_t ntokens, const struct cpr_ppl_opts *o,
                             struct cpr_ppl_result *r, struct cpr_err *err);

// Evaluate. k: kernel table (NULL = cpr_kernels_get()); pool may be NULL.
// tokens (ntokens) are not modified. Errors: those of cpr_ppl_plan and
// cpr_forward_init/cpr_forward_chunk_nll (token ids outside the vocab),
// CPR_ERR_NOMEM, and CPR_ERR_NUMERIC when a chunk's NLL is NaN or
// infinite (the message names the chunk, its token range and position).
enum cpr_status cpr_ppl_eval(const struct cpr_model *m,
                             const struct cpr_kernels *k,
                             struct cpr_pool *pool, const int32_t *tokens,
                             int64_t ntokens, const struct cpr_ppl_opts *o,
                             struct cpr_ppl_result *r, struct cpr_err *err);

#endif
