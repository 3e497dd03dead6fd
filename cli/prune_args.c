// cli/prune_args.c: the command line of `cprune prune` -> struct
// prune_run (contract in cli/prune.h). Only usage is checked here (exit
// 2): option names, values and ranges, incompatible options; nothing is
// opened.
//
// Method options can be given three ways, all applied in this order:
//   --opts "name=value,..."        (the method's own option names)
//   --<method>-<name> V            e.g. --wanda-variant, --sparsegpt-blocksize
//   --<name> V                     e.g. --group row, --min-density 0.1
// (underscores in option names become dashes on the command line; boolean
// options are flags). An option of another method is refused by name.
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/gguf_out.h"
#include "cli/prune.h"
#include "cli/prune_extra.h"
#include "core/pool.h"
#include "data/fileio.h"
#include "methods/calib_compute.h"
#include "methods/registry.h"

#define CMD "prune"
#define USAGE                                                                  \
    "cprune prune --model M --method NAME (--sparsity S | --pattern N:M) "    \
    "[options] [method options]"

// The fixed options, in the groups --help shows; method options are
// appended at run time. A NULL name starts a group (help = its title).
static const struct cli_opt base_opts[] = {
    {NULL, 0, "what to prune", NULL},
    {"model", 1, "HF model directory, llama2.c checkpoint, or a directory holding one (required)", NULL},
    {"tokenizer", 1, "tokenizer file (default: found beside the model); also copied beside --out", NULL},
    {"method", 1, "pruning method, see `cprune methods` (required)", NULL},
    {"sparsity", 1, "unstructured: fraction of each group pruned, in [0, 1)", NULL},
    {"pattern", 1, "N:M semi-structured, 0 < N < M (e.g. 2:4); M must divide every linear's input width", NULL},
    {"opts", 1, "method options \"name=value,...\" (default: the method's defaults)", NULL},
    {NULL, 0, "calibration (methods that need statistics)", NULL},
    {"calib", 1, "tinystories (calib split), wikitext2 (valid), ptb (train), c4, or a text file (no default)", NULL},
    {"nsamples", 1, "calibration windows, in [1, 1048576] (default 128)", NULL},
    {"seqlen", 1, "window length, in [1, model context] (default: the model context)", NULL},
    {"seed", 1, "seed of random window sampling (default 0)", NULL},
    {"calib-sampling", 1, "sequential or random (default sequential: the first windows)", NULL},
    {"calib-dtype", 1, "activations held in f32 or bf16 (default f32)", NULL},
    {"calib-compute", 1, "arithmetic of the calibration forward: auto (the weights' own GEMM slot), f32 (exact f32 GEMMs, also for bf16 weights) or bf16 (linears rounded to bf16, vdpbf16ps where present: x rounded to bf16 too) (default auto)", NULL},
    {"calib-store", 1, "ram or disk: the activation buffer in memory, or in an unlinked scratch file mapped from --tmp-dir (file-backed page cache, not anonymous memory; same results) (default ram)", NULL},
    {"tmp-dir", 1, "folder of the --calib-store disk scratch file (default: $TMPDIR, else the parent folder of --out, else /tmp)", NULL},
    {"hessian-dtype", 1, "Hessian accumulation in f32 or f64 (default f32, as the reference)", NULL},
    {"grad-dtype", 1, "gradient methods (gblm, gradient): norms kept in f32 or rounded to bf16 (default f32; the reference saves fp16)", NULL},
    {"grad-scratch", 1, "gradient methods: keep the per-weight gradient accumulators in an unlinked temporary file in this directory, one layer in RAM, the windows run in layer-major groups so each layer is read and written once per group (default: all in RAM, 8 bytes per decoder weight of the pruned blocks)", NULL},
    {"token-cache", 1, "folder caching tokenized corpora as token files (default: none)", NULL},
    {NULL, 0, "outputs", NULL},
    {"out", 1, "write the pruned model here: a new (or empty) directory, or a file for llama2c (default: not written)", NULL},
    {"out-format", 1, "hf (a Hugging Face directory), llama2c (a checkpoint file) sparse (an HF directory with the linears compressed, as cprune compress writes) or gguf (a FILE.gguf for llama.cpp) (default hf)", NULL},
    {"gguf-dtype", 1, "weights of --out-format gguf: f32, f16 or bf16 (default bf16)", NULL},
    {"force", 0, "replace an existing --out that is an earlier cprune output (never another directory)", NULL},
    {"shards", 0, "hf output streamed as one safetensors shard per block (model-0000i-of-0000N + index), each written as soon as its block is pruned", NULL},
    {"resume", 0, "continue an interrupted --shards run from its first block not yet written (implies --shards; same command otherwise)", NULL},
    {"plan", 0, "print the memory plan and time estimate, then stop (the plan is also printed at the start of every run)", NULL},
    {"max-memory", 1, "memory budget such as 12G or 800M (default: what the host has available); a plan above it stops before any weight is read", NULL},
    {"blocks", 1, "prune only blocks A:B (A inclusive, B exclusive; default all); the others are kept", NULL},
    {"eval", 1, "evaluate after pruning on these corpora or text files, e.g. wikitext2,tinystories (default: none)", NULL},
    {"max-chunks", 1, "evaluate at most N chunks of each --eval corpus (default: all)", NULL},
    {"json", 1, "write the run record as JSON to this file (default: none)", NULL},
    {NULL, 0, "run", NULL},
    {"threads", 1, "threads, in [1, 1024] (default: all CPUs)", NULL},
    {"no-diagnostics", 0, "skip the per-linear reconstruction error (on a sample of at most 512 calibration tokens: 2 GEMMs per linear, no copy of the weights)", NULL},
    {"verbose", 0, "one line per pruned linear on stderr (sparsity, reconstruction error)", NULL},
    {"quiet", 0, "no per-block progress", NULL},
    {NULL, 0, "after pruning, beyond perplexity", NULL},
    PRUNE_EXTRA_OPTS
};
#define N_BASE (sizeof base_opts / sizeof base_opts[0])

