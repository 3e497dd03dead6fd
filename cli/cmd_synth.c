// cli/cmd_synth.c: `cprune synth`: write a random-weight LLaMA-shaped model
// as a Hugging Face directory (config.json + model.safetensors, plus a
// copied tokenizer.json when --tokenizer is given), so speed and memory can
// be measured at real shapes without downloading weights.
//
// Weights follow core/synth.h (uniform with std --init-std, default 0.02;
// norms 1; reproducible per --seed, tensor by tensor). The model is built
// once in memory (1x its size) and handed to the safetensors writer.
// --out must be new or an empty directory (never clobber a real model);
// on failure the files written so far are removed.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/interrupt.h"
#include "cli/commands.h"
#include "core/model.h"
#include "core/synth.h"
#include "data/arch.h"
#include "data/arch_synth.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/json_write.h"
#include "data/safetensors_write.h"

#define CMD "synth"

static enum cpr_status write_config(const char *dir, const struct cpr_model_config *c,
                                    enum cpr_dtype dt, struct cpr_err *err) {
    char path[1024];
    CPR_TRY(cpr_path_join(path, sizeof path, dir, "config.json", err));
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    if (c->arch != CPR_ARCH_LLAMA) { // the loader's own writer (hf_config.h)
        cpr_hf_config_write(c, dt == CPR_DTYPE_BF16  ? "bfloat16"
                               : dt == CPR_DTYPE_F16 ? "float16"
                                                     : "float32", &w);
        enum cpr_status s = cpr_jw_finish(&w, err);
        if (s == CPR_OK) s = cpr_file_write_atomic(path, w.buf, w.len, err);
        cpr_jw_free(&w);
        return s;
    }
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "architectures");
    cpr_jw_begin_array(&w), cpr_jw_string(&w, "LlamaForCausalLM"), cpr_jw_end_array(&w);
    cpr_jw_key(&w, "model_type"), cpr_jw_string(&w, "llama");
    cpr_jw_key(&w, "hidden_size"), cpr_jw_int(&w, c->hidden);
    cpr_jw_key(&w, "intermediate_size"), cpr_jw_int(&w, c->intermediate);
    cpr_jw_key(&w, "num_hidden_layers"), cpr_jw_int(&w, c->n_layers);
    cpr_jw_key(&w, "num_attention_heads"), cpr_jw_int(&w, c->n_heads);
    cpr_jw_key(&w, "num_key_value_heads"), cpr_jw_int(&w, c->n_kv_heads);
    cpr_jw_key(&w, "head_dim"), cpr_jw_int(&w, c->head_dim);
    cpr_jw_key(&w, "vocab_size"), cpr_jw_int(&w, c->vocab);
    cpr_jw_key(&w, "max_position_embeddings"), cpr_jw_int(&w, c->context);
    // The f32 epsilon printed as the decimal it was given (1e-05, not
    // 9.99999974737875e-06).
    char eps[32];
    snprintf(eps, sizeof eps, "%.7g", (double)c->norm_eps);
    cpr_jw_key(&w, "rms_norm_eps"), cpr_jw_double(&w, strtod(eps, NULL));
    cpr_jw_key(&w, "rope_theta"), cpr_jw_double(&w, c->rope_theta);
    cpr_jw_key(&w, "rope_scaling"), cpr_jw_null(&w);
    cpr_jw_key(&w, "hidden_act"), cpr_jw_string(&w, "silu");
    cpr_jw_key(&w, "attention_bias"), cpr_jw_bool(&w, 0);
    cpr_jw_key(&w, "mlp_bias"), cpr_jw_bool(&w, 0);
    cpr_jw_key(&w, "tie_word_embeddings"), cpr_jw_bool(&w, c->tied_embeddings);
    cpr_jw_key(&w, "bos_token_id"), cpr_jw_int(&w, c->bos_id);
    cpr_jw_key(&w, "eos_token_id"), cpr_jw_int(&w, c->eos_id);
    cpr_jw_key(&w, "initializer_range"), cpr_jw_double(&w, 0.02);
    cpr_jw_key(&w, "torch_dtype"),
        cpr_jw_string(&w, dt == CPR_DTYPE_BF16 ? "bfloat16"
                          : dt == CPR_DTYPE_F16 ? "float16" : "float32");
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s == CPR_OK) s = cpr_file_write_atomic(path, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

static enum cpr_status write_weights(const char *dir, struct cpr_model *m,
                                     const char *seed_text, struct cpr_err *err) {
    char path[1024];
    CPR_TRY(cpr_path_join(path, sizeof path, dir, "model.safetensors", err));
    const struct cpr_arch_names *an = cpr_arch_names_for(m->cfg.arch);
    int64_t L = m->cfg.n_layers;
    size_t cap = (size_t)(5 + (int64_t)an->n_layer * L), n = 0, n_tr = 0;
    struct cpr_st_entry *e = calloc(cap, sizeof *e);
    char (*nm)[96] = calloc(cap, sizeof *nm);
    // GPT-2's Conv1D weights are written (inputs, outputs): transposed copies
    struct cpr_tensor *tr = calloc(cap, sizeof *tr);
    enum cpr_status s = CPR_OK;
    if (!e || !nm || !tr) {
        free(e), free(nm), free(tr);
        return cpr_err_set(err, CPR_ERR_NOMEM, "synth: out of memory");
    }
    snprintf(nm[n], 96, "%s", an->embed), e[n].t = &m->tok_embed, n++;
    snprintf(nm[n], 96, "%s", an->final_norm), e[n].t = &m->final_norm, n++;
    if (an->final_norm_bias)
        snprintf(nm[n], 96, "%s", an->final_norm_bias),
            e[n].t = &m->final_norm_b, n++;
    if (an->pos_embed)
        snprintf(nm[n], 96, "%s", an->pos_embed), e[n].t = &m->pos_embed, n++;
    if (!m->cfg.tied_embeddings)
        snprintf(nm[n], 96, "%s", an->lm_head), e[n].t = &m->lm_head, n++;
    for (int64_t l = 0; l < L; l++) {
        for (size_t j = 0; j < an->n_layer; j++) {
            const struct cpr_tensor_name *tn = &an->layer[j];
            if (!cpr_tensor_name_present(tn, &m->cfg) ||
                (tn->flags & CPR_TN_OPTIONAL))
                continue;
            int k = snprintf(nm[n], 96, an->layer_prefix, (long long)l);
            snprintf(nm[n] + k, (size_t)(96 - k), "%s", tn->suffix);
            e[n].t = cpr_tensor_name_slot(&m->layers[l], tn);
            if ((tn->flags & CPR_TN_CONV1D) && s == CPR_OK) {
                s = cpr_tensor_transpose2d(e[n].t, &tr[n_tr], err);
                e[n].t = &tr[n_tr++];
            }
            n++;
        }
    }
    for (size_t i = 0; i < n; i++) e[i].name = nm[i];
    const char *meta[4] = {"format", "pt", "cprune_synth", seed_text};
    if (s == CPR_OK)
        s = cpr_safetensors_write(path, e, n, meta, 2, NULL, 0, err);
    for (size_t i = 0; i < n_tr; i++) cpr_tensor_free(&tr[i]);
    free(e), free(nm), free(tr);
    return s;
}

static enum cpr_status copy_file(const char *src, const char *dir,
                                 const char *name, struct cpr_err *err) {
    char path[1024], *buf = NULL;
    size_t len = 0;
    CPR_TRY(cpr_path_join(path, sizeof path, dir, name, err));
    CPR_TRY(cpr_file_read_all(src, (size_t)1 << 30, &buf, &len, err));
    enum cpr_status s = cpr_file_write_atomic(path, buf, len, err);
    free(buf);
    return s;
}

// The output must not exist, or be an empty directory: a synthetic
// model written into a real model's folder would replace its weights and
// config and leave its tokenizer beside random weights. Returns 0 when
// usable (*created = 1 when this call made the directory), 2 on a refused
// path, 1 on an environment error; messages on stderr.
static int prepare_out(const char *out, int *created) {
    struct stat st;
    *created = 0;
    if (stat(out, &st) != 0) {
        if (errno != ENOENT) {
            fprintf(stderr, "cprune " CMD ": --out %s: %s\n", out,
                    strerror(errno));
            return 1;
        }
        if (mkdir(out, 0777) != 0) {
            fprintf(stderr, "cprune " CMD ": cannot create %s: %s\n", out,
                    strerror(errno));
            return 1;
        }
        *created = 1;
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cprune " CMD ": --out %s exists and is not a "
                        "directory; refusing to replace it (give a new or "
                        "empty directory)\n", out);
        return 2;
    }
    DIR *d = opendir(out);
    if (!d) {
        fprintf(stderr, "cprune " CMD ": --out %s: %s\n", out, strerror(errno));
        return 1;
    }
    struct dirent *e;
    const char *first = NULL;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            first = e->d_name;
            break;
        }
    if (first)
        fprintf(stderr, "cprune " CMD ": --out %s is not empty (it holds "
                        "%s%s); refusing to write a synthetic model over it "
                        "(give a new or empty directory)\n", out, first,
                strcmp(first, "config.json") && strcmp(first, "model.safetensors")
                    ? "" : ", a model");
    closedir(d);
    return first ? 2 : 0;
}

