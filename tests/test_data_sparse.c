// tests/test_data_sparse.c: KV-cache decoding (core/decode.c) against the
// batch forward (core/forward.c), compressed models (core/weight.h) against
// their zero-stored originals, and the compressed safetensors files
// (data/sparse_st.c) on the two tiny real models.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/decode.h"
#include "core/forward.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/weight.h"
#include "data/model_load.h"
#include "data/sparse_st.h"
#include "tests/harness.h"

static const char *const models[2] = {"models/stories260K",
                                      "models/tinystories-656k"};

static int load(struct cpr_test_ctx *t, int which, struct cpr_model *m) {
    char buf[1024];
    const char *p = cpr_test_data_path(models[which], buf, sizeof buf);
    struct cpr_err err = {0};
    if (cpr_model_load(p, m, &err) != CPR_OK) {
        cpr_test_skip(t, err.msg);
        return 0;
    }
    return 1;
}

// Zero weights in place: per row, `keep` of every 4 consecutive (2:4 when
// keep = 2), or an unstructured 50% (every weight below the row's median
// magnitude). Linears become owned f32 copies.
static void prune_model(struct cpr_model *m, int nm) {
    struct cpr_err err = {0};
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *w = cpr_model_linear(m, l, (enum cpr_linear)j), c;
            if (cpr_tensor_copy_f32(&c, w, &err) != CPR_OK) return;
            cpr_tensor_free(w);
            *w = c;
            int64_t R = w->shape[0], C = w->shape[1];
            float *d = w->data;
            for (int64_t r = 0; r < R; r++) {
                float *row = d + r * C;
                if (nm) {
                    for (int64_t g = 0; g + 4 <= C; g += 4) {
                        // drop the two smallest of the group (lower index
                        // on ties)
                        for (int k = 0; k < 2; k++) {
                            int lo = -1;
                            for (int i = 0; i < 4; i++)
                                if (row[g + i] != 0 &&
                                    (lo < 0 || fabsf(row[g + i]) < fabsf(row[g + lo])))
                                    lo = i;
                            if (lo >= 0) row[g + lo] = 0;
                        }
                    }
                } else {
                    for (int64_t i = 0; i < C; i++) {
                        int64_t below = 0;
                        for (int64_t q = 0; q < C; q++)
                            below += fabsf(row[q]) < fabsf(row[i]);
                        if (below < C / 2) row[i] = 0; // slow but tiny
                    }
                }
            }
        }
}

static void compress_model(struct cpr_test_ctx *t, struct cpr_model *m,
                           enum cpr_wlayout l) {
    struct cpr_err err = {0};
    for (int64_t i = 0; i < m->cfg.n_layers; i++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *w = cpr_model_linear(m, i, (enum cpr_linear)j), c;
            CPR_CHECK_STATUS(t, cpr_sparse_compress(w, l, "w", &c, &err), CPR_OK,
                             &err, NULL);
            CPR_CHECK(t, c.sparse != NULL, "layer %lld linear %d not compressed",
                      (long long)i, j);
            if (!c.sparse) continue;
            cpr_tensor_free(w);
            *w = c;
        }
}

// Greedy ids of n new tokens after prompt (BOS, 1 token).
static void greedy(struct cpr_test_ctx *t, const struct cpr_model *m,
                   struct cpr_pool *pool, int n, int32_t *out, float *lg0) {
    struct cpr_decode d;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_decode_init(&d, m, NULL, pool, n + 2, 2, &err),
                     CPR_OK, &err, NULL);
    float *lg = malloc((size_t)m->cfg.vocab * sizeof *lg);
    int32_t tok[2] = {m->cfg.bos_id >= 0 ? m->cfg.bos_id : 1, 5};
    enum cpr_status s = cpr_decode_step(&d, tok, 2, 0, lg, &err);
    if (lg0) memcpy(lg0, lg, (size_t)m->cfg.vocab * sizeof *lg);
    for (int i = 0; i < n && s == CPR_OK; i++) {
        int32_t best = 0;
        for (int64_t v = 1; v < m->cfg.vocab; v++)
            if (lg[v] > lg[best]) best = (int32_t)v;
        out[i] = best;
        if (i + 1 < n) s = cpr_decode_step(&d, &best, 1, 0, lg, &err);
    }
    CPR_CHECK_STATUS(t, s, CPR_OK, &err, NULL);
    free(lg);
    cpr_decode_free(&d);
}

