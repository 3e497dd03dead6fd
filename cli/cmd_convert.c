// cli/cmd_convert.c: `cprune convert`: write a model as a GGUF file that
// llama.cpp loads (data/gguf_model.h), with its llama2.c tokenizer.
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/gguf_out.h"
#include "core/model.h"
#include "data/gguf_model.h"
#include "data/model_load.h"

int cli_gguf_dtype(const char *cmd, const char *opt, const char *v,
                   enum cpr_dtype *out) {
    if (!v || !strcmp(v, "bf16")) *out = CPR_DTYPE_BF16;
    else if (!strcmp(v, "f16")) *out = CPR_DTYPE_F16;
    else if (!strcmp(v, "f32")) *out = CPR_DTYPE_F32;
    else {
        fprintf(stderr, "cprune %s: --%s: expected f32, f16 or bf16, found "
                "'%s'\n", cmd, opt, v);
        return -1;
    }
    return 0;
}

int cli_gguf_check_out(const char *cmd, const char *out) {
    size_t n = strlen(out);
    if (n < 5 || strcmp(out + n - 5, ".gguf") != 0) {
        fprintf(stderr, "cprune %s: --out: expected a file name ending in "
                ".gguf, found '%s'\n", cmd, out);
        return -1;
    }
    return 0;
}

enum cpr_status cli_save_gguf(const struct cpr_model *m, const char *model_path,
                              const char *out, enum cpr_dtype dtype,
                              const char *const *meta, size_t n_meta,
                              struct cpr_err *err) {
    char tok[1024];
    enum cpr_tokenizer_kind kind;
    struct cpr_gguf_opts o = {dtype, NULL, "cprune", meta, n_meta};
    if (cpr_model_find_tokenizer(model_path, tok, sizeof tok, &kind, NULL) ==
            CPR_OK &&
        kind == CPR_TOKENIZER_LLAMA2C)
        o.tokenizer_path = tok;
    else
        fprintf(stderr, "cprune: note: %s has no llama2.c tokenizer .bin; the "
                "GGUF file gets no vocabulary (tokenizer.json is not "
                "converted yet)\n", model_path);
    return cpr_gguf_model_save(m, out, &o, err);
}

int cmd_convert(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"model", 1, "model to convert (HF directory or llama2.c .bin)", NULL},
        {"out", 1, "output file, FILE.gguf (written atomically)", NULL},
        {"dtype", 1, "f32 | f16 | bf16 for the weights (default bf16; "
                     "norms are always f32)", NULL},
    };
    size_t n_opts = sizeof opts / sizeof opts[0];
    static const char *const examples[] = {
        "cprune convert --model $CPRUNE_DATA/models/stories260K --out "
        "s260k.gguf --dtype f32", NULL};
    const struct cli_help help = {
        "cprune convert --model M --out FILE.gguf [--dtype f32|f16|bf16]",
        examples,
        "Writes a GGUF v3 file for llama.cpp: architecture \"llama\", or "
        "\"deci\" when\nlayers have their own head counts / MLP widths or "
        "removed sub-blocks. A llama2.c\ntokenizer .bin beside the model "
        "becomes the \"llama\" (SentencePiece) vocabulary."};
    int rc = cli_parse_help(argc, argv, opts, n_opts, "convert", &help);
    if (rc) return rc == 1 ? 0 : 2;
    const char *model = cli_get(opts, n_opts, "model");
    const char *out = cli_get(opts, n_opts, "out");
    if (!model || !out) {
        fprintf(stderr, "cprune convert: --model and --out are required\n");
        return 2;
    }
    enum cpr_dtype dt;
    if (cli_gguf_dtype("convert", "dtype", cli_get(opts, n_opts, "dtype"),
                       &dt) ||
        cli_gguf_check_out("convert", out))
        return 2;
    struct cpr_model m;
    struct cpr_err err;
    memset(&m, 0, sizeof m);
    cpr_err_clear(&err);
    enum cpr_status s = cpr_model_load(model, &m, &err);
    if (s == CPR_OK) s = cpr_gguf_model_check(&m, &err);
    const char *meta[] = {"cprune.version", CPRUNE_VERSION,
                          "cprune.source_model", model};
    if (s == CPR_OK) s = cli_save_gguf(&m, model, out, dt, meta, 2, &err);
    int deci = s == CPR_OK && cpr_gguf_model_is_deci(&m);
    cpr_model_free(&m);
    if (s != CPR_OK) {
        fprintf(stderr, "cprune convert: %s: %s\n", cpr_status_str(s), err.msg);
        return 1;
    }
    printf("wrote %s (%s, %s)\n", out, deci ? "deci" : "llama",
           cpr_dtype_name(dt));
    return 0;
}
