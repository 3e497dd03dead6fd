// tests/test_data_gguf.c: the GGUF writer (data/gguf_write.h) and model
// export (data/gguf_model.h) read back by a minimal GGUF reader written
// here from the format description (independent of the writer's code):
// header, metadata values, tensor infos, 32-byte alignment, tensor bytes;
// the q/k RoPE permutation of Hugging Face-layout models, bf16/f16
// rounding against the simd conversion kernels, deci per-layer arrays
// with removed sub-blocks, the llama2.c vocabulary, and refusals.
// Perplexity agreement with llama.cpp's protocol is checked by hand with
// tests/oracle/gguf_read.py (bench/results/gguf_llamacpp.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/synth.h"
#include "data/gguf_model.h"
#include "data/gguf_write.h"
#include "simd/kernels.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// ---- minimal reader ----
struct rd {
    unsigned char *b;
    size_t n, o;
    int bad;
};
static uint64_t rd_u(struct rd *r, size_t w) {
    uint64_t v = 0;
    if (r->o + w > r->n) { r->bad = 1; return 0; }
    memcpy(&v, r->b + r->o, w);
    r->o += w;
    return v;
}
static size_t scalar_size(uint32_t t) {
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < 13 ? sz[t] : 0;
}
static void rd_skip_value(struct rd *r, uint32_t t) {
    if (t == 8) { uint64_t n = rd_u(r, 8); r->o += n; return; }
    if (t == 9) {
        uint32_t et = (uint32_t)rd_u(r, 4);
        uint64_t n = rd_u(r, 8);
        for (uint64_t i = 0; i < n && !r->bad; i++) rd_skip_value(r, et);
        return;
    }
    if (!scalar_size(t)) { r->bad = 1; return; }
    r->o += scalar_size(t);
}

struct gg {
    unsigned char *b;
    size_t n;
    uint64_t nt, nkv;
    size_t kv_start, ti_start, data_start;
};
struct tinfo {
    char name[64];
    uint32_t nd, type;
    uint64_t dims[4], off;
};

static int gg_load(struct gg *g, const char *path) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    g->n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g->b = malloc(g->n);
    if (!g->b || fread(g->b, 1, g->n, f) != g->n) { fclose(f); return -1; }
    fclose(f);
    if (g->n < 24 || memcmp(g->b, "GGUF", 4)) return -1;
    uint32_t ver;
    memcpy(&ver, g->b + 4, 4);
    if (ver != 3) return -1;
    memcpy(&g->nt, g->b + 8, 8);
    memcpy(&g->nkv, g->b + 16, 8);
    struct rd r = {g->b, g->n, 24, 0};
    g->kv_start = 24;
    for (uint64_t i = 0; i < g->nkv && !r.bad; i++) {
        uint64_t kl = rd_u(&r, 8);
        r.o += kl;
        rd_skip_value(&r, (uint32_t)rd_u(&r, 4));
    }
    g->ti_start = r.o;
    for (uint64_t i = 0; i < g->nt && !r.bad; i++) {
        uint64_t kl = rd_u(&r, 8);
        r.o += kl;
        uint32_t nd = (uint32_t)rd_u(&r, 4);
        r.o += 8 * nd + 4 + 8;
    }
    if (r.bad) return -1;
    g->data_start = (r.o + 31) / 32 * 32;
    return 0;
}

