// data/gguf_model.c: a cpr_model as a llama.cpp GGUF file (gguf_model.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/gguf_model.h"
#include "data/gguf_write.h"

enum cpr_status cpr_gguf_model_check(const struct cpr_model *m,
                                     struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    const struct cpr_block_spec *b = &c->block;
    if (c->arch != CPR_ARCH_LLAMA && c->arch != CPR_ARCH_MISTRAL)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "gguf: only LLaMA-family "
                           "models can be written (this model's arch is %d)",
                           (int)c->arch);
    if (b->norm != CPR_NORM_RMS || b->pos != CPR_POS_ROPE ||
        b->mlp != CPR_MLP_SWIGLU || b->sliding_window != 0)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "gguf: block kind "
                           "norm=%s pos=%s mlp=%s window=%lld is not LLaMA's",
                           cpr_norm_kind_name(b->norm),
                           cpr_pos_kind_name(b->pos),
                           cpr_mlp_kind_name(b->mlp),
                           (long long)b->sliding_window);
    if (c->qkv_bias)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "gguf: q/k/v biases are not written");
    if (c->rope_scaling != CPR_ROPE_SCALING_NONE)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "gguf: llama3 RoPE scaling is not written");
    for (int64_t l = 0; l < c->n_layers; l++) {
        const struct cpr_layer *L = &m->layers[l];
        if (L->b_up.data)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "gguf: layer %lld "
                               "has an up-projection bias, which is not "
                               "written", (long long)l);
        const struct cpr_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                         &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            if (ts[i]->sparse)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "gguf: layer "
                                   "%lld holds a compressed weight; GGUF "
                                   "output needs dense weights", (long long)l);
    }
    return CPR_OK;
}

int cpr_gguf_model_is_deci(const struct cpr_model *m) {
    const struct cpr_model_config *c = &m->cfg;
    for (int64_t l = 0; l < c->n_layers; l++) {
        struct cpr_layer_shape s = cpr_layer_shape_of(m, l);
        if (!s.has_attn || !s.has_mlp || s.n_heads != c->n_heads ||
            s.n_kv_heads != c->n_kv_heads || s.intermediate != c->intermediate)
            return 1;
    }
    return 0;
}

// ---- tensor data ----

struct conv {
    enum cpr_dtype dtype;
    enum cpr_ggml_type gtype;
    float *row;        // scratch f32 row
    unsigned char *buf; // one tensor in the output type
    size_t cap;
};

static enum cpr_status ensure(struct conv *cv, size_t bytes, int64_t cols,
                              struct cpr_err *err) {
    if (bytes > cv->cap) {
        free(cv->buf);
        cv->buf = malloc(bytes);
        cv->cap = cv->buf ? bytes : 0;
        if (!cv->buf)
            return cpr_err_set(err, CPR_ERR_NOMEM, "gguf: %zu bytes", bytes);
    }
    free(cv->row);
    cv->row = malloc((size_t)(cols > 0 ? cols : 1) * sizeof(float));
    if (!cv->row) return cpr_err_set(err, CPR_ERR_NOMEM, "gguf: row buffer");
    return CPR_OK;
}

