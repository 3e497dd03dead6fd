// cli/cmd_compress.c: `cprune compress` (store a pruned model's linears in
// a compressed sparse layout, core/weight.h + data/sparse_st.h) and
// `cprune decompress` (restore the dense model bit for bit).
//
// Only the seven decoder linears of each block are compressed; embeddings,
// norms, biases and lm_head stay dense. A llama2.c source is written with
// HF's half-split RoPE (q/k rows permuted, as `prune --out-format hf`).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/sparse_out.h"
#include "core/model.h"
#include "core/weight.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/sparse_st.h"

// model when it has a tokenizer to copy, else NULL.
static const char *tokenizer_source(const char *model) {
    char tok[1024];
    enum cpr_tokenizer_kind kind;
    return cpr_model_find_tokenizer(model, tok, sizeof tok, &kind, NULL) ==
                   CPR_OK
               ? model
               : NULL;
}

static void linear_name(int64_t l, enum cpr_linear j, char *out, size_t cap) {
    snprintf(out, cap, "model.layers.%lld.%s.%s.weight", (long long)l,
             j <= CPR_LINEAR_O ? "self_attn" : "mlp", cpr_linear_name(j));
}

// Permute q/k rows of an interleaved-RoPE model to HF's half split.
static enum cpr_status to_half_rope(struct cpr_model *m, struct cpr_err *err) {
    if (m->cfg.rope_style == CPR_ROPE_HALF) return CPR_OK;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_tensor *t[2] = {&m->layers[l].wq, &m->layers[l].wk};
        int64_t heads[2] = {m->cfg.n_heads, m->cfg.n_kv_heads};
        for (int i = 0; i < 2; i++) {
            struct cpr_tensor p;
            CPR_TRY(cpr_rope_rows_to_half(t[i], heads[i], m->cfg.head_dim, &p,
                                          err));
            cpr_tensor_free(t[i]);
            *t[i] = p;
        }
    }
    m->cfg.rope_style = CPR_ROPE_HALF;
    return CPR_OK;
}

enum cpr_status cli_save_sparse(const struct cpr_model *m, const char *out_dir,
                                const char *const *meta, size_t n_meta,
                                const char *tok_from, struct cpr_err *err) {
    if (m->cfg.arch == CPR_ARCH_OPT || m->cfg.arch == CPR_ARCH_QWEN3 ||
        m->cfg.arch == CPR_ARCH_GEMMA ||
        cpr_model_linears_per_layer(m) != CPR_LINEAR_COUNT)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "sparse output is "
                           "written for the LLaMA family only (write this "
                           "model with --out-format hf)");
    // A shallow copy whose layer array and linears are our own.
    struct cpr_model c = *m;
    c.backing = NULL, c.backing_free = NULL;
    c.layers = calloc((size_t)m->cfg.n_layers, sizeof *c.layers);
    if (!c.layers) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    enum cpr_status s = CPR_OK;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        c.layers[l] = m->layers[l];
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *t = cpr_model_linear(&c, l, (enum cpr_linear)j);
            t->owns_data = 0;
            t->sparse = NULL;
        }
    }
    for (int64_t l = 0; s == CPR_OK && l < m->cfg.n_layers; l++)
        for (int j = 0; s == CPR_OK && j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *t = cpr_model_linear(&c, l, (enum cpr_linear)j);
            struct cpr_tensor h = {0}, z;
            const struct cpr_tensor *src = t;
            if (m->cfg.rope_style != CPR_ROPE_HALF &&
                (j == CPR_LINEAR_Q || j == CPR_LINEAR_K)) {
                s = cpr_rope_rows_to_half(
                    t, j == CPR_LINEAR_Q ? m->cfg.n_heads : m->cfg.n_kv_heads,
                    m->cfg.head_dim, &h, err);
                src = &h;
            }
            char name[160];
            linear_name(l, (enum cpr_linear)j, name, sizeof name);
            if (s == CPR_OK)
                s = cpr_sparse_compress(src, CPR_WLAYOUT_AUTO, name, &z, err);
            if (s == CPR_OK && !z.sparse && src == &h) {
                *t = h; // kept dense: keep the permuted copy (owned)
                h.owns_data = 0, h.data = NULL;
            } else if (s == CPR_OK && z.sparse) {
                *t = z;
            }
            cpr_tensor_free(&h);
        }
    c.cfg.rope_style = CPR_ROPE_HALF;
    if (s == CPR_OK) s = cpr_sparse_save_hf(&c, out_dir, meta, n_meta,
                                            tok_from ? tokenizer_source(tok_from)
                                                     : NULL, err);
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *t = cpr_model_linear(&c, l, (enum cpr_linear)j);
            if (t->sparse || t->owns_data) cpr_tensor_free(t);
        }
    free(c.layers);
    return s;
}