// Offset of key's value (after its type), its type in *type; 0 if absent.
static size_t gg_find(const struct gg *g, const char *key, uint32_t *type) {
    struct rd r = {g->b, g->n, g->kv_start, 0};
    for (uint64_t i = 0; i < g->nkv && !r.bad; i++) {
        uint64_t kl = rd_u(&r, 8);
        int hit = kl == strlen(key) && !memcmp(g->b + r.o, key, kl);
        r.o += kl;
        uint32_t t = (uint32_t)rd_u(&r, 4);
        if (hit) { *type = t; return r.o; }
        rd_skip_value(&r, t);
    }
    return 0;
}
static int64_t gg_int(const struct gg *g, const char *key) {
    uint32_t t;
    size_t o = gg_find(g, key, &t);
    if (!o || !scalar_size(t)) return -999;
    int64_t v = 0;
    if (t == 5) { int32_t x; memcpy(&x, g->b + o, 4); return x; }
    memcpy(&v, g->b + o, scalar_size(t));
    return v;
}
static int gg_str_eq(const struct gg *g, const char *key, const char *want) {
    uint32_t t;
    size_t o = gg_find(g, key, &t);
    if (!o || t != 8) return 0;
    uint64_t n;
    memcpy(&n, g->b + o, 8);
    return n == strlen(want) && !memcmp(g->b + o + 8, want, n);
}
// Element i of an i32 array (or -999).
static int64_t gg_arr_i32(const struct gg *g, const char *key, uint64_t i) {
    uint32_t t, et;
    size_t o = gg_find(g, key, &t);
    if (!o || t != 9) return -999;
    uint64_t n;
    memcpy(&et, g->b + o, 4);
    memcpy(&n, g->b + o + 4, 8);
    if (et != 5 || i >= n) return -999;
    int32_t v;
    memcpy(&v, g->b + o + 12 + 4 * i, 4);
    return v;
}
// String element i of an array into out (NUL-terminated); -1 if absent.
static int gg_arr_str(const struct gg *g, const char *key, uint64_t i,
                      char *out, size_t cap) {
    uint32_t t, et;
    size_t o = gg_find(g, key, &t);
    if (!o || t != 9) return -1;
    uint64_t n;
    memcpy(&et, g->b + o, 4);
    memcpy(&n, g->b + o + 4, 8);
    if (et != 8 || i >= n) return -1;
    struct rd r = {g->b, g->n, o + 12, 0};
    for (uint64_t k = 0; k < i; k++) rd_skip_value(&r, 8);
    uint64_t l = rd_u(&r, 8);
    if (l >= cap) return -1;
    memcpy(out, g->b + r.o, l);
    out[l] = 0;
    return 0;
}
static int gg_tensor(const struct gg *g, const char *name, struct tinfo *ti) {
    struct rd r = {g->b, g->n, g->ti_start, 0};
    for (uint64_t i = 0; i < g->nt && !r.bad; i++) {
        memset(ti, 0, sizeof *ti);
        uint64_t kl = rd_u(&r, 8);
        if (kl < sizeof ti->name) memcpy(ti->name, g->b + r.o, kl);
        r.o += kl;
        ti->nd = (uint32_t)rd_u(&r, 4);
        for (uint32_t d = 0; d < ti->nd && d < 4; d++) ti->dims[d] = rd_u(&r, 8);
        ti->type = (uint32_t)rd_u(&r, 4);
        ti->off = rd_u(&r, 8);
        if (!strcmp(ti->name, name)) return 0;
    }
    return -1;
}
static const void *gg_data(const struct gg *g, const struct tinfo *ti) {
    return g->b + g->data_start + ti->off;
}

// ---- helpers ----
static void spec_small(struct cpr_synth_spec *s, enum cpr_rope_style rs) {
    memset(s, 0, sizeof *s);
    s->arch = CPR_ARCH_LLAMA;
    s->hidden = 64, s->intermediate = 96, s->n_layers = 4, s->n_heads = 4;
    s->n_kv_heads = 2, s->vocab = 40, s->context = 64;
    s->dtype = CPR_DTYPE_F32, s->seed = 7, s->norm_jitter = 0.5;
    s->rope_style = rs, s->bos_id = 1, s->eos_id = 2;
}

// Expected output row r of a q/k weight (perm: HF half -> interleaved).
static int64_t src_row(int64_t r, int64_t hd, int perm) {
    if (!perm) return r;
    int64_t h = r / hd, j = r % hd;
    return h * hd + (j % 2) * (hd / 2) + j / 2;
}

