// tests/test_eval_kld.c: KL divergence from the dense model (eval/kld.h).
//   * synthetic: a model against itself is exactly 0 everywhere (mean,
//     percentiles, max, RMS dp, delta ppl) with same_top 1; the model's
//     ppl equals cpr_ppl_eval's to the bit; 1 and 3 threads bit-identical;
//     a perturbed model gives kld > 0 and llama.cpp's percentile rule;
//     mismatched vocabularies are an error.
//   * real: Wanda 50% (sequential tinystories calib, 16 x 512) of both tiny
//     models vs the dense one on the first 8 chunks of tinystories eval,
//     against tests/oracle/kld_oracle.py (fixtures
//     tests/fixtures/kld_oracle_<model>.json): same zero count, mean KLD
//     and same-top rate within 1e-4 relative, the rest within 1e-3.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/synth.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json.h"
#include "data/model_load.h"
#include "data/sha256.h"
#include "data/tokenizer.h"
#include "eval/kld.h"
#include "eval/perplexity.h"
#include "methods/calib.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/harness.h"

static struct cpr_synth_spec spec(uint64_t seed) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 64, .n_layers = 2,
        .n_heads = 4, .n_kv_heads = 2, .vocab = 50, .context = 64,
        .dtype = CPR_DTYPE_F32, .seed = seed, .init_std = 0.2, .norm_jitter = 0.1,
        .rope_theta = 10000, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static void test_synthetic(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s1 = spec(3), s2 = spec(4);
    struct cpr_model a = {0}, b = {0}, c = {0};
    struct cpr_err err = {0};
    struct cpr_synth_spec s3 = spec(3);
    s3.vocab = 60;
    if (cpr_synth_model(&a, &s1, &err) || cpr_synth_model(&b, &s2, &err) ||
        cpr_synth_model(&c, &s3, &err)) {
        CPR_CHECK(t, 0, "synth: %s", err.msg);
        goto out;
    }
    int32_t toks[600];
    for (int i = 0; i < 600; i++) toks[i] = (int32_t)((i * 37 + 11) % 50);
    struct cpr_ppl_opts o = {.protocol = CPR_PPL_HF, .seqlen = 64};
    struct cpr_kld_result r, r3;
    CPR_CHECK_STATUS(t, cpr_kld_eval(&a, &a, NULL, NULL, toks, 600, &o, &r, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK(t, r.n == 9 * 63 && r.mean == 0 && r.max == 0 && r.min == 0 &&
                     r.median == 0 && r.p999 == 0 && r.rms_dp == 0 && r.same_top == 1 &&
                     r.delta_ppl == 0 && r.ppl == r.reference_ppl,
              "self: n %lld mean %g max %g same %g", (long long)r.n, r.mean, r.max,
              r.same_top);
    struct cpr_ppl_result pr;
    CPR_CHECK_STATUS(t, cpr_ppl_eval(&a, NULL, NULL, toks, 600, &o, &pr, &err), CPR_OK,
                     &err, NULL);
    // Same per-token NLLs; cpr_ppl_eval sums per chunk first (1e-15 apart).
    CPR_CHECK(t, fabs(pr.ppl - r.ppl) <= 1e-12 * pr.ppl, "ppl %.17g vs cpr_ppl_eval %.17g",
              r.ppl, pr.ppl);
    CPR_CHECK_STATUS(t, cpr_kld_eval(&b, &a, NULL, NULL, toks, 600, &o, &r, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK(t, r.mean > 0 && r.min >= -1e-12 && r.p90 <= r.p99 && r.p99 <= r.max &&
                     r.same_top < 1 && r.rms_dp > 0,
              "perturbed: mean %g same %g", r.mean, r.same_top);
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, 3, &err) == CPR_OK) {
        CPR_CHECK_STATUS(t, cpr_kld_eval(&b, &a, NULL, pool, toks, 600, &o, &r3, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, memcmp(&r.mean, &r3.mean, sizeof r.mean) == 0 &&
                         memcmp(&r.p999, &r3.p999, sizeof r.p999) == 0 &&
                         r.same_top == r3.same_top,
                  "3 threads: %.17g vs %.17g", r3.mean, r.mean);
        cpr_pool_free(pool);
    }
    // llamacpp protocol: second halves only.
    struct cpr_ppl_opts ol = {.protocol = CPR_PPL_LLAMACPP, .seqlen = 64};
    CPR_CHECK_STATUS(t, cpr_kld_eval(&b, &a, NULL, NULL, toks, 600, &ol, &r, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK(t, r.n == 9 * 31, "llamacpp scores %lld", (long long)r.n);
    CPR_CHECK_STATUS(t, cpr_kld_eval(&c, &a, NULL, NULL, toks, 600, &o, &r, &err),
                     CPR_ERR_SHAPE, &err, "the model has 60 tokens, the reference 50");
    double v[] = {0, 1, 2, 10};
    CPR_CHECK(t, cpr_kld_percentile(v, 4, 0.5) == 1.5 &&
                     fabs(cpr_kld_percentile(v, 4, 0.9) - 7.6) < 1e-12 &&
                     cpr_kld_percentile(v, 4, 1) == 10,
              "percentile interpolation");
out:
    cpr_model_free(&a);
    cpr_model_free(&b);
    cpr_model_free(&c);
}

static int tokenize(struct cpr_test_ctx *t, const char *root,
                    const struct cpr_tokenizer *tok, const char *split,
                    const char *want_sha, int32_t **ids, int64_t *n) {
    char *text = NULL;
    size_t len = 0;
    struct cpr_err err = {0};
    enum cpr_status st = cpr_corpus_load(root, "tinystories", split, &text, &len, &err);
    if (!st) st = cpr_tokenizer_encode(tok, text, len, 1, ids, n, &err);
    free(text);
    CPR_CHECK(t, st == CPR_OK, "tinystories/%s: %s", split, err.msg);
    if (st) return -1;
    unsigned char d[32];
    char hex[65];
    cpr_sha256(*ids, (size_t)*n * 4, d);
    cpr_sha256_hex(d, hex);
    CPR_CHECK(t, strcmp(hex, want_sha) == 0, "tinystories/%s sha256 %s, oracle %s", split,
              hex, want_sha);
    return strcmp(hex, want_sha) ? -1 : 0;
}

static void check_close(struct cpr_test_ctx *t, const char *model, const char *what,
                        double got, double want, double rtol) {
    CPR_CHECK(t, fabs(got - want) <= rtol * fabs(want) + 1e-12,
              "%s %s: %.9g, oracle %.9g (rtol %g)", model, what, got, want, rtol);
}

static void run_real(struct cpr_test_ctx *t, const char *model) {
    char root[512], path[1024], fx[256];
    cpr_test_data_path("", root, sizeof root);
    snprintf(path, sizeof path, "%s/models/%s", root, model);
    if (!cpr_path_is_dir(path)) {
        cpr_test_skip(t, "model not found (set CPRUNE_DATA)");
        return;
    }
    snprintf(fx, sizeof fx, "tests/fixtures/kld_oracle_%s.json", model);
    struct cpr_err err = {0};
    struct cpr_json_doc doc = {0};
    struct cpr_model dense = {0}, pruned = {0};
    struct cpr_tokenizer tok = {0};
    struct cpr_pool *pool = NULL;
    struct cpr_calib_windows w = {0};
    int32_t *cal = NULL, *ev = NULL;
    int64_t ncal = 0, nev = 0;
    char *buf = NULL;
    size_t len;
    if (cpr_file_read_all(fx, 1 << 20, &buf, &len, &err) ||
        cpr_json_parse(&doc, buf, len, fx, 0, &err) ||
        cpr_model_load(path, &dense, &err) || cpr_model_load(path, &pruned, &err) ||
        cpr_tokenizer_load_for_model(&tok, path, NULL, dense.cfg.vocab, &err) ||
        cpr_pool_init(&pool, 2, &err)) {
        CPR_CHECK(t, 0, "%s: %s", model, err.msg);
        goto out;
    }
    const struct cpr_json *R = doc.root;
    const int64_t ns = cpr_json_get_int(R, "nsamples", 16), sl = cpr_json_get_int(R, "seqlen", 512);
    if (tokenize(t, root, &tok, "calib", cpr_json_get_str(R, "calib_sha256", ""), &cal, &ncal) ||
        tokenize(t, root, &tok, "eval", cpr_json_get_str(R, "eval_sha256", ""), &ev, &nev))
        goto out;
    struct cpr_calib_doc cd = {cal, ncal};
    if (cpr_calib_select(&cd, 1, ns, sl, CPR_CALIB_SEQUENTIAL, 0, &w, &err)) {
        CPR_CHECK(t, 0, "windows: %s", err.msg);
        goto out;
    }
    const struct cpr_method *md = cpr_method_find("wanda");
    void *st = NULL;
    md->init(&st, &err);
    struct cpr_pipe_opts po = {.method = md, .method_state = st,
                               .target = (struct cpr_prune_target){0.5, 0, 0}};
    struct cpr_pipe_report rep = {0};
    enum cpr_status s = cpr_prune_model(&pruned, w.tokens, ns, sl, &po, pool, NULL, &rep, &err);
    md->free(st);
    CPR_CHECK(t, s == CPR_OK, "%s: prune: %s", model, err.msg);
    CPR_CHECK(t, s || rep.zeros_total == cpr_json_get_int(R, "zeros", -1),
              "%s: %lld zeros, oracle %lld", model, (long long)rep.zeros_total,
              (long long)cpr_json_get_int(R, "zeros", -1));
    cpr_pipe_report_free(&rep);
    if (s) goto out;
    struct cpr_ppl_opts o = {.protocol = CPR_PPL_HF, .seqlen = sl,
                             .max_chunks = cpr_json_get_int(R, "max_chunks", 8)};
    struct cpr_kld_result r;
    CPR_CHECK_STATUS(t, cpr_kld_eval(&pruned, &dense, NULL, pool, ev, nev, &o, &r, &err),
                     CPR_OK, &err, NULL);
    const struct cpr_json *P = cpr_json_get(R, "pruned");
    CPR_CHECK(t, r.n == cpr_json_get_int(P, "n", -1), "%s: n %lld", model, (long long)r.n);
    check_close(t, model, "mean", r.mean, cpr_json_get_num(P, "mean", NAN), 1e-4);
    check_close(t, model, "same_top", r.same_top, cpr_json_get_num(P, "same_top", NAN), 1e-4);
    static const char *const rest[] = {"median", "p90", "p99", "p999", "max", "rms_dp",
                                       "ppl", "reference_ppl"};
    const double got[] = {r.median, r.p90, r.p99, r.p999, r.max, r.rms_dp, r.ppl,
                          r.reference_ppl};
    for (int i = 0; i < 8; i++)
        check_close(t, model, rest[i], got[i], cpr_json_get_num(P, rest[i], NAN), 1e-3);
    if (t->verbose)
        printf("  %s: mean KLD %.6f (oracle %.6f), same top %.5f (oracle %.5f)\n", model,
               r.mean, cpr_json_get_num(P, "mean", NAN), r.same_top,
               cpr_json_get_num(P, "same_top", NAN));
    // The dense model against itself: exactly 0.
    o.max_chunks = 2;
    CPR_CHECK_STATUS(t, cpr_kld_eval(&dense, &dense, NULL, pool, ev, nev, &o, &r, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, r.mean == 0 && r.max == 0 && r.min == 0 && r.same_top == 1 && r.rms_dp == 0,
              "%s self: mean %g max %g", model, r.mean, r.max);
out:
    cpr_calib_windows_free(&w);
    free(cal);
    free(ev);
    free(buf);
    cpr_json_free(&doc);
    cpr_pool_free(pool);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&dense);
    cpr_model_free(&pruned);
}

static void test_stories260k(struct cpr_test_ctx *t) { run_real(t, "stories260K"); }
static void test_tinystories656k(struct cpr_test_ctx *t) { run_real(t, "tinystories-656k"); }

const struct cpr_test cpr_tests_eval_kld[] = {
    {"synthetic", test_synthetic, 0},
    {"wanda50_stories260K", test_stories260k, 0},
    {"wanda50_tinystories656k", test_tinystories656k, 0},
    {0},
};
