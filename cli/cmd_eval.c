// cli/cmd_eval.c: `cprune eval`: perplexity of a model on a corpus, a text
// file or a token file, under a named protocol (eval/perplexity.h).
//
// Prints the protocol first (model, dataset, split, seqlen, chunks, scored
// tokens, ISA, threads), a progress bar on stderr when it is a terminal,
// then the perplexity. --json writes one object atomically. Every bad
// input is a message; exit status 1 for data/model errors, 2 for usage
// errors (cli/args.h). A token file must carry the hash of the model's
// tokenizer (data/tokfile.h): ids from another tokenizer are refused.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/eval_kld.h"
#include "cli/progress.h"
#include "cli/tokcache.h"
#include "core/model.h"
#include "core/pool.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/sha256.h"
#include "data/tokenizer.h"
#include "data/tokfile.h"
#include "eval/perplexity.h"
#include "simd/kernels.h"

#define CMD "eval"

static int fail(const struct cpr_err *err) {
    fprintf(stderr, "cprune " CMD ": %s\n", err->msg);
    return 1;
}

struct eval_progress {
    struct cli_progress bar;
    int64_t seqlen;
    double t_first; // wall seconds of the first chunk (its end - timer start)
};

static void on_progress(void *user, const struct cpr_ppl_progress *p) {
    struct eval_progress *e = user;
    // The first chunk pays every first touch (weight pages not yet mapped
    // or not in the page cache, the arena): reported apart from the rest.
    if (p->chunks_done == 1) e->t_first = cli_now() - e->bar.t_start;
    char suffix[64];
    snprintf(suffix, sizeof suffix, "ppl %.4f", exp(p->nll_mean));
    cli_progress_update(&e->bar, p->chunks_done, p->nchunks,
                        (double)p->tokens_done,
                        (double)(p->nchunks * e->seqlen), suffix);
}

static long long peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (long long)ru.ru_maxrss * 1024; // Linux reports KiB
}

// The process's page faults so far: minor (page already in memory, e.g. in
// the page cache, only mapped) and major (read from disk). Their counts
// across the timed evaluation say whether the mapped weights were resident.
static void page_faults(long long *minor, long long *major) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *minor = (long long)ru.ru_minflt;
    *major = (long long)ru.ru_majflt;
}

// What the timer of one evaluation saw (written to --json).
struct eval_timing {
    double seconds, cpu_seconds, first_chunk_seconds;
    long long minor_faults, major_faults;
};