// Compare tensor name's bytes with t's rows (after the permutation) in
// dtype gt. Returns mismatches.
static int64_t cmp_tensor(const struct gg *g, const char *name,
                          const struct cpr_tensor *t, int gt, int64_t hd,
                          int perm) {
    struct tinfo ti;
    if (gg_tensor(g, name, &ti)) return -1;
    int64_t rows = t->ndim == 2 ? t->shape[0] : 1;
    int64_t cols = t->ndim == 2 ? t->shape[1] : t->shape[0];
    if (ti.dims[0] != (uint64_t)cols || (t->ndim == 2 && ti.dims[1] != (uint64_t)rows) ||
        ti.type != (uint32_t)gt || ti.off % 32)
        return -2;
    const struct cpr_kernels *k = cpr_kernels_get();
    float *row = malloc((size_t)cols * 4);
    uint16_t *h = malloc((size_t)cols * 2);
    const float *src = t->data;
    int64_t bad = 0;
    for (int64_t r = 0; r < rows; r++) {
        memcpy(row, src + src_row(r, hd, perm) * cols, (size_t)cols * 4);
        const unsigned char *p = (const unsigned char *)gg_data(g, &ti);
        if (gt == 0) {
            bad += memcmp(p + (size_t)(r * cols) * 4, row, (size_t)cols * 4) != 0;
        } else {
            if (gt == 30) k->f32_to_bf16((size_t)cols, row, h);
            else k->f32_to_f16((size_t)cols, row, h);
            bad += memcmp(p + (size_t)(r * cols) * 2, h, (size_t)cols * 2) != 0;
        }
    }
    free(row);
    free(h);
    return bad;
}

static void test_llama_layouts(struct cpr_test_ctx *t) {
    char dir[512], path[600];
    if (dt_mkdtemp(dir, sizeof dir)) { CPR_CHECK(t, 0, "mkdtemp"); return; }
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    const enum cpr_rope_style styles[2] = {CPR_ROPE_HALF, CPR_ROPE_INTERLEAVED};
    const enum cpr_dtype dts[3] = {CPR_DTYPE_F32, CPR_DTYPE_BF16, CPR_DTYPE_F16};
    const int gts[3] = {0, 30, 1};
    for (int si = 0; si < 2; si++)
        for (int di = 0; di < 3; di++) {
            struct cpr_synth_spec sp;
            spec_small(&sp, styles[si]);
            struct cpr_model m;
            struct cpr_err err;
            memset(&m, 0, sizeof m);
            CPR_CHECK(t, cpr_synth_model(&m, &sp, &err) == CPR_OK, "%s", err.msg);
            struct cpr_gguf_opts o = {dts[di], NULL, "t", NULL, 0};
            CPR_CHECK(t, cpr_gguf_model_save(&m, path, &o, &err) == CPR_OK,
                      "%s", err.msg);
            struct gg g;
            CPR_CHECK(t, gg_load(&g, path) == 0, "reading back %s", path);
            CPR_CHECK(t, gg_str_eq(&g, "general.architecture", "llama"), "arch");
            CPR_CHECK(t, gg_int(&g, "llama.block_count") == 4, "block_count");
            CPR_CHECK(t, gg_int(&g, "llama.attention.head_count") == 4, "heads");
            CPR_CHECK(t, gg_int(&g, "llama.attention.head_count_kv") == 2, "kv");
            CPR_CHECK(t, gg_int(&g, "llama.feed_forward_length") == 96, "ff");
            CPR_CHECK(t, gg_int(&g, "llama.rope.dimension_count") == 16, "hd");
            CPR_CHECK(t, gg_int(&g, "general.file_type") ==
                             (di == 0 ? 0 : di == 1 ? 32 : 1), "file_type");
            CPR_CHECK(t, gg_int(&g, "tokenizer.ggml.bos_token_id") == 1, "bos");
            CPR_CHECK(t, g.nt == 3 + 4 * 9, "tensor count %llu",
                      (unsigned long long)g.nt);
            int perm = styles[si] == CPR_ROPE_HALF;
            int gt = gts[di];
            CPR_CHECK(t, cmp_tensor(&g, "token_embd.weight", &m.tok_embed, gt, 16, 0) == 0,
                      "token_embd");
            CPR_CHECK(t, cmp_tensor(&g, "output.weight", &m.lm_head, gt, 16, 0) == 0,
                      "output");
            CPR_CHECK(t, cmp_tensor(&g, "output_norm.weight", &m.final_norm, 0, 16, 0) == 0,
                      "output_norm");
            for (int l = 0; l < 4; l++) {
                char n[64];
                const struct cpr_layer *L = &m.layers[l];
#define CMP(nm, ten, g_, p_)                                                   \
    snprintf(n, sizeof n, "blk.%d." nm ".weight", l);                          \
    CPR_CHECK(t, cmp_tensor(&g, n, ten, g_, 16, p_) == 0, "%s (rope %d, %s)",  \
              n, si, cpr_dtype_name(dts[di]))
                CMP("attn_norm", &L->attn_norm, 0, 0);
                CMP("attn_q", &L->wq, gt, perm);
                CMP("attn_k", &L->wk, gt, perm);
                CMP("attn_v", &L->wv, gt, 0);
                CMP("attn_output", &L->wo, gt, 0);
                CMP("ffn_norm", &L->mlp_norm, 0, 0);
                CMP("ffn_gate", &L->w_gate, gt, 0);
                CMP("ffn_up", &L->w_up, gt, 0);
                CMP("ffn_down", &L->w_down, gt, 0);
#undef CMP
            }
            free(g.b);
            cpr_model_free(&m);
        }
    dt_rmtree(dir);
}