// After a failure: remove what this run wrote (the writers are atomic, so
// only whole files exist) and the directory when this run created it.
static void remove_partial(const char *out, int created) {
    static const char *const files[] = {"config.json", "model.safetensors",
                                        "tokenizer.json"};
    char path[1024];
    struct cpr_err e2 = {0};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (cpr_path_join(path, sizeof path, out, files[i], &e2) == CPR_OK)
            remove(path);
    if (created) rmdir(out);
}

static const char *const synth_examples[] = {
    "cprune synth --hidden 4096 --intermediate 11008 --layers 2 --heads 32 "
    "--vocab 32000 --context 4096 --dtype bf16 --out /tmp/llama7b-2l",
    "cprune synth --hidden 64 --intermediate 172 --layers 4 --heads 8 "
    "--kv-heads 4 --vocab 512 --context 256 --tied --out /tmp/tiny",
    "cprune synth --arch gemma --hidden 2048 --intermediate 16384 --layers 2 "
    "--heads 8 --kv-heads 1 --head-dim 256 --vocab 256000 --context 8192 "
    "--dtype bf16 --out /tmp/gemma2b-2l",
    "cprune synth --arch gpt2 --hidden 768 --intermediate 3072 --layers 12 "
    "--heads 12 --vocab 50257 --context 1024 --out /tmp/gpt2-124m",
    "cprune synth --arch gpt_neox --hidden 768 --intermediate 3072 --layers 12 "
    "--heads 12 --vocab 50304 --context 2048 --out /tmp/pythia-160m",
    NULL};