int cmd_compress(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"model", 1, "pruned model (HF directory or llama2.c checkpoint)", NULL},
        {"out", 1, "output HF directory (created if missing)", NULL},
        {"layout", 1, "auto (default: the smaller fitting layout per tensor), bitmask or nm (2:4)", NULL},
        {"verbose", 0, "one line per linear on stdout", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    int rc = cli_parse(argc, argv, opts, n_opts, "compress",
                       "cprune compress --model PRUNED --out DIR "
                       "[--layout auto|bitmask|nm] [--verbose]");
    if (rc) return rc == 1 ? 0 : 2;
    const char *model = cli_get(opts, n_opts, "model");
    const char *out = cli_get(opts, n_opts, "out"), *v;
    if (!model || !out) {
        fprintf(stderr, "cprune compress: --model and --out are required\n");
        return 2;
    }
    enum cpr_wlayout layout = CPR_WLAYOUT_AUTO;
    if ((v = cli_get(opts, n_opts, "layout"))) {
        int p = cpr_wlayout_parse(v);
        if (p != CPR_WLAYOUT_AUTO && p != CPR_WLAYOUT_BITMASK &&
            p != CPR_WLAYOUT_NM24) {
            fprintf(stderr, "cprune compress: --layout: expected auto, bitmask "
                            "or nm, found '%s'\n", v);
            return 2;
        }
        layout = (enum cpr_wlayout)p;
    }
    int verbose = cli_get(opts, n_opts, "verbose") != NULL;
    struct cpr_err err = {0};
    struct cpr_model m;
    if (cpr_model_load(model, &m, &err) != CPR_OK) {
        fprintf(stderr, "cprune compress: %s\n", err.msg);
        return 1;
    }
    rc = 1;
    if (to_half_rope(&m, &err) != CPR_OK) goto fail;
    double dense_b = 0, comp_b = 0;
    int64_t counts[3] = {0, 0, 0};
    for (int64_t l = 0; l < m.cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *t = cpr_model_linear(&m, l, (enum cpr_linear)j);
            char name[160];
            linear_name(l, (enum cpr_linear)j, name, sizeof name);
            if (t->sparse) {
                fprintf(stderr, "cprune compress: %s is compressed already\n",
                        name);
                goto fail;
            }
            struct cpr_tensor c;
            if (cpr_sparse_compress(t, layout, name, &c, &err) != CPR_OK)
                goto fail;
            dense_b += (double)cpr_tensor_nbytes(t);
            if (c.sparse) {
                cpr_tensor_free(t);
                *t = c;
            }
            comp_b += (double)cpr_weight_bytes(t);
            int li = t->sparse ? (int)t->sparse->layout : 0;
            counts[li]++;
            if (verbose)
                printf("  %-44s %-8s %10.0f -> %10.0f bytes\n", name,
                       t->sparse ? cpr_wlayout_name(t->sparse->layout) : "dense",
                       (double)cpr_tensor_nbytes(t),
                       (double)cpr_weight_bytes(t));
        }
    const char *meta[4] = {"cprune.version", CPRUNE_VERSION,
                           "cprune.compressed_from", model};
    if (cpr_sparse_save_hf(&m, out, meta, 2, tokenizer_source(model), &err) != CPR_OK) goto fail;
    printf("compressed %s -> %s: linears %.1f MB -> %.1f MB (%.3fx); "
           "%lld bitmask, %lld nm (2:4), %lld kept dense\n", model, out,
           dense_b / 1e6, comp_b / 1e6, comp_b / (dense_b > 0 ? dense_b : 1),
           (long long)counts[CPR_WLAYOUT_BITMASK],
           (long long)counts[CPR_WLAYOUT_NM24],
           (long long)counts[CPR_WLAYOUT_DENSE]);
    rc = 0;
fail:
    if (rc) fprintf(stderr, "cprune compress: %s\n", err.msg);
    cpr_model_free(&m);
    return rc;
}

int cmd_decompress(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"model", 1, "compressed model directory (cprune compress)", NULL},
        {"out", 1, "output HF directory of the dense model", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    int rc = cli_parse(argc, argv, opts, n_opts, "decompress",
                       "cprune decompress --model COMPRESSED --out DIR");
    if (rc) return rc == 1 ? 0 : 2;
    const char *model = cli_get(opts, n_opts, "model");
    const char *out = cli_get(opts, n_opts, "out");
    if (!model || !out) {
        fprintf(stderr, "cprune decompress: --model and --out are required\n");
        return 2;
    }
    struct cpr_err err = {0};
    struct cpr_model m;
    if (cpr_model_load(model, &m, &err) != CPR_OK) {
        fprintf(stderr, "cprune decompress: %s\n", err.msg);
        return 1;
    }
    rc = 1;
    int64_t n = 0;
    for (int64_t l = 0; l < m.cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *t = cpr_model_linear(&m, l, (enum cpr_linear)j);
            if (!t->sparse) continue;
            struct cpr_tensor d;
            if (cpr_sparse_decompress(t, &d, &err) != CPR_OK) goto fail;
            cpr_tensor_free(t);
            *t = d;
            n++;
        }
    const char *meta[4] = {"cprune.version", CPRUNE_VERSION,
                           "cprune.decompressed_from", model};
    struct cpr_model_save_opts so = {.meta = meta, .n_meta = 2,
                                     .tokenizer_from = tokenizer_source(model)};
    if (cpr_model_save_hf(&m, out, &so, &err) != CPR_OK) goto fail;
    printf("decompressed %s -> %s: %lld compressed linears restored\n", model,
           out, (long long)n);
    rc = 0;
fail:
    if (rc) fprintf(stderr, "cprune decompress: %s\n", err.msg);
    cpr_model_free(&m);
    return rc;
}