// The permutation itself, by hand: head_dim 4, one head; HF rows
// (a0 a1 | b0 b1) pair (a_i, b_i); GGUF must hold a0 b0 a1 b1.
static void test_permutation_by_hand(struct cpr_test_ctx *t) {
    CPR_CHECK(t, src_row(0, 4, 1) == 0 && src_row(1, 4, 1) == 2 &&
                     src_row(2, 4, 1) == 1 && src_row(3, 4, 1) == 3 &&
                     src_row(5, 4, 1) == 6,
              "permutation table");
}

static void set_rand(struct cpr_tensor *x, int64_t rows, int64_t cols,
                     float base) {
    int64_t sh[2] = {rows, cols};
    cpr_tensor_free(x);
    cpr_tensor_alloc(x, CPR_DTYPE_F32, 2, sh, NULL);
    float *p = x->data;
    for (int64_t i = 0; i < rows * cols; i++)
        p[i] = base + 0.001f * (float)(i % 97);
}

static void test_deci(struct cpr_test_ctx *t) {
    char dir[512], path[600];
    if (dt_mkdtemp(dir, sizeof dir)) { CPR_CHECK(t, 0, "mkdtemp"); return; }
    snprintf(path, sizeof path, "%s/d.gguf", dir);
    struct cpr_synth_spec sp;
    spec_small(&sp, CPR_ROPE_INTERLEAVED);
    sp.tied_embeddings = 1;
    struct cpr_model m;
    struct cpr_err err;
    memset(&m, 0, sizeof m);
    CPR_CHECK(t, cpr_synth_model(&m, &sp, &err) == CPR_OK, "%s", err.msg);
    const int64_t H = 64, hd = 16;
    // layer 0: 2 heads / 1 kv head, MLP 40 wide
    struct cpr_layer *L = &m.layers[0];
    L->shape = (struct cpr_layer_shape){2, 1, hd, 40, 1, 1};
    set_rand(&L->wq, 2 * hd, H, 0.1f);
    set_rand(&L->wk, hd, H, 0.2f);
    set_rand(&L->wv, hd, H, 0.3f);
    set_rand(&L->wo, H, 2 * hd, 0.4f);
    set_rand(&L->w_gate, 40, H, 0.5f);
    set_rand(&L->w_up, 40, H, 0.6f);
    set_rand(&L->w_down, H, 40, 0.7f);
    // FLAP-style o_proj / down_proj biases on layer 0 (1-D, length H)
    struct cpr_tensor *bias[2] = {&L->bo, &L->b_down};
    for (int b = 0; b < 2; b++) {
        int64_t bsh[1] = {H};
        cpr_tensor_alloc(bias[b], CPR_DTYPE_F32, 1, bsh, NULL);
        for (int64_t i = 0; i < H; i++)
            ((float *)bias[b]->data)[i] = 0.25f * (float)(b + 1) + 0.01f * (float)i;
    }
    // layer 1: MLP removed; layer 2: attention removed; layer 3: both
    m.layers[1].shape = (struct cpr_layer_shape){4, 2, hd, 96, 1, 0};
    m.layers[2].shape = (struct cpr_layer_shape){4, 2, hd, 96, 0, 1};
    m.layers[3].shape = (struct cpr_layer_shape){4, 2, hd, 96, 0, 0};
    CPR_CHECK(t, cpr_gguf_model_is_deci(&m), "deci expected");
    struct cpr_gguf_opts o = {CPR_DTYPE_F32, NULL, NULL, NULL, 0};
    CPR_CHECK(t, cpr_gguf_model_save(&m, path, &o, &err) == CPR_OK, "%s", err.msg);
    struct gg g;
    CPR_CHECK(t, gg_load(&g, path) == 0, "read back");
    CPR_CHECK(t, gg_str_eq(&g, "general.architecture", "deci"), "arch");
    const int64_t hq[4] = {2, 4, 0, 0}, hkv[4] = {1, 2, 0, 0}, ff[4] = {40, 1, 96, 1};
    for (int l = 0; l < 4; l++) {
        CPR_CHECK(t, gg_arr_i32(&g, "deci.attention.head_count", (uint64_t)l) == hq[l],
                  "head_count[%d]", l);
        CPR_CHECK(t, gg_arr_i32(&g, "deci.attention.head_count_kv", (uint64_t)l) == hkv[l],
                  "head_count_kv[%d]", l);
        CPR_CHECK(t, gg_arr_i32(&g, "deci.feed_forward_length", (uint64_t)l) == ff[l],
                  "feed_forward_length[%d]", l);
    }
    // tied: no output.weight; layers 2 and 3 have no attention tensors
    struct tinfo ti;
    CPR_CHECK(t, gg_tensor(&g, "output.weight", &ti) != 0, "tied: no output");
    CPR_CHECK(t, gg_tensor(&g, "blk.2.attn_q.weight", &ti) != 0 &&
                     gg_tensor(&g, "blk.3.attn_norm.weight", &ti) != 0,
              "removed attention has tensors");
    const char *bname[2] = {"blk.0.attn_output.bias", "blk.0.ffn_down.bias"};
    for (int b = 0; b < 2; b++) {
        CPR_CHECK(t, gg_tensor(&g, bname[b], &ti) == 0 && ti.dims[0] == (uint64_t)H,
                  "%s missing", bname[b]);
        const float *bv = gg_data(&g, &ti);
        CPR_CHECK(t, memcmp(bv, bias[b]->data, (size_t)H * sizeof(float)) == 0,
                  "%s differs", bname[b]);
    }
    CPR_CHECK(t, g.nt == 2 + 2 * 9 + 2 * 4 + 2, "tensor count %llu",
              (unsigned long long)g.nt);
    CPR_CHECK(t, cmp_tensor(&g, "blk.0.attn_q.weight", &L->wq, 0, hd, 0) == 0, "q0");
    CPR_CHECK(t, cmp_tensor(&g, "blk.0.ffn_down.weight", &L->w_down, 0, hd, 0) == 0,
              "down0");
    CPR_CHECK(t, cmp_tensor(&g, "blk.2.ffn_up.weight", &m.layers[2].w_up, 0, hd, 0) == 0,
              "up2");
    // MLP stand-ins (layers 1, 3): zeros (weights) and ones (norms)
    int nz = 0;
    for (int l = 1; l <= 3; l += 2) {
        char n[64];
        snprintf(n, sizeof n, "blk.%d.ffn_down.weight", l);
        CPR_CHECK(t, gg_tensor(&g, n, &ti) == 0 && ti.dims[0] == 1 &&
                         ti.dims[1] == (uint64_t)H, "%s stand-in", n);
        const float *z = gg_data(&g, &ti);
        for (int i = 0; i < H; i++) nz += z[i] != 0.0f;
        snprintf(n, sizeof n, "blk.%d.ffn_gate.weight", l);
        CPR_CHECK(t, gg_tensor(&g, n, &ti) == 0, "%s", n);
        z = gg_data(&g, &ti);
        for (int i = 0; i < H; i++) nz += z[i] != 0.0f;
        snprintf(n, sizeof n, "blk.%d.ffn_norm.weight", l);
        CPR_CHECK(t, gg_tensor(&g, n, &ti) == 0, "%s", n);
        z = gg_data(&g, &ti);
        CPR_CHECK(t, z[0] == 1.0f && z[H - 1] == 1.0f, "stand-in norm not ones");
    }
    CPR_CHECK(t, nz == 0, "stand-in MLP weights not zero");
    // alignment of every tensor and the file size
    CPR_CHECK(t, g.data_start % 32 == 0, "data start");
    free(g.b);
    // a tensor whose shape disagrees with the layer's shape is refused
    m.layers[0].shape.intermediate = 41;
    CPR_CHECK_STATUS(t, cpr_gguf_model_save(&m, path, &o, &err), CPR_ERR_SHAPE,
                     &err, "blk.0.ffn_gate");
    cpr_model_free(&m);
    dt_rmtree(dir);
}