static const char examples[] =
    "examples:\n"
    "  cprune prune --model ../shared/models/stories260K --method magnitude "
    "--sparsity 0.5 --out pruned\n"
    "  cprune prune --model llama-7b --method wanda --pattern 2:4 --calib "
    "wikitext2 --nsamples 128 --eval wikitext2 --json run.json\n"
    "  cprune prune --model llama-7b --method owl --owl-base sparsegpt "
    "--sparsity 0.7 --calib c4 --eval wikitext2 --max-chunks 20\n"
    "  cprune prune --model M --method flap --sparsity 0.2 --calib "
    "tinystories --out smaller  (structured: flap, wanda-sp, magnitude-sp; "
    "see cprune prune --method flap --help)\n";

// A generated option: which method and option it sets.
struct gen_opt {
    const struct cpr_method *m;
    const struct cpr_method_opt *o;
};

struct optset {
    struct cli_opt *opts; // base_opts (group titles included), then methods'
    struct gen_opt *gen;  // parallel to opts[N_BASE..]
    size_t n;
    char *names;          // storage for the generated names
};

static void dashify(char *dst, size_t cap, const char *prefix, const char *s) {
    snprintf(dst, cap, "%s%s%s", prefix ? prefix : "", prefix ? "-" : "", s);
    for (char *p = dst; *p; p++)
        if (*p == '_') *p = '-';
}

// Group titles have no name; cli_parse needs names: give them one no
// argument can spell.
static const char group_name[] = " group";

static int optset_build(struct optset *os) {
    size_t total = 0;
    for (size_t i = 0; i < cpr_n_methods; i++) total += cpr_methods[i]->n_opts;
    const size_t cap = N_BASE + 2 * total;
    os->opts = calloc(cap, sizeof *os->opts);
    os->gen = calloc(cap, sizeof *os->gen);
    os->names = calloc(cap ? cap : 1, 64);
    if (!os->opts || !os->gen || !os->names) return -1;
    memcpy(os->opts, base_opts, sizeof base_opts);
    for (size_t i = 0; i < N_BASE; i++)
        if (!os->opts[i].name) os->opts[i].name = group_name;
    os->n = N_BASE;
    for (int pass = 0; pass < 2; pass++) // prefixed names first
        for (size_t i = 0; i < cpr_n_methods; i++) {
            const struct cpr_method *m = cpr_methods[i];
            for (size_t j = 0; j < m->n_opts; j++) {
                char *name = os->names + os->n * 64;
                dashify(name, 64, pass == 0 ? m->name : NULL, m->opts[j].name);
                int dup = 0;
                for (size_t q = 0; q < os->n; q++)
                    dup |= !strcmp(os->opts[q].name, name);
                if (dup) continue; // same bare name in two methods
                os->opts[os->n] = (struct cli_opt){
                    .name = name,
                    .takes_value = m->opts[j].type != CPR_OPT_BOOL,
                    .help = m->opts[j].help};
                os->gen[os->n] = (struct gen_opt){.m = m, .o = &m->opts[j]};
                os->n++;
            }
        }
    return 0;
}