static enum cpr_status write_json(const char *path, const char *model_path,
                                  const char *model_sha, const char *dataset,
                                  const char *split, const char *tokenizer,
                                  const struct cpr_ppl_result *r,
                                  const struct eval_timing *t,
                                  int threads,
                                  const char *ref_path,
                                  const struct cpr_kld_result *kld,
                                  struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, model_path);
    cpr_jw_key(&w, "model_sha256"), cpr_jw_string(&w, model_sha);
    cpr_jw_key(&w, "tokenizer"), cpr_jw_string(&w, tokenizer);
    cpr_jw_key(&w, "dataset"), cpr_jw_string(&w, dataset);
    cpr_jw_key(&w, "split");
    if (split) cpr_jw_string(&w, split);
    else cpr_jw_null(&w);
    cpr_jw_key(&w, "protocol"), cpr_jw_string(&w, cpr_ppl_protocol_name(r->protocol));
    cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, r->seqlen);
    cpr_jw_key(&w, "first_scored_position"), cpr_jw_int(&w, r->first);
    cpr_jw_key(&w, "ntokens"), cpr_jw_int(&w, r->ntokens);
    cpr_jw_key(&w, "nchunks"), cpr_jw_int(&w, r->nchunks);
    cpr_jw_key(&w, "nchunks_available"), cpr_jw_int(&w, r->nchunks_avail);
    cpr_jw_key(&w, "ntokens_scored"), cpr_jw_int(&w, r->ntokens_scored);
    cpr_jw_key(&w, "nll"), cpr_jw_double(&w, r->nll);
    cpr_jw_key(&w, "ppl"), cpr_jw_double(&w, r->ppl);
    cpr_jw_key(&w, "ppl_stderr"), cpr_jw_double(&w, r->ppl_stderr);
    const double seconds = t->seconds;
    cpr_jw_key(&w, "seconds"), cpr_jw_double(&w, seconds);
    cpr_jw_key(&w, "tokens_per_second"),
        cpr_jw_double(&w, seconds > 0 ? (double)(r->nchunks * r->seqlen) / seconds : 0);
    // process CPU seconds (all threads) of the same span: on a machine
    // shared with other work, tokens per CPU-second compares models fairly
    cpr_jw_key(&w, "cpu_seconds"), cpr_jw_double(&w, t->cpu_seconds);
    // the first chunk's share of `seconds` (first touches land there) and
    // the page faults of the whole span (major: read from disk)
    cpr_jw_key(&w, "first_chunk_seconds"),
        cpr_jw_double(&w, t->first_chunk_seconds);
    cpr_jw_key(&w, "minor_faults"), cpr_jw_int(&w, t->minor_faults);
    cpr_jw_key(&w, "major_faults"), cpr_jw_int(&w, t->major_faults);
    cpr_jw_key(&w, "isa"), cpr_jw_string(&w, cpr_isa_name(cpr_kernels_isa()));
    cpr_jw_key(&w, "threads"), cpr_jw_int(&w, threads);
    cpr_jw_key(&w, "peak_rss_bytes"), cpr_jw_int(&w, peak_rss_bytes());
    cpr_jw_key(&w, "version"), cpr_jw_string(&w, CPRUNE_VERSION);
    if (kld) cli_eval_kld_json(&w, ref_path, kld);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s == CPR_OK) s = cpr_file_write_atomic(path, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

// The model's tokenizer file (override, else the one found beside the
// model) into path, and the sha256 of its bytes into hex: the identity
// cpr_tokenizer_load records and token files carry. The file is hashed, not
// parsed. *found = 0 (with a warning) when no single tokenizer sits
// beside the model (a synth model has none); an unreadable override is an
// error.
static enum cpr_status tokenizer_identity(const char *model_path,
                                          const char *override, char *path,
                                          size_t cap, char hex[65], int *found,
                                          struct cpr_err *err) {
    *found = 0;
    if (override) {
        snprintf(path, cap, "%s", override);
    } else {
        enum cpr_tokenizer_kind kind;
        struct cpr_err e2 = {0};
        if (cpr_model_find_tokenizer(model_path, path, cap, &kind, &e2)) {
            fprintf(stderr, "cprune " CMD ": warning: %s\n", e2.msg);
            return CPR_OK;
        }
    }
    char *buf = NULL;
    size_t len = 0;
    CPR_TRY(cpr_file_read_all(path, (size_t)1 << 32, &buf, &len, err));
    unsigned char d[32];
    cpr_sha256(buf, len, d);
    cpr_sha256_hex(d, hex);
    free(buf);
    *found = 1;
    return CPR_OK;
}

// A token file's ids mean something only under the tokenizer that made
// them: compare the tokenizer sha256 the file records with the model's
// (tok_src / tok_sha; tok_src NULL when there is none to compare with). A mismatch is a
// data error (returns 1, message printed) unless skip; an unrecorded hash
// (an all-zero header field) or a model without a tokenizer is a warning.
static int check_tokfile(const char *path, const char *rec,
                         const char *tok_src, const char *tok_sha, int skip) {
    if (!rec[0]) {
        fprintf(stderr, "cprune " CMD ": warning: %s records no tokenizer "
                        "hash; cannot check that it was made with the "
                        "model's tokenizer\n", path);
        return 0;
    }
    if (!tok_src) {
        fprintf(stderr, "cprune " CMD ": warning: cannot check %s (tokenizer "
                        "sha256 %s) against the model's tokenizer; pass "
                        "--tokenizer FILE to check\n", path, rec);
        return 0;
    }
    if (strcmp(rec, tok_sha) == 0) return 0;
    fprintf(stderr, "cprune " CMD ": %s%s was made with tokenizer sha256 %s,\n"
                    "  but the model's tokenizer %s has sha256 %s",
            skip ? "warning: " : "", path, rec, tok_src, tok_sha);
    if (skip) {
        fprintf(stderr, ";\n  evaluating anyway (--skip-tokenizer-check)\n");
        return 0;
    }
    fprintf(stderr, ":\n  its ids would be read as other tokens. Re-tokenize "
                    "with `cprune tokenize --model M\n  --out FILE.tok`, pass "
                    "the right --tokenizer, or --skip-tokenizer-check\n");
    return 1;
}

static const char *const eval_examples[] = {
    "cprune eval --model ../shared/models/stories260K --dataset tinystories",
    "cprune eval --model DIR --dataset wikitext2 --protocol llamacpp "
    "--seqlen 512 --max-chunks 20",
    "cprune tokenize --model DIR --dataset wikitext2 --out wt2.tok && "
    "cprune eval --model DIR --tokens wt2.tok --json ppl.json",
    NULL};

int cmd_eval(int argc, char **argv) {
    struct cli_opt opts[] = {
        {NULL, 0, "model:", NULL},
        {"model", 1, "HF model directory, llama2.c checkpoint, or a directory "
                     "holding one (required)", NULL},
        {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
        {NULL, 0, "text to score (exactly one of):", NULL},
        {"dataset", 1, "corpus name: wikitext2, ptb, tinystories, c4", NULL},
        {"split", 1, "corpus split (default: test; tinystories: eval)", NULL},
        {"text", 1, "a UTF-8 text file", NULL},
        {"tokens", 1, "a token file (.tok) from `cprune tokenize --out`; its "
                      "tokenizer hash must match the model's", NULL},
        {"skip-tokenizer-check", 0, "--tokens: evaluate even when the token "
                                    "file's tokenizer hash differs", NULL},
        {"token-cache", 1, "folder caching tokenized corpora as token files "
                           "(default: none)", NULL},
        {NULL, 0, "protocol:", NULL},
        {"protocol", 1, "hf (Wanda/SparseGPT, default) or llamacpp", NULL},
        {"seqlen", 1, "chunk length in [2, model context] (default: hf -> "
                      "model context, llamacpp -> 512)", NULL},
        {"max-chunks", 1, "evaluate at most N chunks (default: all)", NULL},
        {NULL, 0, "run and output:", NULL},
        {"threads", 1, "threads in [1, 1024] (default: all online CPUs)", NULL},
        {"json", 1, "write the result as JSON to this file (default: none)", NULL},
        {"reference", 1, "also the KL divergence from this (dense) model, "
                         "llama.cpp's statistics (default: none)", NULL},
        {"quiet", 0, "no progress bar", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    const struct cli_help help = {
        "cprune eval --model M (--dataset NAME [--split S] | --text FILE | "
        "--tokens FILE.tok)\n"
        "                   [--protocol hf|llamacpp] [--seqlen N] "
        "[--max-chunks N] [--threads N] [--json FILE]\n"
        "                   [--reference DENSE]",
        eval_examples,
        "Prints the protocol (seqlen, chunks, scored tokens, ISA, threads) "
        "before the perplexity.\n"
        "Exit status: 0 ok, 1 data/model error (including a token file made "
        "with another\ntokenizer), 2 usage error (see README, Exit status)."};
    int rc = cli_parse_help(argc, argv, opts, n_opts, CMD, &help);
    if (rc) return rc == 1 ? 0 : 2;
    const char *model_path = cli_get(opts, n_opts, "model");
    const char *dataset = cli_get(opts, n_opts, "dataset");
    const char *split = cli_get(opts, n_opts, "split");
    const char *text_path = cli_get(opts, n_opts, "text");
    const char *tok_path = cli_get(opts, n_opts, "tokens");
    const char *tokenizer_path = cli_get(opts, n_opts, "tokenizer");
    const char *json_path = cli_get(opts, n_opts, "json");
    const char *v;
    if (!model_path) {
        fprintf(stderr, "cprune " CMD ": --model is required\n");
        return 2;
    }
    if ((dataset != NULL) + (text_path != NULL) + (tok_path != NULL) != 1) {
        fprintf(stderr, "cprune " CMD ": give exactly one of --dataset, --text, "
                        "--tokens\n");
        return 2;
    }
    if (dataset && !cpr_corpus_default_split(dataset)) {
        fprintf(stderr, "cprune " CMD ": --dataset: unknown dataset '%s'; "
                        "expected one of wikitext2, ptb, tinystories, c4 (or "
                        "--text FILE)\n", dataset);
        return 2;
    }
    if (split && !dataset) {
        fprintf(stderr, "cprune " CMD ": --split applies to --dataset only\n");
        return 2;
    }
    if (split && !cpr_corpus_has_split(dataset, split, NULL, 0)) {
        char list[64];
        cpr_corpus_has_split(dataset, NULL, list, sizeof list);
        fprintf(stderr, "cprune " CMD ": --split: dataset %s has no split "
                        "'%s'; expected one of %s\n", dataset, split, list);
        return 2;
    }
    if (cli_get(opts, n_opts, "skip-tokenizer-check") && !tok_path) {
        fprintf(stderr, "cprune " CMD ": --skip-tokenizer-check applies to "
                        "--tokens only\n");
        return 2;
    }
    struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF};
    long long x;
    if ((v = cli_get(opts, n_opts, "protocol"))) {
        int p = cpr_ppl_protocol_parse(v);
        if (p < 0) {
            fprintf(stderr, "cprune " CMD ": --protocol: expected hf or "
                            "llamacpp, found '%s'\n", v);
            return 2;
        }
        po.protocol = (enum cpr_ppl_protocol)p;
    }
    if ((v = cli_get(opts, n_opts, "seqlen"))) {
        if (cli_int(CMD, "seqlen", v, 2, 1 << 24, &x)) return 2;
        po.seqlen = x;
    }
    if ((v = cli_get(opts, n_opts, "max-chunks"))) {
        if (cli_int(CMD, "max-chunks", v, 1, 1LL << 40, &x)) return 2;
        po.max_chunks = x;
    }
    long long threads;
    if (cli_threads_parse(CMD, cli_get(opts, n_opts, "threads"), &threads))
        return 2;

    struct cpr_err err = {0};
    struct cpr_model model = {0};
    struct cpr_tokenizer tok = {0};
    struct cpr_pool *pool = NULL;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    char *text = NULL;
    size_t text_len = 0;
    char model_sha[65] = "", label[512];
    rc = 1;

    if (cpr_model_load(model_path, &model, &err)) goto out;
    // A --seqlen the model cannot take is the user's choice: usage (2).
    int64_t want = po.seqlen ? po.seqlen
                   : po.protocol == CPR_PPL_LLAMACPP ? 512 : model.cfg.context;
    if (want > model.cfg.context) {
        fprintf(stderr, "cprune " CMD ": --seqlen: expected an integer in "
                        "[2, %lld] (the model's context length), found %lld%s\n",
                (long long)model.cfg.context, (long long)want,
                po.seqlen ? "" : " (the llamacpp default)");
        rc = 2;
        goto out_quiet;
    }
    // The tokenizer turns text into ids (not needed for --tokens, whose
    // ids are checked against the tokenizer file's hash below).
    if (!tok_path && cpr_tokenizer_load_for_model(&tok, model_path,
                                                  tokenizer_path,
                                                  model.cfg.vocab, &err))
        goto out;
    if (dataset) {
        if (!split) split = cpr_corpus_default_split(dataset);
        if (cpr_corpus_load(cli_data_dir(), dataset, split, &text, &text_len, &err))
            goto out;
        snprintf(label, sizeof label, "%s", dataset);
    } else if (text_path) {
        if (cpr_corpus_load_file(text_path, &text, &text_len, &err)) goto out;
        snprintf(label, sizeof label, "text:%s", text_path);
    } else {
        snprintf(label, sizeof label, "tokens:%s", tok_path);
    }
    if (text) {
        if (cli_tokenize_cached(cli_get(opts, n_opts, "token-cache"), &tok,
                                text, text_len, 1, &ids, &n_ids, NULL, &err))
            goto out;
    } else {
        char rec[65] = "", tsrc[1024], tsha[65];
        int found;
        if (cpr_tokfile_read(tok_path, model.cfg.vocab, &ids, &n_ids, rec,
                             &err) ||
            tokenizer_identity(model_path, tokenizer_path, tsrc, sizeof tsrc,
                               tsha, &found, &err))
            goto out;
        if (check_tokfile(tok_path, rec, found ? tsrc : NULL, tsha,
                          cli_get(opts, n_opts, "skip-tokenizer-check") !=
                              NULL))
            goto out_quiet; // rc is 1
    }
    struct cpr_ppl_result plan;
    if (cpr_ppl_plan(&model.cfg, n_ids, &po, &plan, &err)) goto out;
    // Every weight page is read and mapped before the timer: by the sha256
    // that --json records (through the model's own mappings), else by one
    // load per page (a 7B model's hash costs about a CPU-minute; the touch
    // a second or two), so the timed passes pay no first-touch faults.
    double t_touch = cli_now();
    if (json_path ? cpr_model_sha256_loaded(&model, model_sha, &err)
                  : cpr_model_touch_loaded(&model, &err))
        goto out;
    t_touch = cli_now() - t_touch;

    printf("model:     %s (%s, %lld layers, hidden %lld, vocab %lld, context "
           "%lld)\n", model.source, model.format, (long long)model.cfg.n_layers,
           (long long)model.cfg.hidden, (long long)model.cfg.vocab,
           (long long)model.cfg.context);
    printf("data:      %s%s%s (%lld tokens, BOS at position 0 only)\n", label,
           split && dataset ? " / " : "", split && dataset ? split : "",
           (long long)n_ids);
    printf("protocol:  %s, seqlen %lld, %lld chunks of %lld available, "
           "%lld scored tokens (positions %lld..%lld of each chunk)%s\n",
           cpr_ppl_protocol_name(plan.protocol), (long long)plan.seqlen,
           (long long)plan.nchunks, (long long)plan.nchunks_avail,
           (long long)plan.ntokens_scored, (long long)plan.first,
           (long long)plan.seqlen - 2,
           plan.protocol == CPR_PPL_LLAMACPP ? ", BOS overwrites chunk starts"
                                             : ", no per-chunk BOS");
    printf("isa:       %s, threads %lld\n", cpr_isa_name(cpr_kernels_isa()),
           threads);
    printf("weights:   every page read before the timer in %.2f s (%s)\n",
           t_touch, json_path ? "sha256 for --json" : "one load per page");
    fflush(stdout);

    if (cpr_pool_init(&pool, (size_t)threads, &err)) goto out;
    struct eval_progress ep = {.seqlen = plan.seqlen};
    cli_progress_init(&ep.bar, "tok", cli_get(opts, n_opts, "quiet") != NULL);
    po.progress = on_progress;
    po.progress_user = &ep;
    struct cpr_ppl_result r;
    struct eval_timing tm;
    long long mn0, mj0, mn1, mj1;
    page_faults(&mn0, &mj0);
    double c0 = cli_cpu_now();
    ep.bar.t_start = cli_now(); // the timer's start, for on_progress too
    enum cpr_status s = cpr_ppl_eval(&model, NULL, pool, ids, n_ids, &po, &r, &err);
    tm.seconds = cli_now() - ep.bar.t_start;
    tm.cpu_seconds = cli_cpu_now() - c0;
    tm.first_chunk_seconds = ep.t_first;
    page_faults(&mn1, &mj1);
    tm.minor_faults = mn1 - mn0;
    tm.major_faults = mj1 - mj0;
    cli_progress_end(&ep.bar);
    if (s) goto out;
    const double secs = tm.seconds;
    printf("ppl:       %.4f +/- %.4f (nll %.6f over %lld tokens)\n", r.ppl,
           r.ppl_stderr, r.nll, (long long)r.ntokens_scored);
    printf("time:      %.2f s (%.2f CPU s), %.0f tokens/s, peak RSS %.1f "
           "MiB\n", secs, tm.cpu_seconds, (double)(r.nchunks * r.seqlen) / secs,
           (double)peak_rss_bytes() / (1 << 20));
    if (r.nchunks > 1)
        printf("chunks:    first %.2f s, the other %lld %.2f s (%.0f "
               "tokens/s)\n", tm.first_chunk_seconds,
               (long long)r.nchunks - 1, secs - tm.first_chunk_seconds,
               (double)((r.nchunks - 1) * r.seqlen) /
                   (secs - tm.first_chunk_seconds));
    printf("faults:    %lld minor, %lld major (pages read from disk) while "
           "timed\n", tm.minor_faults, tm.major_faults);
    const char *ref_path = cli_get(opts, n_opts, "reference");
    struct cpr_kld_result kld;
    if (ref_path && cli_eval_kld(ref_path, &model, pool, ids, n_ids, &po,
                                 cli_get(opts, n_opts, "quiet") != NULL, &kld, &err))
        goto out;
    if (json_path &&
        write_json(json_path, model_path, model_sha, dataset ? dataset : label,
                   dataset ? split : NULL,
                   tok_path ? "" : tok.source, &r, &tm,
                   (int)threads, ref_path,
                   ref_path ? &kld : NULL, &err))
        goto out;
    rc = 0;
out:
    if (rc) fail(&err);
out_quiet:
    cpr_pool_free(pool);
    free(ids);
    free(text);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&model);
    return rc;
}