// f32 -> bf16 / f16, rounding to nearest even (NaN stays NaN). Scalar:
// data/ does not use simd/, and writing is I/O bound.
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static uint16_t to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u); // NaN
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); // overflow, Inf
    if (a < 0x38800000u) { // subnormal or zero in f16
        if (a < 0x33000000u) return sign; // below half the smallest: 0
        uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; // 14..24 (value = m * 2^(e-150))
        uint32_t q = m >> (shift - 0), r = m & ((1u << shift) - 1);
        // target unit 2^-24: m * 2^(e-150) / 2^-24 = m >> (126 - e)
        uint32_t half = 1u << (shift - 1);
        if (r > half || (r == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

static void emit_row(const float *src, int64_t n, enum cpr_ggml_type t,
                     void *dst) {
    if (t == CPR_GGML_F32) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    uint16_t *o = dst;
    for (int64_t i = 0; i < n; i++)
        o[i] = t == CPR_GGML_BF16 ? to_bf16(src[i]) : to_f16(src[i]);
}

// Write tensor t (2-D or 1-D) as type gt; perm_hd > 0 permutes rows within
// heads of perm_hd rows from half-split to interleaved pairing. zero_shape
// (when t is NULL): rows x cols of zeros (removed sub-blocks). ones: a 1-D
// tensor of ones of length cols.
static enum cpr_status put_tensor(struct cpr_gguf_writer *w, struct conv *cv,
                                  const struct cpr_tensor *t,
                                  enum cpr_ggml_type gt, int64_t perm_hd,
                                  int64_t rows, int64_t cols, int ones,
                                  struct cpr_err *err) {
    if (t && (t->ndim == 2 ? t->shape[0] != rows || t->shape[1] != cols
                           : t->ndim != 1 || t->shape[0] != cols))
        return cpr_err_set(err, CPR_ERR_SHAPE, "gguf: %s: expected (%lld, "
                           "%lld), found a %d-D tensor (%lld, ...)",
                           w->tensors[w->next_put].name, (long long)rows,
                           (long long)cols, t->ndim, (long long)t->shape[0]);
    size_t es = cpr_ggml_type_size(gt);
    size_t bytes = (size_t)rows * (size_t)cols * es;
    CPR_TRY(ensure(cv, bytes, cols, err));
    for (int64_t r = 0; r < rows; r++) {
        int64_t src = r;
        if (perm_hd > 0) {
            int64_t h = r / perm_hd, j = r % perm_hd, half = perm_hd / 2;
            src = h * perm_hd + (j % 2) * half + j / 2;
        }
        if (!t) {
            for (int64_t c = 0; c < cols; c++) cv->row[c] = ones ? 1.0f : 0.0f;
        } else if (t->ndim == 1) {
            struct cpr_tensor f;
            memset(&f, 0, sizeof f);
            CPR_TRY(cpr_tensor_copy_f32(&f, t, err));
            memcpy(cv->row, f.data, (size_t)cols * 4);
            cpr_tensor_free(&f);
        } else {
            cpr_tensor_row_f32(t, src, cv->row);
        }
        emit_row(cv->row, cols, gt, cv->buf + (size_t)r * (size_t)cols * es);
    }
    return cpr_gguf_put_tensor(w, cv->buf, bytes, err);
}

// ---- tokenizer ----

struct vocab {
    int64_t n;
    char **text;
    size_t *len;
    float *score;
    int32_t *type;
};

static void vocab_free(struct vocab *v) {
    if (v->text)
        for (int64_t i = 0; i < v->n; i++) free(v->text[i]);
    free(v->text);
    free(v->len);
    free(v->score);
    free(v->type);
    memset(v, 0, sizeof *v);
}

static int is_byte_piece(const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    return n == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
           strchr(hex, s[3]) && strchr(hex, s[4]) && s[3] && s[4];
}

static enum cpr_status vocab_llama2c(struct vocab *v, const char *path,
                                     int64_t n, struct cpr_err *err) {
    char *buf = NULL;
    size_t len = 0, off = 4;
    CPR_TRY(cpr_file_read_all(path, (size_t)1 << 30, &buf, &len, err));
    enum cpr_status s = CPR_OK;
    v->n = n;
    v->text = calloc((size_t)n, sizeof *v->text);
    v->len = calloc((size_t)n, sizeof *v->len);
    v->score = calloc((size_t)n, sizeof *v->score);
    v->type = calloc((size_t)n, sizeof *v->type);
    if (!v->text || !v->len || !v->score || !v->type) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "gguf: vocabulary of %lld",
                        (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t plen;
        if (off + 8 > len) {
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: truncated at entry "
                            "%lld of %lld", path, (long long)i, (long long)n);
            goto done;
        }
        memcpy(&v->score[i], buf + off, 4);
        memcpy(&plen, buf + off + 4, 4);
        off += 8;
        if (plen < 0 || (size_t)plen > len - off) {
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: entry %lld: length %d "
                            "(expected 0..%zu)", path, (long long)i, (int)plen,
                            len - off);
            goto done;
        }
        const char *p = buf + off;
        off += (size_t)plen;
        const char *fixed = NULL;
        int32_t type = 1; // normal
        if (i == 0) fixed = "<unk>", type = 2;
        else if (i == 1) fixed = "<s>", type = 3;
        else if (i == 2) fixed = "</s>", type = 3;
        else if (plen == 0) type = 3;
        else if (is_byte_piece(p, (size_t)plen)) type = 6;
        if (fixed) {
            p = fixed;
            plen = (int32_t)strlen(fixed);
        }
        // spaces -> U+2581 (3 bytes)
        size_t cap = (size_t)plen * 3 + 1, o = 0;
        char *t = malloc(cap);
        if (!t) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "gguf: vocabulary");
            goto done;
        }
        for (int32_t c = 0; c < plen; c++) {
            if (p[c] == ' ') {
                memcpy(t + o, "\xe2\x96\x81", 3);
                o += 3;
            } else {
                t[o++] = p[c];
            }
        }
        v->text[i] = t;
        v->len[i] = o;
        v->type[i] = type;
    }
