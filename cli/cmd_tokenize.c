// cli/cmd_tokenize.c: `cprune tokenize`: tokenize a corpus or text file with
// a model's tokenizer; print the token count and the sha256 of the id
// stream written as little-endian int32; optionally save a token file and a
// JSON record.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/model.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/sha256.h"
#include "data/tokenizer.h"
#include "data/tokfile.h"

#define CMD "tokenize"

// sha256 of the ids as little-endian int32 (what the references publish).
static void ids_sha256(const int32_t *ids, int64_t n, char hex[65]) {
    struct cpr_sha256 s;
    cpr_sha256_init(&s);
    unsigned char le[4 * 1024];
    for (int64_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 1024 && i < n; k++, i++) {
            uint32_t v = (uint32_t)ids[i];
            le[4 * k] = (unsigned char)v;
            le[4 * k + 1] = (unsigned char)(v >> 8);
            le[4 * k + 2] = (unsigned char)(v >> 16);
            le[4 * k + 3] = (unsigned char)(v >> 24);
        }
        cpr_sha256_update(&s, le, 4 * k);
    }
    unsigned char d[32];
    cpr_sha256_final(&s, d);
    cpr_sha256_hex(d, hex);
}

static const char *const tokenize_examples[] = {
    "cprune tokenize --model ../shared/models/stories260K --dataset "
    "tinystories",
    "cprune tokenize --model DIR --dataset wikitext2 --out wt2.tok --json "
    "wt2.json",
    "cprune tokenize --model DIR --text notes.txt --no-bos",
    NULL};

