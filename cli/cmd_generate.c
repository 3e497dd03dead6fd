// cli/cmd_generate.c: `cprune generate`: text generation with a KV cache
// (core/decode.h) on dense, zero-stored or compressed models, streaming
// the text to stdout; --bench times prefill and decode, --json records it.
//
// Decoding rule:
//   greedy (default, --temperature 0): the arg max of the logits, the
//     lowest id on ties;
//   sampled (--temperature T > 0): p = softmax(logits / T) (in double);
//     with --top-p P < 1 only the smallest set of most probable tokens
//     (sorted by p descending, lower id first on ties) whose mass reaches
//     P is kept; then u = cpr_rng_uniform_f64 (xoshiro256** seeded by
//     --seed through splitmix64, core/rng.h) times the kept mass, and the
//     first token in that order whose running sum exceeds u is drawn.
// Generation stops after --tokens new tokens, or at the model's EOS
// (except with --bench, which always runs --tokens steps).
// Text: each token's piece is printed as the tokenizer stores it, with
// SentencePiece's U+2581 shown as a space and <0xNN> byte tokens as the
// byte; byte-level (GPT-2 style) pieces are printed unmapped.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/decode.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/rng.h"
#include "core/weight.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/tokenizer.h"

#define CMD "generate"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---- choosing the next token ----

static int32_t argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

struct cand {
    double p;
    int32_t id;
};