done:
    free(buf);
    if (s != CPR_OK) vocab_free(v);
    return s;
}

// ---- metadata ----

static const char *file_type_dtype_name(enum cpr_dtype d) {
    return cpr_dtype_name(d);
}

// What layer l writes: per sub-block, the shape (with the stand-ins for
// removed sub-blocks, see the header) and whether tensors exist.
struct lplan {
    int attn, mlp;          // tensors written
    int mlp_zero;           // stand-in (zeros)
    int64_t nq, nkv, ff;
};

static struct lplan plan_layer(const struct cpr_model *m, int64_t l) {
    struct cpr_layer_shape s = cpr_layer_shape_of(m, l);
    struct lplan p;
    memset(&p, 0, sizeof p);
    p.attn = s.has_attn; // removed: n_head = n_head_kv = 0, no tensors
    p.mlp = 1;
    p.mlp_zero = !s.has_mlp;
    p.nq = s.has_attn ? s.n_heads : 0;
    p.nkv = s.has_attn ? s.n_kv_heads : 0;
    p.ff = s.has_mlp ? s.intermediate : 1;
    return p;
}

static void put_kv(struct cpr_gguf_writer *w, const struct cpr_model *m,
                   const struct cpr_gguf_opts *o, int deci) {
    const struct cpr_model_config *c = &m->cfg;
    const char *a = deci ? "deci" : "llama";
    char k[96];
    cpr_gguf_kv_str(w, "general.architecture", a);
    cpr_gguf_kv_str(w, "general.name", o->name ? o->name : "cprune");
    cpr_gguf_kv_u32(w, "general.alignment", CPR_GGUF_ALIGNMENT);
    cpr_gguf_kv_u32(w, "general.file_type",
                    o->dtype == CPR_DTYPE_F32 ? 0
                    : o->dtype == CPR_DTYPE_F16 ? 1 : 32);
    for (size_t i = 0; i < o->n_meta; i++)
        cpr_gguf_kv_str(w, o->meta[2 * i], o->meta[2 * i + 1]);
#define KEY(s) (snprintf(k, sizeof k, "%s." s, a), k)
    cpr_gguf_kv_u32(w, KEY("vocab_size"), (uint32_t)c->vocab);
    cpr_gguf_kv_u32(w, KEY("context_length"), (uint32_t)c->context);
    cpr_gguf_kv_u32(w, KEY("embedding_length"), (uint32_t)c->hidden);
    cpr_gguf_kv_u32(w, KEY("block_count"), (uint32_t)c->n_layers);
    cpr_gguf_kv_u32(w, KEY("rope.dimension_count"), (uint32_t)c->head_dim);
    cpr_gguf_kv_f32(w, KEY("rope.freq_base"), (float)c->rope_theta);
    cpr_gguf_kv_f32(w, KEY("attention.layer_norm_rms_epsilon"), c->norm_eps);
    cpr_gguf_kv_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim);
    cpr_gguf_kv_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim);
    if (!deci) {
        cpr_gguf_kv_u32(w, KEY("feed_forward_length"), (uint32_t)c->intermediate);
        cpr_gguf_kv_u32(w, KEY("attention.head_count"), (uint32_t)c->n_heads);
        cpr_gguf_kv_u32(w, KEY("attention.head_count_kv"),
                        (uint32_t)c->n_kv_heads);
    } else {
        size_t n = (size_t)c->n_layers;
        int32_t *hq = calloc(n ? n : 1, 4), *hkv = calloc(n ? n : 1, 4),
                *ff = calloc(n ? n : 1, 4);
        if (!hq || !hkv || !ff) {
            w->oom = CPR_ERR_NOMEM;
        } else {
            for (size_t l = 0; l < n; l++) {
                struct lplan p = plan_layer(m, (int64_t)l);
                hq[l] = (int32_t)p.nq;
                hkv[l] = (int32_t)p.nkv;
                ff[l] = (int32_t)p.ff;
            }
            cpr_gguf_kv_arr_i32(w, KEY("attention.head_count"), hq, n);
            cpr_gguf_kv_arr_i32(w, KEY("attention.head_count_kv"), hkv, n);
            cpr_gguf_kv_arr_i32(w, KEY("feed_forward_length"), ff, n);
        }
        free(hq);
        free(hkv);
        free(ff);
    }
