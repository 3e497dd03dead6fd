// tests/test_methods_structured.c: methods/structured.h on a tiny synthetic
// GQA model. magnitude-sp against a hand computation of the reference's
// rule (column L2 norms, units summed, keep >= sorted[int(r*n)]); flap and
// wanda-sp give bit-identical models for 1 and 2 threads; parameter counts
// follow the kept units; bad ratios are refused. (Agreement with the
// official code on real models: tests/cli_struct.sh and the PyTorch oracle
// tests/oracle/flap_oracle.py.)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "core/forward.h"
#include "core/model_edit.h"
#include "core/pool.h"
#include "core/synth.h"
#include "methods/structured.h"
#include "tests/harness.h"

static struct cpr_synth_spec spec(void) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 40,
        .n_layers = 2, .n_heads = 8, .n_kv_heads = 4, .head_dim = 4,
        .vocab = 53, .context = 64, .dtype = CPR_DTYPE_F32, .seed = 9,
        .init_std = 0.2, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static void test_magnitude_hand(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model m, ref;
    struct cpr_struct_plan p;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_synth_model(&ref, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    struct cpr_struct_opts o = {.kind = CPR_STRUCT_MAGNITUDE_SP, .ratio = 0.3};
    CPR_CHECK_STATUS(t, cpr_struct_prune(&m, NULL, 0, 0, &o, NULL, &p, &err),
                     CPR_OK, &err, NULL);
    if (err.code) return;
    for (int64_t l = 0; l < 2; l++) {
        // down_proj columns: norms, keep >= sorted[int(40 * 0.3) = 12]
        const float *wd = ref.layers[l].w_down.data;
        double nrm[40], srt[40];
        for (int j = 0; j < 40; j++) {
            double a = 0;
            for (int r = 0; r < 32; r++) a += (double)wd[r * 40 + j] * wd[r * 40 + j];
            nrm[j] = srt[j] = sqrt(a);
        }
        for (int i = 1; i < 40; i++) // insertion sort
            for (int k = i; k > 0 && srt[k - 1] > srt[k]; k--) {
                double x = srt[k]; srt[k] = srt[k - 1]; srt[k - 1] = x;
            }
        int kept = 0, same = 1;
        for (int j = 0; j < 40; j++) {
            int want = nrm[j] >= srt[12];
            kept += want;
            same &= want == (p.layers[l].keep_ch[j] != 0);
        }
        CPR_CHECK(t, same && kept == 28, "layer %lld channels (kept %d)",
                  (long long)l, kept);
        // o_proj: 4 groups of 8 columns, sums of column norms, int(0.3*4)=1
        const float *wo = ref.layers[l].wo.data;
        double g[4] = {0};
        for (int j = 0; j < 32; j++) {
            double a = 0;
            for (int r = 0; r < 32; r++) a += (double)wo[r * 32 + j] * wo[r * 32 + j];
            g[j / 8] += sqrt(a);
        }
        int lo = 0;
        for (int u = 1; u < 4; u++) if (g[u] < g[lo]) lo = u;
        for (int u = 0; u < 4; u++)
            CPR_CHECK(t, (p.layers[l].keep_kv[u] != 0) == (u != lo),
                      "layer %lld group %d", (long long)l, u);
        struct cpr_layer_shape sh = cpr_layer_shape_of(&m, l);
        CPR_CHECK(t, sh.n_heads == 6 && sh.n_kv_heads == 3 &&
                         sh.intermediate == 28, "layer %lld shape",
                  (long long)l);
    }
    CPR_CHECK(t, cpr_model_linear_params(&m) ==
                     2 * (2 * 32 * 24 + 2 * 32 * 12 + 3 * 32 * 28),
              "params %lld", (long long)cpr_model_linear_params(&m));
    o.ratio = 1.0;
    struct cpr_struct_plan q;
    CPR_CHECK_STATUS(t, cpr_struct_prune(&ref, NULL, 0, 0, &o, NULL, &q, &err),
                     CPR_ERR_ARG, &err, "ratio");
    cpr_struct_plan_free(&p);
    cpr_model_free(&m);
    cpr_model_free(&ref);
}

static int same_tensor(const struct cpr_tensor *a, const struct cpr_tensor *b) {
    if (!a->data || !b->data) return !a->data && !b->data;
    return cpr_tensor_nbytes(a) == cpr_tensor_nbytes(b) &&
           !memcmp(a->data, b->data, cpr_tensor_nbytes(a));
}

static void test_threads(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    enum { NS = 4, SL = 24 };
    int32_t tok[NS * SL];
    for (int i = 0; i < NS * SL; i++) tok[i] = (int32_t)((i * 17 + 3) % 53);
    const enum cpr_struct_kind kinds[] = {CPR_STRUCT_FLAP, CPR_STRUCT_WANDA_SP};
    const enum cpr_flap_structure sts[] = {CPR_FLAP_AL_AM, CPR_FLAP_UL_UM};
    for (int c = 0; c < 3; c++) {
        struct cpr_model m[2];
        struct cpr_struct_plan p[2];
        struct cpr_err err = {0};
        struct cpr_struct_opts o = {.kind = kinds[c == 2], .ratio = 0.4,
                                    .metric = CPR_FLAP_WIFV,
                                    .structure = sts[c == 1]};
        for (int k = 0; k < 2; k++) {
            struct cpr_pool *pool = NULL;
            CPR_CHECK_STATUS(t, cpr_synth_model(&m[k], &s, &err), CPR_OK,
                             &err, NULL);
            CPR_CHECK_STATUS(t, cpr_pool_init(&pool, (size_t)k + 1, &err),
                             CPR_OK, &err, NULL);
            if (err.code) return;
            CPR_CHECK_STATUS(t, cpr_struct_prune(&m[k], tok, NS, SL, &o, pool,
                                                 &p[k], &err),
                             CPR_OK, &err, NULL);
            cpr_pool_free(pool);
            if (err.code) return;
        }
        const int64_t dense = 2 * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 40);
        CPR_CHECK(t, cpr_model_linear_params(&m[0]) < dense,
                  "case %d: nothing removed", c);
        for (int64_t l = 0; l < 2; l++) {
            const struct cpr_layer *a = &m[0].layers[l], *b = &m[1].layers[l];
            CPR_CHECK(t, same_tensor(&a->wq, &b->wq) &&
                             same_tensor(&a->wo, &b->wo) &&
                             same_tensor(&a->w_down, &b->w_down) &&
                             same_tensor(&a->bo, &b->bo) &&
                             same_tensor(&a->b_down, &b->b_down),
                      "case %d layer %lld: 1 vs 2 threads differ", c,
                      (long long)l);
            CPR_CHECK(t, (o.kind == CPR_STRUCT_FLAP) == (a->bo.data != NULL),
                      "case %d: compensation bias presence", c);
        }
        for (int k = 0; k < 2; k++) {
            cpr_struct_plan_free(&p[k]);
            cpr_model_free(&m[k]);
        }
    }
    // flap needs calibration windows
    struct cpr_model m;
    struct cpr_struct_plan p;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    struct cpr_struct_opts o = {.kind = CPR_STRUCT_FLAP, .ratio = 0.2};
    CPR_CHECK_STATUS(t, cpr_struct_prune(&m, tok, 1, SL, &o, NULL, &p, &err),
                     CPR_ERR_ARG, &err, "2 calibration windows");
    cpr_model_free(&m);
}