int cmd_synth(int argc, char **argv) {
    struct cli_opt opts[] = {
        {NULL, 0, "shape (all required unless a default is given):", NULL},
        {"arch", 1, "llama (default), mistral, qwen2 (q/k/v biases), qwen3 "
                    "(q/k norms), gemma ((1+w) norms, GeGLU, tied), opt "
                    "(OPT-125M style, tied), gpt2 (Conv1D, tied) or gpt_neox "
                    "(Pythia: rotary_pct 0.25, parallel residual)", NULL},
        {"sliding-window", 1, "mistral: attention window in tokens (default: "
                              "none)", NULL},
        {"hidden", 1, "hidden size, in [2, 1048576] (required)", NULL},
        {"intermediate", 1, "MLP width, in [1, 4194304] (required)", NULL},
        {"layers", 1, "decoder blocks, in [1, 4096] (required)", NULL},
        {"heads", 1, "attention heads, in [1, 4096] (required)", NULL},
        {"kv-heads", 1, "key/value heads (default: --heads)", NULL},
        {"head-dim", 1, "per-head width (default: hidden / heads)", NULL},
        {"vocab", 1, "vocabulary size, in [3, 16777216] (required)", NULL},
        {"context", 1, "max_position_embeddings, in [1, 16777216] (required)", NULL},
        {"tied", 0, "tie lm_head to the embeddings (default: untied)", NULL},
        {NULL, 0, "weights:", NULL},
        {"dtype", 1, "f32 (default), bf16 or f16", NULL},
        {"seed", 1, "random seed (default: 0)", NULL},
        {"init-std", 1, "weight std, in [0, 10] (default: 0.02)", NULL},
        {NULL, 0, "output:", NULL},
        {"out", 1, "output directory: new or empty (required)", NULL},
        {"tokenizer", 1, "copy this tokenizer.json into the output "
                         "(default: none)", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    const struct cli_help help = {
        "cprune synth --hidden H --intermediate I --layers L --heads A "
        "--vocab V --context C --out DIR\n"
        "                    [--arch llama|mistral|qwen2|qwen3|gemma|opt|gpt2|"
        "gpt_neox] "
        "[--sliding-window W]\n"
        "                    [--kv-heads K] [--head-dim D] [--tied] [--dtype f32|bf16|f16] "
        "[--seed S] [--init-std X]\n"
        "                    [--tokenizer tokenizer.json]",
        synth_examples,
        "Writes DIR/config.json and DIR/model.safetensors (random uniform "
        "weights, norms 1).\n"
        "An existing non-empty --out is refused (exit 2); nothing is left "
        "behind on failure."};
    int rc = cli_parse_help(argc, argv, opts, n_opts, CMD, &help);
    if (rc) return rc == 1 ? 0 : 2;
    const char *v, *out = cli_get(opts, n_opts, "out");
    struct cpr_synth_spec s = {.arch = CPR_ARCH_LLAMA, .bos_id = 1, .eos_id = 2,
                               .rope_theta = 10000, .norm_eps = 1e-5f};
    if ((v = cli_get(opts, n_opts, "arch"))) {
        if (!strcmp(v, "mistral")) s.arch = CPR_ARCH_MISTRAL;
        else if (!strcmp(v, "qwen2")) s.arch = CPR_ARCH_QWEN2, s.qkv_bias = 1;
        else if (!strcmp(v, "qwen3")) s.arch = CPR_ARCH_QWEN3;
        else if (!strcmp(v, "gemma")) s.arch = CPR_ARCH_GEMMA;
        else if (!strcmp(v, "opt")) s.arch = CPR_ARCH_OPT;
        else if (!strcmp(v, "gpt2")) s.arch = CPR_ARCH_GPT2;
        else if (!strcmp(v, "gpt_neox")) s.arch = CPR_ARCH_GPT_NEOX;
        else if (strcmp(v, "llama") != 0) {
            fprintf(stderr, "cprune " CMD ": --arch: expected llama, mistral, "
                            "qwen2, qwen3, gemma, opt, gpt2 or gpt_neox, "
                            "found '%s'\n", v);
            return 2;
        }
    }
    long long window = 0;
    if ((v = cli_get(opts, n_opts, "sliding-window"))) {
        if (s.arch != CPR_ARCH_MISTRAL) {
            fprintf(stderr, "cprune " CMD ": --sliding-window needs --arch "
                            "mistral\n");
            return 2;
        }
        if (cli_int(CMD, "sliding-window", v, 1, 1 << 24, &window)) return 2;
    }
    struct { const char *name; int64_t *dst; long long lo, hi; } ints[] = {
        {"hidden", &s.hidden, 2, 1 << 20}, {"intermediate", &s.intermediate, 1, 1 << 22},
        {"layers", &s.n_layers, 1, 4096}, {"heads", &s.n_heads, 1, 4096},
        {"kv-heads", &s.n_kv_heads, 1, 4096}, {"vocab", &s.vocab, 3, 1 << 24},
        {"context", &s.context, 1, 1 << 24},
        {"head-dim", &s.head_dim, 2, 8192},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        long long x;
        v = cli_get(opts, n_opts, ints[i].name);
        if (!v) {
            if (strcmp(ints[i].name, "kv-heads") == 0 ||
                strcmp(ints[i].name, "head-dim") == 0)
                continue;
            fprintf(stderr, "cprune " CMD ": --%s is required\n", ints[i].name);
            return 2;
        }
        if (cli_int(CMD, ints[i].name, v, ints[i].lo, ints[i].hi, &x)) return 2;
        *ints[i].dst = x;
    }
    const int table = cpr_arch_synth_handles(s.arch);
    if (table && s.n_kv_heads && s.n_kv_heads != s.n_heads) {
        fprintf(stderr, "cprune " CMD ": --kv-heads: this family has as many "
                        "key/value heads as heads (%lld), found %lld\n",
                (long long)s.n_heads, (long long)s.n_kv_heads);
        return 2;
    }
    if (!s.n_kv_heads) s.n_kv_heads = s.n_heads;
    if (table) { // the family's own token ids (GPT-2: <|endoftext|> last)
        s.bos_id = s.eos_id = s.arch == CPR_ARCH_GPT2 ? (int32_t)(s.vocab - 1)
                              : s.arch == CPR_ARCH_OPT ? 2 : 0;
    }
    if (!out) {
        fprintf(stderr, "cprune " CMD ": --out is required\n");
        return 2;
    }
    s.dtype = CPR_DTYPE_F32;
    if ((v = cli_get(opts, n_opts, "dtype"))) {
        if (strcmp(v, "bf16") == 0) s.dtype = CPR_DTYPE_BF16;
        else if (strcmp(v, "f16") == 0) s.dtype = CPR_DTYPE_F16;
        else if (strcmp(v, "f32") != 0) {
            fprintf(stderr, "cprune " CMD ": --dtype: expected f32, bf16 or f16, "
                            "found '%s'\n", v);
            return 2;
        }
    }
    long long seed = 0;
    if ((v = cli_get(opts, n_opts, "seed")) &&
        cli_int(CMD, "seed", v, 0, (long long)(((unsigned long long)1 << 63) - 1), &seed))
        return 2;
    s.seed = (uint64_t)seed;
    if ((v = cli_get(opts, n_opts, "init-std")) &&
        cli_float(CMD, "init-std", v, 0, 10, &s.init_std))
        return 2;
    s.tied_embeddings = cli_get(opts, n_opts, "tied") != NULL ||
                        s.arch == CPR_ARCH_GEMMA; // Gemma's head is always tied
    // (OPT and GPT-2 are always tied: their configs decide it)
    s.bias_std = s.init_std; // qwen2's q/k/v biases, like the weights

    struct cpr_err err = {0};
    struct cpr_model m = {0};
    char seed_text[160];
    snprintf(seed_text, sizeof seed_text,
             "seed=%llu init=uniform std=%g norms=1 (core/synth.h)",
             (unsigned long long)s.seed, s.init_std > 0 ? s.init_std : 0.02);
    const char *tok_src = cli_get(opts, n_opts, "tokenizer");
    if (tok_src && !cpr_path_is_file(tok_src)) {
        fprintf(stderr, "cprune " CMD ": --tokenizer %s: not a readable file\n",
                tok_src);
        return 1;
    }
    int created;
    if ((rc = prepare_out(out, &created))) return rc;
    cli_interrupt_install(CMD);
    rc = 1;
    enum cpr_status st = table ? cpr_arch_synth_model(&m, &s, &err)
                               : cpr_synth_model(&m, &s, &err);
    m.cfg.block.sliding_window = window;
    if (st || write_config(out, &m.cfg, s.dtype, &err) ||
        write_weights(out, &m, seed_text, &err))
        goto done;
    if (tok_src && copy_file(tok_src, out, "tokenizer.json", &err))
        goto done;
    printf("wrote %s: %lld parameters (%s), %lld layers, hidden %lld, "
           "intermediate %lld, heads %lld/%lld, vocab %lld\n", out,
           (long long)cpr_model_total_params(&m), cpr_dtype_name(s.dtype),
           (long long)s.n_layers, (long long)s.hidden, (long long)s.intermediate,
           (long long)s.n_heads, (long long)s.n_kv_heads, (long long)s.vocab);
    rc = 0;
done:
    if (rc) {
        fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
        remove_partial(out, created);
    }
    cpr_model_free(&m);
    return rc;
}
