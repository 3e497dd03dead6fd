// methods/calib.c: calibration window selection (contract in calib.h).
#include "methods/calib.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

const char *cpr_calib_sampling_name(enum cpr_calib_sampling s) {
    return s == CPR_CALIB_RANDOM ? "random" : "sequential";
}

int cpr_calib_sampling_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "sequential")) return CPR_CALIB_SEQUENTIAL;
    if (!strcmp(name, "random")) return CPR_CALIB_RANDOM;
    return -1;
}

void cpr_calib_windows_free(struct cpr_calib_windows *w) {
    if (!w) return;
    free(w->tokens);
    free(w->doc);
    free(w->start);
    memset(w, 0, sizeof *w);
}

static enum cpr_status take_sequential(const struct cpr_calib_doc *docs,
                                       size_t n_docs,
                                       struct cpr_calib_windows *w,
                                       struct cpr_err *err) {
    int64_t total = 0;
    for (size_t d = 0; d < n_docs; d++) total += docs[d].n;
    const int64_t need = w->nsamples * w->seqlen;
    if (total < need)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "calibration: sequential sampling needs nsamples "
                           "%lld x seqlen %lld = %lld tokens, the text has "
                           "%lld (at most %lld windows fit; lower --nsamples "
                           "or --seqlen)",
                           (long long)w->nsamples, (long long)w->seqlen,
                           (long long)need, (long long)total,
                           (long long)(total / w->seqlen));
    // Copy the first `need` tokens of the concatenation, recording where
    // each window starts.
    size_t d = 0;
    int64_t off = 0; // offset within docs[d]
    for (int64_t i = 0; i < w->nsamples; i++) {
        while (off >= docs[d].n) d++, off = 0; // skip exhausted/empty docs
        w->doc[i] = (int64_t)d;
        w->start[i] = off;
        int32_t *dst = w->tokens + i * w->seqlen;
        int64_t left = w->seqlen;
        while (left > 0) {
            while (off >= docs[d].n) d++, off = 0;
            int64_t take = docs[d].n - off;
            if (take > left) take = left;
            memcpy(dst, docs[d].ids + off, (size_t)take * sizeof *dst);
            dst += take, left -= take, off += take;
        }
    }
    return CPR_OK;
}

static enum cpr_status take_random(const struct cpr_calib_doc *docs,
                                   size_t n_docs, uint64_t seed,
                                   struct cpr_calib_windows *w,
                                   struct cpr_err *err) {
    size_t usable = 0;
    for (size_t d = 0; d < n_docs; d++) usable += docs[d].n > w->seqlen;
    if (!usable)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "calibration: random sampling needs a document "
                           "longer than seqlen %lld tokens; none of the %zu "
                           "is", (long long)w->seqlen, n_docs);
    struct cpr_rng rng;
    cpr_rng_seed(&rng, seed);
    for (int64_t i = 0; i < w->nsamples; i++) {
        size_t d;
        do d = (size_t)cpr_rng_below(&rng, n_docs);
        while (docs[d].n <= w->seqlen);
        int64_t start =
            (int64_t)cpr_rng_below(&rng, (uint64_t)(docs[d].n - w->seqlen));
        w->doc[i] = (int64_t)d;
        w->start[i] = start;
        memcpy(w->tokens + i * w->seqlen, docs[d].ids + start,
               (size_t)w->seqlen * sizeof *w->tokens);
    }
    return CPR_OK;
}

enum cpr_status cpr_calib_select(const struct cpr_calib_doc *docs,
                                 size_t n_docs, int64_t nsamples,
                                 int64_t seqlen,
                                 enum cpr_calib_sampling sampling,
                                 uint64_t seed, struct cpr_calib_windows *w,
                                 struct cpr_err *err) {
    memset(w, 0, sizeof *w);
    if (nsamples < 1 || seqlen < 1)
        return cpr_err_set(err, CPR_ERR_ARG, "calibration: nsamples %lld and "
                           "seqlen %lld must be >= 1", (long long)nsamples,
                           (long long)seqlen);
    if (!docs || !n_docs)
        return cpr_err_set(err, CPR_ERR_ARG, "calibration: no text");
    if (nsamples > INT64_MAX / seqlen)
        return cpr_err_set(err, CPR_ERR_ARG, "calibration: nsamples x seqlen "
                           "overflows");
    w->nsamples = nsamples;
    w->seqlen = seqlen;
    w->tokens = malloc((size_t)(nsamples * seqlen) * sizeof *w->tokens);
    w->doc = malloc((size_t)nsamples * sizeof *w->doc);
    w->start = malloc((size_t)nsamples * sizeof *w->start);
    if (!w->tokens || !w->doc || !w->start) {
        cpr_calib_windows_free(w);
        return cpr_err_set(err, CPR_ERR_NOMEM, "calibration: %lld tokens",
                           (long long)(nsamples * seqlen));
    }
    enum cpr_status s = sampling == CPR_CALIB_RANDOM
                            ? take_random(docs, n_docs, seed, w, err)
                            : take_sequential(docs, n_docs, w, err);
    if (s != CPR_OK) cpr_calib_windows_free(w);
    return s;
}