static void optset_free(struct optset *os) {
    free(os->opts);
    free(os->gen);
    free(os->names);
}

// --help: the groups, then each method's options once (under their
// prefixed names; the bare names are listed as aliases), then examples.
static void print_help(void) {
    printf("usage: %s\n", USAGE);
    for (size_t i = 0; i < N_BASE; i++) {
        const struct cli_opt *o = &base_opts[i];
        if (!o->name) {
            printf("\n%s:\n", o->help);
            continue;
        }
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, o->takes_value ? " V" : "");
        printf("  %-20s %s\n", left, o->help);
    }
    printf("\nmethod options (also as --opts name=value, or without the "
           "method prefix when no other method has that name):\n");
    for (size_t i = 0; i < cpr_n_methods; i++) {
        const struct cpr_method *m = cpr_methods[i];
        for (size_t j = 0; j < m->n_opts; j++) {
            char left[80], name[64];
            dashify(name, sizeof name, m->name, m->opts[j].name);
            snprintf(left, sizeof left, "--%s%s", name,
                     m->opts[j].type != CPR_OPT_BOOL ? " V" : "");
            printf("  %-28s %s (default %s%s%s)\n", left, m->opts[j].help,
                   m->opts[j].def, m->opts[j].choices ? "; " : "",
                   m->opts[j].choices ? m->opts[j].choices : "");
        }
    }
    printf("\nexit status: 0 ok, 1 data or environment error, 2 usage error, "
           "130/143 interrupted (SIGINT/SIGTERM; temporary files removed)\n\n%s",
           examples);
}

// Apply the generated options given on the command line to the method's
// state. Returns 0, or 2 after printing a usage error.
static int apply_method_opts(const struct optset *os,
                             const struct cpr_method *m, void *state) {
    for (size_t i = N_BASE; i < os->n; i++) {
        if (!os->opts[i].value) continue;
        const struct cpr_method_opt *o = NULL;
        // the bare name may belong to another method but also to this one
        if (os->gen[i].m == m) {
            o = os->gen[i].o;
        } else {
            char want[64];
            for (size_t j = 0; j < m->n_opts && !o; j++) {
                dashify(want, sizeof want, NULL, m->opts[j].name);
                if (!strcmp(want, os->opts[i].name)) o = &m->opts[j];
            }
        }
        if (!o) {
            fprintf(stderr, "cprune " CMD ": --%s is an option of method %s, "
                            "not of %s (`cprune methods` lists each method's "
                            "options)\n", os->opts[i].name, os->gen[i].m->name,
                    m->name);
            return 2;
        }
        char list[320];
        snprintf(list, sizeof list, "%s=%s", o->name,
                 os->opts[i].takes_value ? os->opts[i].value : "1");
        struct cpr_err err = {0};
        if (m->parse_opts(state, list, &err)) {
            fprintf(stderr, "cprune " CMD ": --%s: %s\n", os->opts[i].name,
                    err.msg);
            return 2;
        }
    }
    return 0;
}

static int parse_pattern(const char *v, struct cpr_prune_target *t) {
    unsigned n, m;
    char tail;
    if (sscanf(v, "%u:%u%c", &n, &m, &tail) != 2 || n == 0 || m < 2 ||
        n >= m || m > 4096) {
        fprintf(stderr, "cprune " CMD ": --pattern: expected N:M with "
                        "0 < N < M <= 4096 (e.g. 2:4), found '%s'\n", v);
        return 2;
    }
    t->nm_n = n, t->nm_m = m, t->sparsity = (double)n / m;
    return 0;
}

// One of the listed words; 2 after a message otherwise.
static int pick(const char *opt, const char *v, const char *a, const char *b) {
    if (!strcmp(v, a) || !strcmp(v, b)) return 0;
    fprintf(stderr, "cprune " CMD ": --%s: expected %s or %s, found '%s'\n",
            opt, a, b, v);
    return 2;
}