static int cmp_cand(const void *a, const void *b) {
    const struct cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int32_t sample(const float *logits, int64_t n, double temp, double top_p,
                      struct cpr_rng *rng, struct cand *c) {
    double mx = logits[argmax(logits, n)], sum = 0;
    for (int64_t i = 0; i < n; i++) {
        c[i].p = exp(((double)logits[i] - mx) / temp);
        c[i].id = (int32_t)i;
        sum += c[i].p;
    }
    qsort(c, (size_t)n, sizeof *c, cmp_cand);
    int64_t keep = n;
    double mass = 0;
    for (int64_t i = 0; i < n; i++) {
        mass += c[i].p / sum;
        if (top_p < 1.0 && mass >= top_p) {
            keep = i + 1;
            break;
        }
    }
    double kept = 0;
    for (int64_t i = 0; i < keep; i++) kept += c[i].p;
    double u = cpr_rng_uniform_f64(rng) * kept, run = 0;
    for (int64_t i = 0; i < keep; i++) {
        run += c[i].p;
        if (run > u) return c[i].id;
    }
    return c[keep - 1].id;
}

// ---- text ----

// Append the printable text of token id to out (cap bytes); returns bytes.
static size_t piece_text(const struct cpr_tokenizer *tok, int32_t id,
                         int32_t prev, char *out, size_t cap) {
    size_t len = 0, o = 0;
    const char *p = cpr_tokenizer_piece(tok, id, &len);
    if (!p || id == tok->bos_id || id == tok->eos_id) return 0;
    unsigned b;
    char tail;
    if (len == 6 && sscanf(p, "<0x%2X%c", &b, &tail) == 2 && tail == '>') {
        if (cap) out[0] = (char)b;
        return 1;
    }
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (i + 2 < len && (unsigned char)p[i] == 0xE2 &&
            (unsigned char)p[i + 1] == 0x96 && (unsigned char)p[i + 2] == 0x81) {
            out[o++] = ' ';
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    // llama2.c's run.c: after BOS the leading space of a piece is dropped.
    if (prev == tok->bos_id && o > 0 && out[0] == ' ') {
        memmove(out, out + 1, o - 1);
        o--;
    }
    return o;
}

struct text {
    char *buf;
    size_t len, cap;
};

static int text_add(struct text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) return -1;
        t->buf = nb, t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
    return 0;
}

// ---- json ----

struct gen_report {
    const char *model, *prompt, *text;
    int64_t prompt_tokens, generated;
    double prefill_s, decode_s, temperature, top_p;
    uint64_t seed;
    int threads;
    double weight_bytes;
    int64_t n_bitmask, n_nm, n_dense;
    const int32_t *ids;
};

static enum cpr_status write_json(const char *path, const struct gen_report *r,
                                  struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, r->model);
    cpr_jw_key(&w, "prompt"), cpr_jw_string(&w, r->prompt);
    cpr_jw_key(&w, "text"), cpr_jw_string(&w, r->text);
    cpr_jw_key(&w, "token_ids");
    cpr_jw_begin_array(&w);
    for (int64_t i = 0; i < r->generated; i++) cpr_jw_int(&w, r->ids[i]);
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "prompt_tokens"), cpr_jw_int(&w, r->prompt_tokens);
    cpr_jw_key(&w, "generated_tokens"), cpr_jw_int(&w, r->generated);
    cpr_jw_key(&w, "decoding"),
        cpr_jw_string(&w, r->temperature > 0 ? "sampled" : "greedy");
    cpr_jw_key(&w, "temperature"), cpr_jw_double(&w, r->temperature);
    cpr_jw_key(&w, "top_p"), cpr_jw_double(&w, r->top_p);
    cpr_jw_key(&w, "seed"), cpr_jw_int(&w, (int64_t)r->seed);
    cpr_jw_key(&w, "prefill_seconds"), cpr_jw_double(&w, r->prefill_s);
    cpr_jw_key(&w, "decode_seconds"), cpr_jw_double(&w, r->decode_s);
    cpr_jw_key(&w, "prefill_tokens_per_second"),
        cpr_jw_double(&w, r->prefill_s > 0 ? r->prompt_tokens / r->prefill_s : 0);
    // The first generated token comes from the prefill's logits; decode
    // steps are the remaining generated - 1 tokens.
    cpr_jw_key(&w, "decode_tokens_per_second"),
        cpr_jw_double(&w, r->decode_s > 0 && r->generated > 1
                              ? (double)(r->generated - 1) / r->decode_s
                              : 0);
    cpr_jw_key(&w, "linear_weight_bytes"), cpr_jw_double(&w, r->weight_bytes);
    cpr_jw_key(&w, "linears_bitmask"), cpr_jw_int(&w, r->n_bitmask);
    cpr_jw_key(&w, "linears_nm24"), cpr_jw_int(&w, r->n_nm);
    cpr_jw_key(&w, "linears_dense"), cpr_jw_int(&w, r->n_dense);
    cpr_jw_key(&w, "isa"), cpr_jw_string(&w, cpr_isa_name(cpr_kernels_isa()));
    cpr_jw_key(&w, "threads"), cpr_jw_int(&w, r->threads);
    cpr_jw_key(&w, "version"), cpr_jw_string(&w, CPRUNE_VERSION);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s == CPR_OK) s = cpr_file_write_atomic(path, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

// ---- command ----

int cmd_generate(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"model", 1, "model (HF directory, compressed directory, llama2.c checkpoint)", NULL},
        {"tokenizer", 1, "tokenizer file (default: the model's)", NULL},
        {"prompt", 1, "prompt text (default: empty, i.e. BOS only)", NULL},
        {"tokens", 1, "new tokens to generate (default 64)", NULL},
        {"temperature", 1, "0 (default): greedy; > 0: sample", NULL},
        {"top-p", 1, "nucleus mass kept when sampling (default 1)", NULL},
        {"seed", 1, "sampling seed (default 0)", NULL},
        {"threads", 1, "threads (default: all CPUs)", NULL},
        {"bench", 0, "time prefill and decode, ignore EOS, print tokens/s", NULL},
        {"quiet", 0, "do not stream the text", NULL},
        {"json", 1, "write text, speeds, isa, threads to this file", NULL},
    };
    const size_t N = sizeof opts / sizeof opts[0];
    int rc = cli_parse(argc, argv, opts, N, CMD,
                       "cprune generate --model M [--tokenizer T] --prompt TEXT "
                       "[--tokens N] [--temperature T --top-p P --seed S] "
                       "[--threads N] [--bench] [--json FILE]");
    if (rc) return rc == 1 ? 0 : 2;
    const char *model = cli_get(opts, N, "model"), *v;
    const char *prompt = cli_get(opts, N, "prompt");
    if (!model) {
        fprintf(stderr, "cprune " CMD ": --model is required\n");
        return 2;
    }
    if (!prompt) prompt = "";
    long long n_new = 64, seed = 0, threads = (long long)cpr_cpu_count();
    double temp = 0, top_p = 1;
    if ((v = cli_get(opts, N, "tokens")) && cli_int(CMD, "tokens", v, 1, 1 << 20, &n_new))
        return 2;
    if ((v = cli_get(opts, N, "seed")) &&
        cli_int(CMD, "seed", v, 0, (long long)(((unsigned long long)1 << 63) - 1), &seed))
        return 2;
    if ((v = cli_get(opts, N, "threads")) && cli_int(CMD, "threads", v, 1, 1024, &threads))
        return 2;
    if ((v = cli_get(opts, N, "temperature")) && cli_float(CMD, "temperature", v, 0, 100, &temp))
        return 2;
    if ((v = cli_get(opts, N, "top-p")) && cli_float(CMD, "top-p", v, 1e-9, 1, &top_p))
        return 2;
    int bench = cli_get(opts, N, "bench") != NULL;
    int quiet = cli_get(opts, N, "quiet") != NULL;
    const char *json = cli_get(opts, N, "json");

    struct cpr_err err = {0};
    struct cpr_model m;
    struct cpr_tokenizer tok;
    struct cpr_pool *pool = NULL;
    struct cpr_decode d;
    struct text text = {0};
    memset(&tok, 0, sizeof tok);
    memset(&d, 0, sizeof d);
    int32_t *ids = NULL, *out_ids = NULL;
    float *logits = NULL;
    struct cand *cand = NULL;
    int64_t n_ids = 0;
    if (cpr_model_load(model, &m, &err) != CPR_OK) {
        fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
        return 1;
    }
    rc = 1;
    if (cpr_tokenizer_load_for_model(&tok, model, cli_get(opts, N, "tokenizer"),
                                     m.cfg.vocab, &err) != CPR_OK ||
        cpr_tokenizer_encode(&tok, prompt, strlen(prompt), tok.add_bos, &ids,
                             &n_ids, &err) != CPR_OK)
        goto fail;
    if (n_ids == 0) {
        fprintf(stderr, "cprune " CMD ": the prompt encodes to no tokens and "
                        "the tokenizer has no BOS; give --prompt\n");
        rc = 2;
        goto fail;
    }
    if (cpr_pool_init(&pool, (size_t)threads, &err) != CPR_OK ||
        cpr_decode_init(&d, &m, NULL, pool, n_ids + n_new, n_ids, &err) != CPR_OK)
        goto fail;
    logits = malloc((size_t)m.cfg.vocab * sizeof *logits);
    out_ids = malloc((size_t)n_new * sizeof *out_ids);
    cand = malloc((size_t)m.cfg.vocab * sizeof *cand);
    if (!logits || !out_ids || !cand) {
        cpr_err_set(&err, CPR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    struct cpr_rng rng;
    cpr_rng_seed(&rng, (uint64_t)seed);
    if (!quiet) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    double t0 = now_s();
    if (cpr_decode_step(&d, ids, n_ids, 0, logits, &err) != CPR_OK) goto fail;
    double t1 = now_s();
    int64_t gen = 0;
    int32_t prev = ids[n_ids - 1];
    char piece[256];
    for (; gen < n_new; gen++) {
        int32_t next = temp > 0 ? sample(logits, m.cfg.vocab, temp, top_p, &rng, cand)
                                : argmax(logits, m.cfg.vocab);
        out_ids[gen] = next;
        if (!bench && next == m.cfg.eos_id) {
            gen++;
            break;
        }
        size_t pl = piece_text(&tok, next, prev, piece, sizeof piece);
        if (text_add(&text, piece, pl)) {
            cpr_err_set(&err, CPR_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (!quiet) {
            fwrite(piece, 1, pl, stdout);
            fflush(stdout);
        }
        prev = next;
        if (gen + 1 < n_new &&
            cpr_decode_step(&d, &next, 1, 0, logits, &err) != CPR_OK)
            goto fail;
    }
    double t2 = now_s();
    if (!quiet) printf("\n");
    struct gen_report r = {.model = model, .prompt = prompt,
                           .text = text.buf ? text.buf : "",
                           .prompt_tokens = n_ids, .generated = gen,
                           .prefill_s = t1 - t0, .decode_s = t2 - t1,
                           .temperature = temp, .top_p = top_p,
                           .seed = (uint64_t)seed, .threads = (int)threads,
                           .ids = out_ids};
    for (int64_t l = 0; l < m.cfg.n_layers; l++) {
        struct cpr_linear_ref lr[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears(&m, l, lr, CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            const struct cpr_tensor *t = lr[j].w;
            r.weight_bytes += (double)cpr_weight_bytes(t);
            if (!t->sparse) r.n_dense++;
            else if (t->sparse->layout == CPR_WLAYOUT_BITMASK) r.n_bitmask++;
            else r.n_nm++;
        }
    }
    if (bench)
        fprintf(stderr, "generate: prefill %lld tokens %.3f s (%.2f tok/s), "
                "decode %lld tokens %.3f s (%.2f tok/s); isa %s, threads %lld; "
                "linears %.1f MB (%lld bitmask, %lld nm, %lld dense)\n",
                (long long)n_ids, r.prefill_s, n_ids / r.prefill_s,
                (long long)(gen > 0 ? gen - 1 : 0), r.decode_s,
                gen > 1 ? (double)(gen - 1) / r.decode_s : 0.0,
                cpr_isa_name(cpr_kernels_isa()), threads, r.weight_bytes / 1e6,
                (long long)r.n_bitmask, (long long)r.n_nm, (long long)r.n_dense);
    if (json && write_json(json, &r, &err) != CPR_OK) goto fail;
    rc = 0;
fail:
    if (rc == 1) fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
    free(ids), free(out_ids), free(logits), free(cand), free(text.buf);
    cpr_decode_free(&d);
    cpr_pool_free(pool);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&m);
    return rc;
}
