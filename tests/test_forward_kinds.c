// tests/test_forward_kinds.c: the block-spec kinds beyond the LLaMA block
// (core/arch.h) on an OPT-style block built in memory: LayerNorm with bias,
// learned positions with OPT's offset 2, biases on every linear, a ReLU
// MLP (fc1/fc2, no gate). The reference is a naive double-precision pass
// written here from Hugging Face's OPTDecoderLayer (pre-LN,
// do_layer_norm_before=True):
//   h = E[t] + P[p + 2]
//   x = LN1(h); q = (x Wq^T + bq) / sqrt(hd); k, v likewise unscaled
//   h = h + (softmax_causal(q k^T) v) Wo^T + bo
//   x = LN2(h); h = h + relu(x W1^T + b1) W2^T + b2
//   logits = LNf(h) E^T (tied)
// Checked for every ISA table, 1 vs 3 threads bit-identical, and the
// pipeline: the linear table has the six OPT linears (fc1 in the MLP
// group) and every registered method prunes the model.
// And a real OPT checkpoint layout: tests/fixtures/opt_tiny (a small random
// OPTForCausalLM written by tests/oracle/opt_oracle.py with transformers'
// names and OPTConfig's keys) loads, matches the oracle's perplexity
// (tests/fixtures/ppl_opt_tiny.json) within 1e-5 on every ISA, and is
// written back in the same layout.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/rng.h"
#include "core/synth.h"
#include "data/fileio.h"
#include "data/json.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "eval/perplexity.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

enum { H = 32, NH = 4, NKV = 2, HD = 8, IM = 48, V = 61, NL = 2, CTX = 64,
       OFF = 2 };

static enum cpr_status fill(struct cpr_tensor *t, int nd, int64_t d0,
                            int64_t d1, double scale, double base,
                            struct cpr_rng *r, struct cpr_err *err) {
    int64_t shape[2] = {d0, d1};
    CPR_TRY(cpr_tensor_alloc(t, CPR_DTYPE_F32, nd, shape, err));
    float *x = t->data;
    for (int64_t i = 0; i < cpr_tensor_numel(t); i++)
        x[i] = (float)(base + scale * (2.0 * cpr_rng_uniform_f64(r) - 1.0));
    return CPR_OK;
}

// The LLaMA synth model turned into an OPT-style block.
static enum cpr_status opt_model(struct cpr_model *m, struct cpr_err *err) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = H, .intermediate = IM,
        .n_layers = NL, .n_heads = NH, .n_kv_heads = NKV, .head_dim = HD,
        .vocab = V, .context = CTX, .dtype = CPR_DTYPE_F32, .seed = 21,
        .init_std = 0.2, .norm_jitter = 0.2, .bias_std = 0.2,
        .rope_theta = 10000, .norm_eps = 1e-5f, .qkv_bias = 1,
        .tied_embeddings = 1, .bos_id = 2, .eos_id = 2,
    };
    CPR_TRY(cpr_synth_model(m, &s, err));
    m->cfg.block = (struct cpr_block_spec){
        .norm = CPR_NORM_LAYER, .pos = CPR_POS_LEARNED, .mlp = CPR_MLP_RELU,
        .pos_offset = OFF};
    struct cpr_rng r;
    cpr_rng_seed(&r, 99);
    CPR_TRY(fill(&m->final_norm_b, 1, H, 0, 0.2, 0, &r, err));
    CPR_TRY(fill(&m->pos_embed, 2, CTX + OFF, H, 0.3, 0, &r, err));
    for (int l = 0; l < NL; l++) {
        struct cpr_layer *L = &m->layers[l];
        cpr_tensor_free(&L->w_gate);
        memset(&L->w_gate, 0, sizeof L->w_gate);
        CPR_TRY(fill(&L->attn_norm_b, 1, H, 0, 0.2, 0, &r, err));
        CPR_TRY(fill(&L->mlp_norm_b, 1, H, 0, 0.2, 0, &r, err));
        CPR_TRY(fill(&L->bo, 1, H, 0, 0.2, 0, &r, err));
        CPR_TRY(fill(&L->b_up, 1, IM, 0, 0.2, 0.05, &r, err));
        CPR_TRY(fill(&L->b_down, 1, H, 0, 0.2, 0, &r, err));
    }
    return CPR_OK;
}

// ---- the double reference ----

static double el(const struct cpr_tensor *t, int64_t i) {
    return ((const float *)t->data)[i];
}