// KV-cache logits (a prefill step, then single tokens) equal the batch
// forward's logits at every position, within f32 tolerance.
static void test_decode_vs_forward(struct cpr_test_ctx *t) {
    for (int which = 0; which < 2; which++) {
        struct cpr_model m;
        if (!load(t, which, &m)) return;
        struct cpr_err err = {0};
        struct cpr_pool *pool = NULL;
        cpr_pool_init(&pool, 2, &err);
        enum { T = 24, PRE = 9 };
        int32_t tok[T];
        for (int i = 0; i < T; i++) tok[i] = (int32_t)((i * 37 + 11) % m.cfg.vocab);
        struct cpr_forward f;
        CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, pool, 1, T, &err),
                         CPR_OK, &err, NULL);
        int64_t V = m.cfg.vocab;
        float *ref = malloc((size_t)(T * V) * sizeof(float));
        float *got = malloc((size_t)(T * V) * sizeof(float));
        cpr_forward_embed(&f, tok, 1, T, f.hidden, &err);
        for (int64_t l = 0; l < m.cfg.n_layers; l++)
            cpr_forward_block(&f, l, f.hidden, 1, T, NULL, &err);
        for (int i = 0; i < T; i++)
            cpr_forward_logits(&f, f.hidden + (int64_t)i * m.cfg.hidden, 1,
                               ref + (int64_t)i * V, &err);
        struct cpr_decode d;
        CPR_CHECK_STATUS(t, cpr_decode_init(&d, &m, NULL, pool, T, PRE, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_decode_step(&d, tok, PRE, 1, got, &err), CPR_OK,
                         &err, NULL);
        for (int i = PRE; i < T; i++)
            CPR_CHECK_STATUS(t, cpr_decode_step(&d, tok + i, 1, 1,
                                                got + (int64_t)i * V, &err),
                             CPR_OK, &err, NULL);
        double worst = 0, scale = 0;
        for (int64_t i = 0; i < T * V; i++) {
            double e = fabs((double)got[i] - ref[i]);
            if (e > worst || e != e) worst = e;
            if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
        }
        CPR_CHECK(t, worst <= 1e-4 * (1 + scale),
                  "%s: decode logits differ from the forward's by %.3g "
                  "(max |logit| %.3g)", models[which], worst, scale);
        // Cache full -> error, not an overflow.
        CPR_CHECK_STATUS(t, cpr_decode_step(&d, tok, 1, 0, got, &err),
                         CPR_ERR_ARG, &err, "cached");
        int32_t badtok = (int32_t)V;
        cpr_decode_reset(&d);
        CPR_CHECK_STATUS(t, cpr_decode_step(&d, &badtok, 1, 0, got, &err),
                         CPR_ERR_ARG, &err, "outside the vocabulary");
        cpr_decode_free(&d);
        cpr_forward_free(&f);
        free(ref), free(got);
        cpr_pool_free(pool);
        cpr_model_free(&m);
    }
}