// KV-cache decoding of a structured model (per-layer heads and MLP widths,
// FLAP's o/down biases, and one attention sub-block removed on top): one
// token at a time gives the NLL the full-sequence pass gives, with 1 and 2
// threads (core/decode.h honours per-layer shapes).
static void test_decode_shapes(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    s.n_layers = 3;
    enum { NS = 4, SL = 24 };
    int32_t tok[NS * SL];
    for (int i = 0; i < NS * SL; i++) tok[i] = (int32_t)((i * 17 + 3) % 53);
    struct cpr_model m;
    struct cpr_struct_plan p;
    struct cpr_err err = {0};
    struct cpr_struct_opts o = {.kind = CPR_STRUCT_FLAP, .ratio = 0.4,
                                .metric = CPR_FLAP_WIFV,
                                .structure = CPR_FLAP_AL_AM};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    CPR_CHECK_STATUS(t, cpr_struct_prune(&m, tok, NS, SL, &o, NULL, &p, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_model_remove_sub(&m, 2, CPR_GROUP_ATTN, &err),
                     CPR_OK, &err, NULL);
    if (err.code) goto done;
    int differ = 0;
    for (int64_t l = 0; l < 3; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, l);
        differ |= sh.n_heads != s.n_heads || sh.intermediate != s.intermediate;
    }
    CPR_CHECK(t, differ && m.layers[0].bo.data && m.layers[0].b_down.data,
              "the case needs pruned shapes and biases");
    double ref[SL - 1];
    struct cpr_forward f;
    CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, NULL, 1, SL, &err),
                     CPR_OK, &err, NULL);
    if (err.code) goto done;
    CPR_CHECK_STATUS(t, cpr_forward_chunk_nll(&f, tok, 1, SL, 0, ref, &err),
                     CPR_OK, &err, NULL);
    cpr_forward_free(&f);
    for (size_t nt = 1; !err.code && nt <= 2; nt++) {
        struct cpr_pool *pool = NULL;
        struct cpr_decode d;
        CPR_CHECK_STATUS(t, cpr_pool_init(&pool, nt, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_decode_init(&d, &m, NULL, pool, SL, 1, &err),
                         CPR_OK, &err, NULL);
        float lg[53];
        double md = 0;
        for (int64_t q = 0; !err.code && q + 1 < SL; q++) {
            if (cpr_decode_step(&d, &tok[q], 1, 0, lg, &err) != CPR_OK) break;
            double mx = -INFINITY, z = 0;
            for (int v = 0; v < 53; v++) mx = fmax(mx, lg[v]);
            for (int v = 0; v < 53; v++) z += exp(lg[v] - mx);
            md = fmax(md, fabs(log(z) + mx - lg[tok[q + 1]] - ref[q]));
        }
        CPR_CHECK(t, !err.code && md < 1e-4, "%zu threads: decode vs forward "
                  "max |nll diff| %.3g (%s)", nt, md, err.msg);
        cpr_decode_free(&d);
        cpr_pool_free(pool);
    }
done:
    cpr_struct_plan_free(&p);
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_methods_structured[] = {
    {"decode_shapes", test_decode_shapes, 0},
    {"magnitude_hand", test_magnitude_hand, 0},
    {"threads", test_threads, 0},
    {0},
};