// --calib-store disk: the scratch folder (--tmp-dir, else $TMPDIR, else
// the parent of --out, else /tmp), checked now, before any weight is read.
static int prune_tmp_dir(struct prune_run *run, const char *given,
                         const char *out) {
    if (given && !run->calib_disk) {
        fprintf(stderr, "cprune " CMD ": --tmp-dir is for --calib-store "
                        "disk\n");
        return 2;
    }
    if (!run->calib_disk) return 0;
    const char *env = getenv("TMPDIR");
    if (given) {
        snprintf(run->tmp_dir, sizeof run->tmp_dir, "%s", given);
    } else if (env && *env) {
        snprintf(run->tmp_dir, sizeof run->tmp_dir, "%s", env);
    } else if (out && *out) {
        snprintf(run->tmp_dir, sizeof run->tmp_dir, "%s", out);
        char *slash = strrchr(run->tmp_dir, '/');
        while (slash && slash > run->tmp_dir && slash[1] == 0) { // "a/b/"
            *slash = 0;
            slash = strrchr(run->tmp_dir, '/');
        }
        if (!slash) snprintf(run->tmp_dir, sizeof run->tmp_dir, ".");
        else if (slash == run->tmp_dir) slash[1] = 0; // "/x" -> "/"
        else *slash = 0;
    } else {
        snprintf(run->tmp_dir, sizeof run->tmp_dir, "/tmp");
    }
    struct stat st;
    if (stat(run->tmp_dir, &st) || !S_ISDIR(st.st_mode) ||
        access(run->tmp_dir, W_OK | X_OK)) {
        fprintf(stderr, "cprune " CMD ": --calib-store disk: scratch folder "
                        "'%s'%s is not a writable directory\n", run->tmp_dir,
                given ? "" : " (from $TMPDIR, --out or /tmp; set --tmp-dir)");
        return 2;
    }
    return 0;
}