static void ln(const double *x, const struct cpr_tensor *g,
               const struct cpr_tensor *b, double eps, double *y) {
    double mean = 0, var = 0;
    for (int i = 0; i < H; i++) mean += x[i];
    mean /= H;
    for (int i = 0; i < H; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= H;
    for (int i = 0; i < H; i++)
        y[i] = (x[i] - mean) / sqrt(var + eps) * el(g, i) + el(b, i);
}

// y (n_out) = W x + b, W (n_out, n_in)
static void lin(const struct cpr_tensor *w, const struct cpr_tensor *b,
                const double *x, double *y) {
    const int64_t no = w->shape[0], ni = w->shape[1];
    for (int64_t o = 0; o < no; o++) {
        double s = b->data ? el(b, o) : 0.0;
        for (int64_t i = 0; i < ni; i++) s += el(w, o * ni + i) * x[i];
        y[o] = s;
    }
}

// logits (T, V) of one sequence
static void reference(const struct cpr_model *m, const int32_t *tok, int T,
                      double *logits) {
    double *h = calloc((size_t)T * H, 8), *x = calloc((size_t)T * H, 8);
    double *q = calloc((size_t)T * NH * HD, 8), *k = calloc((size_t)T * NKV * HD, 8);
    double *v = calloc((size_t)T * NKV * HD, 8), *a = calloc((size_t)T * NH * HD, 8);
    double *u = calloc(IM, 8), *o = calloc(H, 8), *p = calloc((size_t)T, 8);
    const double eps = m->cfg.norm_eps;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < H; i++)
            h[t * H + i] = el(&m->tok_embed, (int64_t)tok[t] * H + i) +
                           el(&m->pos_embed, (int64_t)(t + OFF) * H + i);
    for (int l = 0; l < NL; l++) {
        const struct cpr_layer *L = &m->layers[l];
        for (int t = 0; t < T; t++) {
            ln(h + t * H, &L->attn_norm, &L->attn_norm_b, eps, x + t * H);
            lin(&L->wq, &L->bq, x + t * H, q + t * NH * HD);
            lin(&L->wk, &L->bk, x + t * H, k + t * NKV * HD);
            lin(&L->wv, &L->bv, x + t * H, v + t * NKV * HD);
            for (int i = 0; i < NH * HD; i++) q[t * NH * HD + i] /= sqrt(HD);
        }
        for (int hh = 0; hh < NH; hh++) {
            const int g = hh / (NH / NKV);
            for (int t = 0; t < T; t++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j <= t; j++) {
                    double s = 0;
                    for (int d = 0; d < HD; d++)
                        s += q[t * NH * HD + hh * HD + d] *
                             k[j * NKV * HD + g * HD + d];
                    p[j] = s;
                    if (s > mx) mx = s;
                }
                for (int j = 0; j <= t; j++) sum += p[j] = exp(p[j] - mx);
                for (int d = 0; d < HD; d++) {
                    double s = 0;
                    for (int j = 0; j <= t; j++)
                        s += p[j] / sum * v[j * NKV * HD + g * HD + d];
                    a[t * NH * HD + hh * HD + d] = s;
                }
            }
        }
        for (int t = 0; t < T; t++) {
            lin(&L->wo, &L->bo, a + t * NH * HD, o);
            for (int i = 0; i < H; i++) h[t * H + i] += o[i];
            ln(h + t * H, &L->mlp_norm, &L->mlp_norm_b, eps, x + t * H);
            lin(&L->w_up, &L->b_up, x + t * H, u);
            for (int i = 0; i < IM; i++) u[i] = u[i] > 0 ? u[i] : 0;
            lin(&L->w_down, &L->b_down, u, o);
            for (int i = 0; i < H; i++) h[t * H + i] += o[i];
        }
    }
    for (int t = 0; t < T; t++) {
        ln(h + t * H, &m->final_norm, &m->final_norm_b, eps, x);
        for (int w = 0; w < V; w++) {
            double s = 0;
            for (int i = 0; i < H; i++) s += el(&m->lm_head, (int64_t)w * H + i) * x[i];
            logits[t * V + w] = s;
        }
    }
    free(h), free(x), free(q), free(k), free(v), free(a), free(u), free(o),
        free(p);
}

static enum cpr_status ours(const struct cpr_model *m,
                            const struct cpr_kernels *kt,
                            struct cpr_pool *pool, const int32_t *tok, int T,
                            float *logits, struct cpr_err *err) {
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, kt, pool, 1, T, err));
    enum cpr_status s = cpr_forward_embed(&f, tok, 1, T, f.hidden, err);
    for (int l = 0; l < NL && !s; l++)
        s = cpr_forward_block(&f, l, f.hidden, 1, T, NULL, err);
    if (!s) s = cpr_forward_logits(&f, f.hidden, T, logits, err);
    cpr_forward_free(&f);
    return s;
}