// Compressed (bitmask and 2:4) vs zero-stored: first logits within the
// GEMM tolerance, 64 greedy tokens identical, on both tiny models.
static void test_compressed_greedy(struct cpr_test_ctx *t) {
    for (int which = 0; which < 2; which++)
        for (int nm = 0; nm < 2; nm++) {
            struct cpr_model z, c;
            if (!load(t, which, &z) || !load(t, which, &c)) return;
            prune_model(&z, nm);
            prune_model(&c, nm);
            compress_model(t, &c, nm ? CPR_WLAYOUT_NM24 : CPR_WLAYOUT_BITMASK);
            int32_t a[64], b[64];
            int64_t V = z.cfg.vocab;
            float *la = malloc((size_t)V * sizeof(float));
            float *lb = malloc((size_t)V * sizeof(float));
            greedy(t, &z, NULL, 64, a, la);
            greedy(t, &c, NULL, 64, b, lb);
            double worst = 0, scale = 0;
            for (int64_t v = 0; v < V; v++) {
                double e = fabs((double)la[v] - lb[v]);
                if (e > worst || e != e) worst = e;
                if (fabs(la[v]) > scale) scale = fabs(la[v]);
            }
            CPR_CHECK(t, worst <= 1e-4 * (1 + scale),
                      "%s %s: logits differ by %.3g", models[which],
                      nm ? "2:4" : "50%", worst);
            int first = -1;
            for (int i = 0; i < 64 && first < 0; i++)
                if (a[i] != b[i]) first = i;
            CPR_CHECK(t, first < 0, "%s %s: greedy ids differ from token %d "
                      "(%d vs %d)", models[which], nm ? "2:4" : "50%", first,
                      first >= 0 ? a[first] : 0, first >= 0 ? b[first] : 0);
            free(la), free(lb);
            cpr_model_free(&z);
            cpr_model_free(&c);
        }
}

// Written and loaded back: every linear comes back compressed, decompresses
// to the zero-stored weights bit for bit; a damaged description is named.
static void test_file_round_trip(struct cpr_test_ctx *t) {
    struct cpr_model z, c, back;
    if (!load(t, 1, &z) || !load(t, 1, &c)) return;
    prune_model(&z, 0);
    prune_model(&c, 0);
    compress_model(t, &c, CPR_WLAYOUT_BITMASK);
    struct cpr_err err = {0};
    char dir[] = "/tmp/cprune_sparse_XXXXXX";
    if (!mkdtemp(dir)) {
        cpr_test_skip(t, "mkdtemp failed");
        return;
    }
    CPR_CHECK_STATUS(t, cpr_sparse_save_hf(&c, dir, NULL, 0, NULL, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &back, &err), CPR_OK, &err, NULL);
    for (int64_t l = 0; l < z.cfg.n_layers && back.layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *w = cpr_model_linear(&back, l, (enum cpr_linear)j);
            const struct cpr_tensor *o = cpr_model_linear(&z, l, (enum cpr_linear)j);
            CPR_CHECK(t, w->sparse != NULL, "layer %lld/%d not compressed",
                      (long long)l, j);
            struct cpr_tensor dd;
            if (cpr_sparse_decompress(w, &dd, &err) != CPR_OK) continue;
            CPR_CHECK(t, memcmp(dd.data, o->data, cpr_tensor_nbytes(o)) == 0,
                      "layer %lld linear %d: decompressed weights differ",
                      (long long)l, j);
            cpr_tensor_free(&dd);
        }
    cpr_model_free(&back);
    // Damage the first layout description: the loader names it.
    char p[1100];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    FILE *f = fopen(p, "r+b");
    char head[4096];
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    char *hit = NULL;
    for (size_t i = 0; i + 8 < n && !hit; i++)
        if (memcmp(head + i, "bitmask ", 8) == 0) hit = head + i;
    CPR_CHECK(t, hit != NULL, "no layout description in the header");
    if (hit) {
        fseek(f, (long)(hit - head), SEEK_SET);
        fwrite("bitmasX ", 1, 8, f);
    }
    if (f) fclose(f);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &back, &err), CPR_ERR_FORMAT, &err,
                     "__metadata__");
    unlink(p);
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    rmdir(dir);
    cpr_model_free(&z);
    cpr_model_free(&c);
}

const struct cpr_test cpr_tests_data_sparse[] = {
    {"decode_vs_forward", test_decode_vs_forward, 0},
    {"compressed_greedy", test_compressed_greedy, 0},
    {"file_round_trip", test_file_round_trip, 0},
    {0},
};