// The options after the method exists (state created).
static int parse_rest(const struct cli_opt *O, size_t N, struct prune_run *run) {
    const char *v, *sv = cli_get(O, N, "sparsity"), *pv = cli_get(O, N, "pattern");
    long long x;
    if ((sv != NULL) == (pv != NULL)) {
        fprintf(stderr, "cprune " CMD ": give exactly one of --sparsity S "
                        "(unstructured) and --pattern N:M\n");
        return 2;
    }
    if (sv) { // one wording: [0, 1) (1 would prune everything)
        char *end;
        errno = 0;
        const double x = strtod(sv, &end);
        if (errno || end == sv || *end || !(x >= 0.0 && x < 1.0)) {
            fprintf(stderr, "cprune " CMD ": --sparsity: expected a number "
                            "in [0, 1), found '%s'\n", sv);
            return 2;
        }
        run->target.sparsity = x;
    }
    if (pv && parse_pattern(pv, &run->target)) return 2;
    struct cpr_err err = {0};
    if (cpr_method_accepts(run->method, run->method_state, &run->target,
                           &err)) {
        fprintf(stderr, "cprune " CMD ": %s %s: %s\n", sv ? "--sparsity" :
                "--pattern", sv ? sv : pv, err.msg);
        return 2;
    }
    run->nsamples = 128;
    if ((v = cli_get(O, N, "nsamples"))) {
        if (cli_int(CMD, "nsamples", v, 1, 1 << 20, &x)) return 2;
        run->nsamples = x;
    }
    if ((v = cli_get(O, N, "seqlen"))) {
        if (cli_int(CMD, "seqlen", v, 1, 1 << 24, &x)) return 2;
        run->seqlen = x;
    }
    if ((v = cli_get(O, N, "seed"))) {
        if (cli_int(CMD, "seed", v, 0, (1LL << 62), &x)) return 2;
        run->seed = (uint64_t)x;
    }
    if ((v = cli_get(O, N, "calib-sampling"))) {
        int smp = cpr_calib_sampling_parse(v);
        if (smp < 0) return pick("calib-sampling", v, "random", "sequential");
        run->sampling = (enum cpr_calib_sampling)smp;
    }
    if ((v = cli_get(O, N, "calib-dtype"))) {
        if (pick("calib-dtype", v, "f32", "bf16")) return 2;
        run->calib_bf16 = !strcmp(v, "bf16");
    }
    if ((v = cli_get(O, N, "calib-compute"))) {
        const int cc = cpr_calib_compute_parse(v);
        if (cc < 0) {
            fprintf(stderr, "cprune " CMD ": --calib-compute: expected auto, "
                            "f32 or bf16, found '%s'\n", v);
            return 2;
        }
        run->calib_compute = cc;
    }
    if ((v = cli_get(O, N, "calib-store"))) {
        if (pick("calib-store", v, "ram", "disk")) return 2;
        run->calib_disk = !strcmp(v, "disk");
    }
    if (prune_tmp_dir(run, cli_get(O, N, "tmp-dir"), cli_get(O, N, "out")))
        return 2;
    if ((v = cli_get(O, N, "hessian-dtype"))) {
        if (pick("hessian-dtype", v, "f32", "f64")) return 2;
        run->hessian_f64 = !strcmp(v, "f64");
    }
    if ((v = cli_get(O, N, "grad-dtype"))) {
        if (pick("grad-dtype", v, "f32", "bf16")) return 2;
        run->grad_bf16 = !strcmp(v, "bf16");
    }
    if ((v = cli_get(O, N, "grad-scratch"))) {
        if (!cpr_path_is_dir(v) || access(v, W_OK | X_OK)) {
            fprintf(stderr, "cprune " CMD ": --grad-scratch %s: not a "
                            "writable directory\n", v);
            return 2;
        }
        run->grad_scratch = v;
    }
    run->out_format = "hf";
    if ((v = cli_get(O, N, "out-format"))) {
        if (strcmp(v, "sparse") && strcmp(v, "gguf") &&
            pick("out-format", v, "hf", "llama2c")) {
            fprintf(stderr, "  (or sparse, gguf)\n");
            return 2;
        }
        run->out_format = v;
    }
    run->out_dir = cli_get(O, N, "out");
    run->force = cli_get(O, N, "force") != NULL;
    if ((v = cli_get(O, N, "gguf-dtype")) && strcmp(run->out_format, "gguf")) {
        fprintf(stderr, "cprune " CMD ": --gguf-dtype needs --out-format gguf\n");
        return 2;
    }
    if (!strcmp(run->out_format, "gguf") &&
        (cli_gguf_dtype(CMD, "gguf-dtype", v, &run->gguf_dtype) ||
         (run->out_dir && cli_gguf_check_out(CMD, run->out_dir))))
        return 2;
    if (run->force && !strcmp(run->out_format, "sparse")) {
        fprintf(stderr, "cprune " CMD ": --force: not available with "
                        "--out-format sparse (write to a new --out)\n");
        return 2;
    }
    if (run->force && !run->out_dir) {
        fprintf(stderr, "cprune " CMD ": --force replaces an existing --out; "
                        "give --out\n");
        return 2;
    }
    if (cli_get(O, N, "out-format") && !run->out_dir) {
        fprintf(stderr, "cprune " CMD ": --out-format needs --out\n");
        return 2;
    }
    run->resume = cli_get(O, N, "resume") != NULL;
    run->shards = run->resume || cli_get(O, N, "shards") != NULL;
    if (run->shards && (!run->out_dir || strcmp(run->out_format, "hf"))) {
        fprintf(stderr, "cprune " CMD ": --%s writes an hf --out; give "
                        "--out (and no --out-format llama2c)\n",
                run->resume ? "resume" : "shards");
        return 2;
    }
    if ((v = cli_get(O, N, "blocks"))) {
        long long a = -1, b = -1;
        char tail = 0;
        if (sscanf(v, "%lld:%lld%c", &a, &b, &tail) != 2 || a < 0 || b <= a) {
            fprintf(stderr, "cprune " CMD ": --blocks: expected A:B with "
                            "0 <= A < B, found '%s'\n", v);
            return 2;
        }
        run->block_begin = a;
        run->block_end = b;
    }
    run->plan_only = cli_get(O, N, "plan") != NULL;
    if ((v = cli_get(O, N, "max-memory"))) {
        char *end = NULL;
        double x = strtod(v, &end);
        double mul = 1.0;
        if (end && (*end == 'G' || *end == 'g')) mul = 1024.0 * 1024 * 1024, end++;
        else if (end && (*end == 'M' || *end == 'm')) mul = 1024.0 * 1024, end++;
        if (end && (*end == 'i' || *end == 'B' || *end == 'b')) {
            if (*end == 'i') end++;
            if (*end == 'B' || *end == 'b') end++;
        }
        if (!end || end == v || *end || !(x > 0) || x * mul > 1e18) {
            fprintf(stderr, "cprune " CMD ": --max-memory: expected a size "
                            "such as 12G or 800M, found '%s'\n", v);
            return 2;
        }
        run->max_memory = (size_t)(x * mul);
    }
    run->token_cache = cli_get(O, N, "token-cache");
    long long threads = (long long)cpr_cpu_count();
    if ((v = cli_get(O, N, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &threads))
        return 2;
    cli_threads_warn(CMD, threads);
    run->threads = (int)threads;
    run->eval_list = cli_get(O, N, "eval");
    if ((v = cli_get(O, N, "max-chunks"))) {
        if (cli_int(CMD, "max-chunks", v, 1, 1LL << 40, &x)) return 2;
        if (!run->eval_list) {
            fprintf(stderr, "cprune " CMD ": --max-chunks limits --eval; "
                            "give --eval\n");
            return 2;
        }
        run->max_chunks = x;
    }
    run->json_path = cli_get(O, N, "json");
    run->tokenizer_path = cli_get(O, N, "tokenizer");
    run->quiet = cli_get(O, N, "quiet") != NULL;
    if (!(run->extra = malloc(sizeof *run->extra))) {
        fprintf(stderr, "cprune " CMD ": out of memory\n");
        return 1;
    }
    if (prune_extra_parse(run->extra, O, N)) return 2;
    run->verbose = cli_get(O, N, "verbose") != NULL;
    run->no_diagnostics = cli_get(O, N, "no-diagnostics") != NULL;
    run->calib_source = cli_get(O, N, "calib");
    run->needs = cpr_method_calib_needs(run->method, run->method_state);
    if (run->needs && !run->calib_source) {
        char nb[64];
        fprintf(stderr, "cprune " CMD ": method %s needs calibration "
                        "statistics (%s): give --calib, e.g. --calib "
                        "tinystories or --calib wikitext2 (no default fits "
                        "every model)\n", run->method->name,
                cpr_method_needs_str(run->needs, nb, sizeof nb));
        return 2;
    }
    if (!(run->needs & CPR_NEED_GRAD) &&
        (cli_get(O, N, "grad-dtype") || cli_get(O, N, "grad-scratch"))) {
        fprintf(stderr, "cprune " CMD ": --grad-dtype and --grad-scratch are "
                        "for gradient methods (gblm, gradient); %s computes "
                        "no gradients\n", run->method->name);
        return 2;
    }
    return 0;
}

int prune_parse_args(int argc, char **argv, struct prune_run *run) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help();
            return 1;
        }
    struct optset os = {0};
    if (optset_build(&os)) {
        fprintf(stderr, "cprune " CMD ": out of memory\n");
        optset_free(&os);
        return 2;
    }
    int rc = cli_parse(argc, argv, os.opts, os.n, CMD, USAGE);
    const struct cli_opt *O = os.opts;
    const size_t N = os.n;
    if (rc) goto out;
    rc = 2;
    run->model_path = cli_get(O, N, "model");
    run->method_name = cli_get(O, N, "method");
    if (!run->model_path || !run->method_name) {
        fprintf(stderr, "cprune " CMD ": --model and --method are required\n"
                        "usage: %s\n", USAGE);
        goto out;
    }
    run->method = cpr_method_find(run->method_name);
    if (!run->method) {
        fprintf(stderr, "cprune " CMD ": --method: unknown method '%s'; "
                        "known:", run->method_name);
        for (size_t i = 0; i < cpr_n_methods; i++)
            fprintf(stderr, " %s", cpr_methods[i]->name);
        fprintf(stderr, "\n");
        goto out;
    }
    void *state = NULL;
    struct cpr_err err = {0};
    if (run->method->init(&state, &err)) {
        fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
        goto out;
    }
    run->method_state = state;
    if ((run->method_opts_given = cli_get(O, N, "opts")) &&
        run->method->parse_opts(state, run->method_opts_given, &err)) {
        fprintf(stderr, "cprune " CMD ": --opts: %s\n", err.msg);
        goto out;
    }
    if (apply_method_opts(&os, run->method, state)) goto out;
    rc = parse_rest(O, N, run);
out:
    optset_free(&os);
    return rc;
}