#undef KEY
    (void)file_type_dtype_name;
}

static enum cpr_ggml_type gtype_of(enum cpr_dtype d) {
    return d == CPR_DTYPE_F32 ? CPR_GGML_F32
           : d == CPR_DTYPE_F16 ? CPR_GGML_F16 : CPR_GGML_BF16;
}

enum cpr_status cpr_gguf_model_save(const struct cpr_model *m,
                                    const char *path,
                                    const struct cpr_gguf_opts *o,
                                    struct cpr_err *err) {
    CPR_TRY(cpr_gguf_model_check(m, err));
    const struct cpr_model_config *c = &m->cfg;
    int deci = cpr_gguf_model_is_deci(m);
    enum cpr_ggml_type gt = gtype_of(o->dtype);
    struct cpr_gguf_writer w;
    struct vocab v;
    struct conv cv;
    memset(&v, 0, sizeof v);
    memset(&cv, 0, sizeof cv);
    cpr_gguf_writer_init(&w);
    enum cpr_status s = CPR_OK;
    if (o->tokenizer_path) {
        size_t n = strlen(o->tokenizer_path);
        if (n >= 5 && strcmp(o->tokenizer_path + n - 5, ".json") == 0) {
            s = cpr_err_set(err, CPR_ERR_UNSUPPORTED, "gguf: %s: tokenizer."
                            "json vocabularies are not converted yet (only "
                            "llama2.c tokenizer .bin files)",
                            o->tokenizer_path);
            goto done;
        }
        if ((s = vocab_llama2c(&v, o->tokenizer_path, c->vocab, err)) != CPR_OK)
            goto done;
    }
    put_kv(&w, m, o, deci);
    if (v.n) {
        cpr_gguf_kv_str(&w, "tokenizer.ggml.model", "llama");
        cpr_gguf_kv_arr_str(&w, "tokenizer.ggml.tokens",
                            (const char *const *)v.text, v.len, (size_t)v.n);
        cpr_gguf_kv_arr_f32(&w, "tokenizer.ggml.scores", v.score, (size_t)v.n);
        cpr_gguf_kv_arr_i32(&w, "tokenizer.ggml.token_type", v.type,
                            (size_t)v.n);
        cpr_gguf_kv_u32(&w, "tokenizer.ggml.unknown_token_id", 0);
    } else {
        cpr_gguf_kv_str(&w, "tokenizer.ggml.model", "no_vocab");
    }
    if (c->bos_id >= 0)
        cpr_gguf_kv_u32(&w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos_id);
    if (c->eos_id >= 0)
        cpr_gguf_kv_u32(&w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos_id);

    // tensor infos, in the order they are written
    int64_t H = c->hidden, hd = c->head_dim;
    {
        int64_t sh[2] = {c->vocab, H};
        if ((s = cpr_gguf_add_tensor(&w, "token_embd.weight", gt, 2, sh, err)))
            goto done;
        char name[64];
        for (int64_t l = 0; l < c->n_layers; l++) {
            struct lplan p = plan_layer(m, l);
            const struct cpr_layer *L = &m->layers[l];
#define ADD(suffix, nd, a, b)                                                  \
    do {                                                                       \
        int64_t shp_[2] = {(a), (b)};                                          \
        snprintf(name, sizeof name, "blk.%lld." suffix, (long long)l);        \
        if ((s = cpr_gguf_add_tensor(&w, name, (nd) == 1 ? CPR_GGML_F32 : gt, \
                                     (nd), (nd) == 1 ? shp_ + 1 : shp_,       \
                                     err)) != CPR_OK)                          \
            goto done;                                                         \
    } while (0)
            if (p.attn) {
                ADD("attn_norm.weight", 1, 0, H);
                ADD("attn_q.weight", 2, p.nq * hd, H);
                ADD("attn_k.weight", 2, p.nkv * hd, H);
                ADD("attn_v.weight", 2, p.nkv * hd, H);
                ADD("attn_output.weight", 2, H, p.nq * hd);
                if (L->bo.data) ADD("attn_output.bias", 1, 0, H);
            }
            if (p.mlp) {
                ADD("ffn_norm.weight", 1, 0, H);
                ADD("ffn_gate.weight", 2, p.ff, H);
                ADD("ffn_up.weight", 2, p.ff, H);
                ADD("ffn_down.weight", 2, H, p.ff);
                if (!p.mlp_zero && L->b_down.data)
                    ADD("ffn_down.bias", 1, 0, H);
            }
#undef ADD
        }
        int64_t hn[1] = {H};
        if ((s = cpr_gguf_add_tensor(&w, "output_norm.weight", CPR_GGML_F32, 1,
                                     hn, err)))
            goto done;
        if (!c->tied_embeddings &&
            (s = cpr_gguf_add_tensor(&w, "output.weight", gt, 2, sh, err)))
            goto done;
    }

    if ((s = cpr_gguf_begin(&w, path, err)) != CPR_OK) goto done;
    int64_t qperm = c->rope_style == CPR_ROPE_HALF ? hd : 0;
    if ((s = put_tensor(&w, &cv, &m->tok_embed, gt, 0, c->vocab, H, 0, err)))
        goto done;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const struct cpr_layer *L = &m->layers[l];
        struct lplan p = plan_layer(m, l);
        if (p.attn) {
            if ((s = put_tensor(&w, &cv, &L->attn_norm, CPR_GGML_F32, 0, 1, H,
                                1, err)) ||
                (s = put_tensor(&w, &cv, &L->wq, gt, qperm, p.nq * hd, H, 0,
                                err)) ||
                (s = put_tensor(&w, &cv, &L->wk, gt, qperm, p.nkv * hd, H, 0,
                                err)) ||
                (s = put_tensor(&w, &cv, &L->wv, gt, 0, p.nkv * hd, H, 0,
                                err)) ||
                (s = put_tensor(&w, &cv, &L->wo, gt, 0, H, p.nq * hd, 0,
                                err)))
                goto done;
            // FLAP's compensation bias (llama.cpp: optional attn_output.bias)
            if (L->bo.data && (s = put_tensor(&w, &cv, &L->bo, CPR_GGML_F32, 0,
                                              1, H, 0, err)))
                goto done;
        }
        if (p.mlp) {
            int z = p.mlp_zero;
            if ((s = put_tensor(&w, &cv, z ? NULL : &L->mlp_norm, CPR_GGML_F32,
                                0, 1, H, 1, err)) ||
                (s = put_tensor(&w, &cv, z ? NULL : &L->w_gate, gt, 0, p.ff, H,
                                0, err)) ||
                (s = put_tensor(&w, &cv, z ? NULL : &L->w_up, gt, 0, p.ff, H, 0,
                                err)) ||
                (s = put_tensor(&w, &cv, z ? NULL : &L->w_down, gt, 0, H, p.ff,
                                0, err)))
                goto done;
            if (!z && L->b_down.data &&
                (s = put_tensor(&w, &cv, &L->b_down, CPR_GGML_F32, 0, 1, H, 0,
                                err)))
                goto done;
        }
    }
    if ((s = put_tensor(&w, &cv, &m->final_norm, CPR_GGML_F32, 0, 1, H, 1, err)))
        goto done;
    if (!c->tied_embeddings &&
        (s = put_tensor(&w, &cv, &m->lm_head, gt, 0, c->vocab, H, 0, err)))
        goto done;
    s = cpr_gguf_commit(&w, err);
done:
    cpr_gguf_writer_free(&w);
    vocab_free(&v);
    free(cv.buf);
    free(cv.row);
    return s;
}