int cmd_tokenize(int argc, char **argv) {
    struct cli_opt opts[] = {
        {NULL, 0, "tokenizer:", NULL},
        {"model", 1, "model whose tokenizer to use, HF dir or llama2.c "
                     "(required)", NULL},
        {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
        {"no-bos", 0, "do not put BOS at position 0 (default: the "
                      "tokenizer's convention)", NULL},
        {NULL, 0, "text (exactly one of):", NULL},
        {"dataset", 1, "corpus: wikitext2, ptb, tinystories, c4", NULL},
        {"split", 1, "corpus split (default: test; tinystories: eval)", NULL},
        {"text", 1, "a UTF-8 text file", NULL},
        {NULL, 0, "output:", NULL},
        {"out", 1, "save the ids as a token file, with the tokenizer's "
                   "sha256 (default: none)", NULL},
        {"json", 1, "write ntokens, sha256, first_ids as JSON (default: none)",
         NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    const struct cli_help help = {
        "cprune tokenize --model M (--dataset NAME [--split S] | --text FILE) "
        "[--tokenizer FILE]\n"
        "                       [--no-bos] [--out FILE.tok] [--json FILE]",
        tokenize_examples,
        "Prints the token count, the sha256 of the ids (little-endian int32) "
        "and the first ids.\n"
        "A token file records the tokenizer's sha256; `cprune eval --tokens` "
        "checks it."};
    int rc = cli_parse_help(argc, argv, opts, n_opts, CMD, &help);
    if (rc) return rc == 1 ? 0 : 2;
    const char *model_path = cli_get(opts, n_opts, "model");
    const char *dataset = cli_get(opts, n_opts, "dataset");
    const char *split = cli_get(opts, n_opts, "split");
    const char *text_path = cli_get(opts, n_opts, "text");
    const char *out_path = cli_get(opts, n_opts, "out");
    const char *json_path = cli_get(opts, n_opts, "json");
    if (!model_path) {
        fprintf(stderr, "cprune " CMD ": --model is required\n");
        return 2;
    }
    if ((dataset != NULL) == (text_path != NULL)) {
        fprintf(stderr, "cprune " CMD ": give exactly one of --dataset, --text\n");
        return 2;
    }
    if (dataset && !cpr_corpus_default_split(dataset)) {
        fprintf(stderr, "cprune " CMD ": --dataset: unknown dataset '%s'; "
                        "expected one of wikitext2, ptb, tinystories, c4 (or "
                        "--text FILE)\n", dataset);
        return 2;
    }
    if (split && !dataset) {
        fprintf(stderr, "cprune " CMD ": --split applies to --dataset only\n");
        return 2;
    }
    if (split && !cpr_corpus_has_split(dataset, split, NULL, 0)) {
        char list[64];
        cpr_corpus_has_split(dataset, NULL, list, sizeof list);
        fprintf(stderr, "cprune " CMD ": --split: dataset %s has no split "
                        "'%s'; expected one of %s\n", dataset, split, list);
        return 2;
    }
    struct cpr_err err = {0};
    struct cpr_model model = {0};
    struct cpr_tokenizer tok = {0};
    char *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    rc = 1;
    // The model gives the vocabulary size (llama2.c tokenizers lack it).
    if (cpr_model_load(model_path, &model, &err)) goto out;
    if (cpr_tokenizer_load_for_model(&tok, model_path,
                                     cli_get(opts, n_opts, "tokenizer"),
                                     model.cfg.vocab, &err))
        goto out;
    if (dataset) {
        if (!split) split = cpr_corpus_default_split(dataset);
        if (cpr_corpus_load(cli_data_dir(), dataset, split, &text, &len, &err))
            goto out;
    } else if (cpr_corpus_load_file(text_path, &text, &len, &err)) {
        goto out;
    }
    double t0 = cli_now();
    // BOS at position 0 only, when the tokenizer's convention adds one
    // (llama2.c: always; HF: add_bos_token / its post-processor)
    int add_bos = tok.add_bos && !cli_get(opts, n_opts, "no-bos");
    if (cpr_tokenizer_encode(&tok, text, len, add_bos, &ids, &n, &err))
        goto out;
    double secs = cli_now() - t0;
    char hex[65];
    ids_sha256(ids, n, hex);
    printf("tokenizer: %s\n", tok.source);
    printf("text:      %s%s%s (%zu bytes)\n", dataset ? dataset : text_path,
           dataset ? " / " : "", dataset ? split : "", len);
    printf("ntokens:   %lld (%.3f s)\nsha256:    %s\nfirst_ids:",
           (long long)n, secs, hex);
    for (int64_t i = 0; i < n && i < 16; i++) printf(" %d", ids[i]);
    printf("\n");
    if (out_path) {
        if (cpr_tokfile_write(out_path, ids, n, tok.sha256, &err)) goto out;
        printf("wrote:     %s\n", out_path);
    }
    if (json_path) {
        struct cpr_jw w;
        cpr_jw_init(&w, 2);
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "ntokens"), cpr_jw_int(&w, n);
        cpr_jw_key(&w, "sha256"), cpr_jw_string(&w, hex);
        cpr_jw_key(&w, "first_ids"), cpr_jw_begin_array(&w);
        for (int64_t i = 0; i < n && i < 16; i++) cpr_jw_int(&w, ids[i]);
        cpr_jw_end_array(&w);
        cpr_jw_key(&w, "model"), cpr_jw_string(&w, model_path);
        cpr_jw_key(&w, "tokenizer"), cpr_jw_string(&w, tok.source);
        cpr_jw_key(&w, "tokenizer_sha256"), cpr_jw_string(&w, tok.sha256);
        cpr_jw_key(&w, "dataset");
        if (dataset) cpr_jw_string(&w, dataset);
        else cpr_jw_string(&w, text_path);
        cpr_jw_key(&w, "split");
        if (dataset) cpr_jw_string(&w, split);
        else cpr_jw_null(&w);
        cpr_jw_key(&w, "seconds"), cpr_jw_double(&w, secs);
        cpr_jw_key(&w, "version"), cpr_jw_string(&w, CPRUNE_VERSION);
        cpr_jw_end_object(&w);
        enum cpr_status s = cpr_jw_finish(&w, &err);
        if (s == CPR_OK) s = cpr_file_write_atomic(json_path, w.buf, w.len, &err);
        cpr_jw_free(&w);
        if (s) goto out;
    }
    rc = 0;
out:
    if (rc) fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
    free(ids);
    free(text);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&model);
    return rc;
}