enum { T = 40 };

static void test_vs_reference(struct cpr_test_ctx *t) {
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, opt_model(&m, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int32_t tok[T];
    for (int i = 0; i < T; i++) tok[i] = (int32_t)((i * 17 + 5) % V);
    double *ref = malloc(sizeof(double) * T * V);
    float *got = malloc(sizeof(float) * T * V);
    reference(&m, tok, T, ref);
    double mag = 0;
    for (int i = 0; i < T * V; i++)
        if (fabs(ref[i]) > mag) mag = fabs(ref[i]);
    CPR_CHECK(t, mag > 0.1 && mag < 100, "reference logits scale %g", mag);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    for (size_t ti = 0; ti < nt; ti++) {
        CPR_CHECK_STATUS(t, ours(&m, &tabs[ti], NULL, tok, T, got, &err),
                         CPR_OK, &err, NULL);
        if (err.code) break;
        double maxe = 0;
        for (int i = 0; i < T * V; i++)
            if (fabs(got[i] - ref[i]) > maxe) maxe = fabs(got[i] - ref[i]);
        CPR_CHECK(t, maxe <= 1e-4 + 2e-4 * mag, "[%s] max |logit err| %.3g "
                  "(scale %.3g)", cpr_isa_name(isas[ti]), maxe, mag);
    }
    // a ReLU MLP without its fc1 bias, and the positions really matter
    float *g2 = malloc(sizeof(float) * T * V);
    m.cfg.block.pos_offset = 0;
    CPR_CHECK_STATUS(t, ours(&m, NULL, NULL, tok, T, g2, &err), CPR_ERR_SHAPE,
                     &err, "embed_positions");
    m.cfg.block.pos_offset = OFF;
    // threads
    struct cpr_pool *pool = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 3, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, ours(&m, NULL, NULL, tok, T, got, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK_STATUS(t, ours(&m, NULL, pool, tok, T, g2, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK(t, !memcmp(got, g2, sizeof(float) * T * V),
              "1 vs 3 threads differ");
    cpr_pool_free(pool);
    free(ref), free(got), free(g2);
    cpr_model_free(&m);
}

static void test_table_and_methods(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    struct cpr_model m;
    CPR_CHECK_STATUS(t, opt_model(&m, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    const int n = cpr_layer_linears(&m, 1, r, CPR_MAX_LINEARS);
    CPR_CHECK(t, n == 6 && cpr_model_linears_per_layer(&m) == 6, "%d linears",
              n);
    if (n == 6)
        CPR_CHECK(t, r[4].role == CPR_ROLE_FC1 && r[4].w == &m.layers[1].w_up &&
                         r[4].bias == &m.layers[1].b_up &&
                         r[4].site == CPR_CAPTURE_MLP_IN &&
                         r[5].role == CPR_ROLE_DOWN && !strcmp(r[5].name, "fc2") &&
                         r[3].bias == &m.layers[1].bo &&
                         cpr_role_group_of(r[4].role) == CPR_GROUP_MLP,
                  "OPT table");
    cpr_model_free(&m);
    enum { NS = 4, SL = 24 };
    int32_t win[NS * SL];
    for (int i = 0; i < NS * SL; i++) win[i] = (int32_t)((i * 31 + 7) % V);
    for (size_t mi = 0; mi < cpr_n_methods; mi++) {
        const struct cpr_method *md = cpr_methods[mi];
        CPR_CHECK_STATUS(t, opt_model(&m, &err), CPR_OK, &err, NULL);
        void *st = NULL;
        CPR_CHECK_STATUS(t, md->init(&st, &err), CPR_OK, &err, NULL);
        struct cpr_pipe_opts o = {.method = md, .method_state = st,
                                  .target = {.sparsity = 0.5}};
        struct cpr_pipe_report rep;
        enum cpr_status ps = cpr_prune_model(&m, win, NS, SL, &o, NULL, NULL,
                                             &rep, &err);
        // the gradient methods refuse what the backward pass lacks
        const int refused = ps == CPR_ERR_UNSUPPORTED &&
                            (md->needs & CPR_NEED_GRAD);
        CPR_CHECK(t, ps == CPR_OK || refused, "%s: %s", md->name, err.msg);
        if (!err.code && !refused) {
            CPR_CHECK(t, rep.per_layer == 6 && rep.sparsity > 0.3 &&
                             rep.sparsity < 0.7,
                      "%s: %d linears, sparsity %.3f", md->name, rep.per_layer,
                      rep.sparsity);
            struct cpr_forward f;
            double nll[SL - 1];
            CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, NULL, 1, SL,
                                                 &err), CPR_OK, &err, NULL);
            if (!err.code) {
                CPR_CHECK_STATUS(t, cpr_forward_chunk_nll(&f, win, 1, SL, 0,
                                                          nll, &err),
                                 CPR_OK, &err, NULL);
                CPR_CHECK(t, isfinite(nll[0]) && isfinite(nll[SL - 2]),
                          "%s: pruned model nll", md->name);
                cpr_forward_free(&f);
            }
        }
        cpr_pipe_report_free(&rep);
        md->free(st);
        cpr_model_free(&m);
        err.code = CPR_OK;
    }
}

static void test_opt_oracle(struct cpr_test_ctx *t) {
    const char *dir = "tests/fixtures/opt_tiny";
    struct cpr_err err = {0};
    char *js = NULL, *tk = NULL;
    size_t jn = 0, tn = 0;
    struct cpr_model m, b;
    struct cpr_json_doc doc;
    memset(&m, 0, sizeof m);
    memset(&b, 0, sizeof b);
    memset(&doc, 0, sizeof doc);
    CPR_CHECK_STATUS(t, cpr_file_read_all("tests/fixtures/ppl_opt_tiny.json",
                                          1 << 20, &js, &jn, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_file_read_all("tests/fixtures/opt_tiny/tokens.i32",
                                          1 << 20, &tk, &tn, &err),
                     CPR_OK, &err, NULL);
    if (err.code) goto out;
    CPR_CHECK_STATUS(t, cpr_json_parse(&doc, js, jn, "fixture", 0, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &err), CPR_OK, &err, NULL);
    if (err.code) goto out;
    CPR_CHECK(t, m.cfg.arch == CPR_ARCH_OPT &&
                     m.cfg.block.norm == CPR_NORM_LAYER &&
                     m.cfg.block.pos == CPR_POS_LEARNED &&
                     m.cfg.block.pos_offset == 2 &&
                     m.cfg.block.mlp == CPR_MLP_RELU &&
                     m.lm_head.data == m.tok_embed.data &&
                     cpr_model_linears_per_layer(&m) == 6,
              "OPT config and layout");
    const double want = cpr_json_get_num(doc.root, "ppl", NAN);
    const int64_t seqlen = cpr_json_get_int(doc.root, "seqlen", 0);
    const int64_t n = (int64_t)(tn / 4);
    int32_t *ids = malloc(tn);
    memcpy(ids, tk, tn);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_ppl_opts o = {.protocol = CPR_PPL_HF, .seqlen = seqlen};
    struct cpr_ppl_result r;
    double first = NAN;
    for (size_t i = 0; i < nt; i++) {
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, &tabs[i], NULL, ids, n, &o, &r,
                                         &err), CPR_OK, &err, NULL);
        if (err.code) break;
        if (i == 0) first = r.ppl;
        CPR_CHECK(t, fabs(r.ppl - want) <= 1e-5 * want, "[%s] ppl %.8g, "
                  "oracle %.8g", cpr_isa_name(isas[i]), r.ppl, want);
    }
    // written back in OPT's layout, reloaded to the same pass
    char tmp[256], out[300];
    if (!err.code && !dt_mkdtemp(tmp, sizeof tmp)) {
        snprintf(out, sizeof out, "%s/opt", tmp);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&m, out, NULL, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, cpr_model_load(out, &b, &err), CPR_OK, &err,
                         NULL);
        if (!err.code) {
            CPR_CHECK_STATUS(t, cpr_ppl_eval(&b, &tabs[0], NULL, ids, n, &o,
                                             &r, &err), CPR_OK, &err, NULL);
            CPR_CHECK(t, r.ppl == first, "reloaded OPT: ppl %.9g vs %.9g",
                      r.ppl, first);
        }
        dt_rmtree(tmp);
    }
    free(ids);
out:
    cpr_json_free(&doc);
    cpr_model_free(&b);
    cpr_model_free(&m);
    free(js);
    free(tk);
}

const struct cpr_test cpr_tests_forward_kinds[] = {
    {"opt_oracle", test_opt_oracle, 0},
    {"vs_reference", test_vs_reference, 0},
    {"table_and_methods", test_table_and_methods, 0},
    {0},
};
