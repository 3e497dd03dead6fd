// methods/calib.h: choosing calibration windows from tokenized text.
//
// Input: one or more token streams ("documents"). A plain corpus or text
// file is one document: the whole text tokenized once, BOS at position 0
// only. C4-style JSON lines are one document per record, each tokenized
// on its own (so each starts with BOS, as the reference tokenizes them).
//
// Sampling (nsamples windows of seqlen tokens each):
//   CPR_CALIB_SEQUENTIAL  the first nsamples non-overlapping windows of the
//     documents laid end to end: window i = tokens [i*seqlen, (i+1)*seqlen)
//     of the concatenation. Deterministic, no generator; the seed is unused.
//   CPR_CALIB_RANDOM  paper style (wanda lib/data.py get_c4): for each
//     sample, draw a document d = below(n_docs) until it has more than
//     seqlen tokens (strictly), then start = below(len_d - seqlen), i.e.
//     uniform in [0, len_d - seqlen - 1] as Python's randint(0, n-seqlen-1).
//     below() is cpr_rng_below of core/rng.h (xoshiro256** seeded with
//     `seed` by splitmix64; rejection sampling, no modulo bias). One draw
//     of the document happens even with a single document. Windows may
//     overlap. Python's MT19937 stream is not reproduced (METHODS_REFERENCE
//     A.0: ship the windows instead); the windows chosen are recorded.
#ifndef CPR_METHODS_CALIB_H
#define CPR_METHODS_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

enum cpr_calib_sampling {
    CPR_CALIB_SEQUENTIAL = 0,
    CPR_CALIB_RANDOM,
};

// "sequential", "random"; parse returns -1 for an unknown name.
const char *cpr_calib_sampling_name(enum cpr_calib_sampling s);
int cpr_calib_sampling_parse(const char *name);

struct cpr_calib_doc {
    const int32_t *ids;
    int64_t n;
};

// The windows chosen: tokens (nsamples * seqlen) contiguous, window i at
// tokens + i*seqlen; where[i] = (document, start offset) it came from
// (sequential: document of its first token; start within that document).
struct cpr_calib_windows {
    int64_t nsamples, seqlen;
    int32_t *tokens;
    int64_t *doc;   // (nsamples)
    int64_t *start; // (nsamples)
};

// Choose the windows. Errors: CPR_ERR_ARG for nsamples or seqlen < 1, no
// documents; sequential: fewer than nsamples*seqlen tokens in all (the
// message gives both counts and the largest nsamples that fits); random:
// no document longer than seqlen. CPR_ERR_NOMEM.
enum cpr_status cpr_calib_select(const struct cpr_calib_doc *docs,
                                 size_t n_docs, int64_t nsamples,
                                 int64_t seqlen,
                                 enum cpr_calib_sampling sampling,
                                 uint64_t seed, struct cpr_calib_windows *w,
                                 struct cpr_err *err);

// Release (accepts a zeroed struct).
void cpr_calib_windows_free(struct cpr_calib_windows *w);

#endif