static void test_vocab_and_errors(struct cpr_test_ctx *t) {
    char dir[512], path[600], tok[1200];
    if (dt_mkdtemp(dir, sizeof dir)) { CPR_CHECK(t, 0, "mkdtemp"); return; }
    snprintf(path, sizeof path, "%s/v.gguf", dir);
    struct cpr_synth_spec sp;
    spec_small(&sp, CPR_ROPE_INTERLEAVED);
    struct cpr_model m;
    struct cpr_err err;
    memset(&m, 0, sizeof m);
    CPR_CHECK(t, cpr_synth_model(&m, &sp, &err) == CPR_OK, "%s", err.msg);
    // a hand-made llama2.c tokenizer: <unk>, "\n<s>\n", "\n</s>\n", <0x0A>,
    // " the", "", then "x" pieces
    unsigned char buf[1024];
    size_t n = 0;
    int32_t maxlen = 8;
    memcpy(buf, &maxlen, 4), n = 4;
    const char *pieces[40];
    for (int i = 0; i < 40; i++) pieces[i] = "x";
    pieces[0] = "<unk>", pieces[1] = "\n<s>\n", pieces[2] = "\n</s>\n";
    pieces[3] = "<0x0A>", pieces[4] = " the", pieces[5] = "";
    for (int i = 0; i < 40; i++) {
        float sc = -(float)i;
        int32_t l = (int32_t)strlen(pieces[i]);
        memcpy(buf + n, &sc, 4), memcpy(buf + n + 4, &l, 4);
        memcpy(buf + n + 8, pieces[i], (size_t)l);
        n += 8 + (size_t)l;
    }
    snprintf(tok, sizeof tok, "%s/tok.bin", dir);
    FILE *f = fopen(tok, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    struct cpr_gguf_opts o = {CPR_DTYPE_BF16, tok, NULL, NULL, 0};
    CPR_CHECK(t, cpr_gguf_model_save(&m, path, &o, &err) == CPR_OK, "%s", err.msg);
    struct gg g;
    CPR_CHECK(t, gg_load(&g, path) == 0, "read back");
    char s[64];
    CPR_CHECK(t, gg_str_eq(&g, "tokenizer.ggml.model", "llama"), "model");
    CPR_CHECK(t, gg_arr_str(&g, "tokenizer.ggml.tokens", 1, s, sizeof s) == 0 &&
                     !strcmp(s, "<s>"), "token 1 '%s'", s);
    CPR_CHECK(t, gg_arr_str(&g, "tokenizer.ggml.tokens", 4, s, sizeof s) == 0 &&
                     !strcmp(s, "\xe2\x96\x81the"), "token 4 '%s'", s);
    const int32_t types[6] = {2, 3, 3, 6, 1, 3};
    for (int i = 0; i < 6; i++)
        CPR_CHECK(t, gg_arr_i32(&g, "tokenizer.ggml.token_type", (uint64_t)i) == types[i],
                  "type[%d] = %lld", i,
                  (long long)gg_arr_i32(&g, "tokenizer.ggml.token_type", (uint64_t)i));
    free(g.b);
    // truncated tokenizer: an error naming the file, no output left behind
    f = fopen(tok, "wb");
    fwrite(buf, 1, 60, f);
    fclose(f);
    remove(path);
    CPR_CHECK_STATUS(t, cpr_gguf_model_save(&m, path, &o, &err), CPR_ERR_FORMAT,
                     &err, "truncated");
    CPR_CHECK(t, !(access(path, F_OK) == 0), "no file after an error");
    o.tokenizer_path = "x/tokenizer.json";
    CPR_CHECK_STATUS(t, cpr_gguf_model_save(&m, path, &o, &err),
                     CPR_ERR_UNSUPPORTED, &err, "tokenizer.json");
    // non-LLaMA blocks are refused before any work
    m.cfg.qkv_bias = 1;
    CPR_CHECK_STATUS(t, cpr_gguf_model_check(&m, &err), CPR_ERR_UNSUPPORTED,
                     &err, "biases");
    m.cfg.qkv_bias = 0;
    m.cfg.block.norm = CPR_NORM_LAYER;
    CPR_CHECK_STATUS(t, cpr_gguf_model_check(&m, &err), CPR_ERR_UNSUPPORTED,
                     &err, "norm=");
    m.cfg.block.norm = CPR_NORM_RMS;
    cpr_model_free(&m);
    dt_rmtree(dir);
}

// The container alone: metadata types, alignment, put/commit order.
static void test_container(struct cpr_test_ctx *t) {
    char dir[512], path[600];
    if (dt_mkdtemp(dir, sizeof dir)) { CPR_CHECK(t, 0, "mkdtemp"); return; }
    snprintf(path, sizeof path, "%s/c.gguf", dir);
    struct cpr_gguf_writer w;
    struct cpr_err err;
    cpr_gguf_writer_init(&w);
    cpr_gguf_kv_str(&w, "a.s", "hello");
    cpr_gguf_kv_i32(&w, "a.i", -5);
    cpr_gguf_kv_bool(&w, "a.b", 1);
    int64_t sh1[1] = {3}, sh2[2] = {2, 5};
    CPR_CHECK(t, cpr_gguf_add_tensor(&w, "t1", CPR_GGML_F32, 1, sh1, &err) == CPR_OK, "add");
    CPR_CHECK(t, cpr_gguf_add_tensor(&w, "t2", CPR_GGML_F16, 2, sh2, &err) == CPR_OK, "add");
    CPR_CHECK_STATUS(t, cpr_gguf_add_tensor(&w, "t3", CPR_GGML_F32, 5, sh2, &err),
                     CPR_ERR_ARG, &err, "dims");
    CPR_CHECK(t, cpr_gguf_begin(&w, path, &err) == CPR_OK, "%s", err.msg);
    float a[3] = {1, 2, 3};
    uint16_t b[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    CPR_CHECK_STATUS(t, cpr_gguf_put_tensor(&w, a, 8, &err), CPR_ERR_INTERNAL,
                     &err, "declared");
    CPR_CHECK(t, cpr_gguf_put_tensor(&w, a, 12, &err) == CPR_OK, "put");
    CPR_CHECK(t, !(access(path, F_OK) == 0), "visible before commit");
    CPR_CHECK(t, cpr_gguf_put_tensor(&w, b, 20, &err) == CPR_OK, "put");
    CPR_CHECK(t, cpr_gguf_commit(&w, &err) == CPR_OK, "%s", err.msg);
    cpr_gguf_writer_free(&w);
    struct gg g;
    CPR_CHECK(t, gg_load(&g, path) == 0, "read back");
    CPR_CHECK(t, g.nkv == 3 && g.nt == 2, "counts");
    CPR_CHECK(t, gg_str_eq(&g, "a.s", "hello") && gg_int(&g, "a.i") == -5 &&
                     gg_int(&g, "a.b") == 1, "values");
    struct tinfo ti;
    CPR_CHECK(t, gg_tensor(&g, "t2", &ti) == 0 && ti.off == 32 && ti.nd == 2 &&
                     ti.dims[0] == 5 && ti.dims[1] == 2 && ti.type == 1, "t2 info");
    CPR_CHECK(t, !memcmp(gg_data(&g, &ti), b, 20), "t2 bytes");
    CPR_CHECK(t, g.n == g.data_start + 32 + 20, "file size %zu", g.n);
    free(g.b);
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_gguf[] = {
    {"container", test_container, 0},
    {"llama_layouts_dtypes", test_llama_layouts, 0},
    {"permutation_by_hand", test_permutation_by_hand, 0},
    {"deci_shapes", test_deci, 0},
    {"vocab_and_errors", test_vocab_and_errors, 0},
    {0},
};
