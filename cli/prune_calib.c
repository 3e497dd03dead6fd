// cli/prune_calib.c: calibration text -> token documents -> windows for
// `cprune prune` (contract in cli/prune.h).
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/tokcache.h"
#include "data/corpus.h"
#include "data/sha256.h"

const char *prune_calib_split(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "tinystories")) return "calib";
    if (!strcmp(name, "wikitext2")) return "valid";
    if (!strcmp(name, "ptb")) return "train";
    if (!strcmp(name, "c4")) return "train";
    return NULL;
}

enum cpr_status prune_calib_windows(struct prune_run *run,
                                    const struct cpr_tokenizer *tok,
                                    const char *data_dir,
                                    struct cpr_err *err) {
    struct cpr_corpus_docs docs = {0};
    char *text = NULL;
    size_t text_len = 0;
    int32_t **ids = NULL;
    int64_t *n_ids = NULL;
    struct cpr_calib_doc *cd = NULL;
    size_t n_docs = 0;
    enum cpr_status s;
    const double t0 = cli_now();

    const char *split = prune_calib_split(run->calib_source);
    run->calib_split = split;
    if (split && !strcmp(run->calib_source, "c4")) {
        s = cpr_corpus_load_docs(data_dir, "c4", split, &docs, err);
        n_docs = docs.n;
    } else if (split) {
        s = cpr_corpus_load(data_dir, run->calib_source, split, &text,
                            &text_len, err);
        n_docs = 1;
    } else {
        s = cpr_corpus_load_file(run->calib_source, &text, &text_len, err);
        n_docs = 1;
    }
    if (s) goto out;
    ids = calloc(n_docs ? n_docs : 1, sizeof *ids);
    n_ids = calloc(n_docs ? n_docs : 1, sizeof *n_ids);
    cd = calloc(n_docs ? n_docs : 1, sizeof *cd);
    if (!ids || !n_ids || !cd) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "calibration: %zu documents",
                        n_docs);
        goto out;
    }
    run->calib_text_tokens = 0;
    for (size_t d = 0; d < n_docs; d++) {
        const char *p = text ? text : docs.buf + docs.off[d];
        const size_t len = text ? text_len : docs.len[d];
        if ((s = cli_tokenize_cached(run->token_cache, tok, p, len,
                                     tok->add_bos, &ids[d], &n_ids[d], NULL,
                                     err)))
            goto out;
        cd[d] = (struct cpr_calib_doc){.ids = ids[d], .n = n_ids[d]};
        run->calib_text_tokens += n_ids[d];
    }
    run->calib_docs = n_docs;
    if ((s = cpr_calib_select(cd, n_docs, run->nsamples, run->seqlen,
                              run->sampling, run->seed, &run->win, err)))
        goto out;
    // The windows' identity: sha256 of their ids as little-endian int32
    // (the hosts cprune supports are little-endian; checked at build time
    // by the safetensors code).
    unsigned char dg[32];
    cpr_sha256(run->win.tokens,
               (size_t)(run->nsamples * run->seqlen) * sizeof(int32_t), dg);
    cpr_sha256_hex(dg, run->calib_sha);
    run->sec_tokenize = cli_now() - t0;
out:
    for (size_t d = 0; ids && d < n_docs; d++) free(ids[d]);
    free(ids);
    free(n_ids);
    free(cd);
    free(text);
    cpr_corpus_docs_free(&docs);
    return s;
}
