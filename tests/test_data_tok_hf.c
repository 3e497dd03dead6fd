// tests/test_data_tok_hf.c: tokenizer.json BPE beyond tinystories-656k's
// own pipeline, against Hugging Face tokenizers.js and hand-worked cases:
//   - fixtures of tests/oracle/tok_oracle_bytelevel.mjs
//     (tests/fixtures/tok_hf_tokenizersjs.jsonl): a GPT-2 byte-level
//     tokenizer and a Llama-3-style one (Split regex + ByteLevel,
//     ignore_merges, raw special tokens, BOS via TemplateProcessing), both
//     on the real GPT-2 vocabulary cut to 1500 merges
//     (tests/fixtures/tok_gpt2_1500, tok_llama3style_1500), and a
//     Metaspace(prepend_scheme first) variant of tinystories-656k built
//     here the way the oracle builds it; three full corpora each plus
//     short edge-case texts compared id for id;
//   - the pre-tokenizer regexes and the byte map on hand-worked strings;
//   - the LLaMA-2 tokenizer.bin (llama2.c encoder) against SentencePiece
//     itself (tests/oracle/tok_oracle.py ->
//     tests/fixtures/tok_llama2_sentencepiece.jsonl);
//   - malformed / unsupported tokenizer.json files (status + message).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json.h"
#include "data/sha256.h"
#include "data/tok_pretok.h"
#include "data/tokenizer.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static void hash_ids(const int32_t *ids, int64_t n, char hex[65]) {
    unsigned char le[4096];
    struct cpr_sha256 s;
    cpr_sha256_init(&s);
    for (int64_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof le / 4 && i < n; k++, i++)
            for (int b = 0; b < 4; b++)
                le[4 * k + (size_t)b] = (unsigned char)((uint32_t)ids[i] >> (8 * b));
        cpr_sha256_update(&s, le, 4 * k);
    }
    unsigned char d[32];
    cpr_sha256_final(&s, d);
    cpr_sha256_hex(d, hex);
}

// Write the Metaspace variant of tinystories-656k's tokenizer.json into
// dir (normalizer null, pre_tokenizer Metaspace "first", split false) by
// replacing the text from "normalizer" up to "post_processor". 0 on
// success.
static int make_metaspace(const char *root, const char *dir) {
    char path[1024], *buf = NULL, *cfg = NULL;
    size_t len, cfg_len;
    struct cpr_err err = {0};
    snprintf(path, sizeof path, "%s/models/tinystories-656k/tokenizer.json", root);
    if (cpr_file_read_all(path, (size_t)64 << 20, &buf, &len, &err)) return -1;
    snprintf(path, sizeof path, "%s/models/tinystories-656k/tokenizer_config.json", root);
    if (cpr_file_read_all(path, (size_t)1 << 20, &cfg, &cfg_len, &err)) {
        free(buf);
        return -1;
    }
    char *a = strstr(buf, "\"normalizer\""), *b = strstr(buf, "\"post_processor\"");
    int rc = -1;
    if (a && b && a < b) {
        static const char mid[] =
            "\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Metaspace\", "
            "\"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\", "
            "\"split\": false}, ";
        size_t n = (size_t)(a - buf) + strlen(mid) + strlen(b);
        char *o = malloc(n + 1);
        if (o) {
            memcpy(o, buf, (size_t)(a - buf));
            memcpy(o + (a - buf), mid, strlen(mid));
            memcpy(o + (a - buf) + strlen(mid), b, strlen(b));
            rc = dt_write(dir, "tokenizer.json", o, n, NULL, 0) ||
                 dt_write(dir, "tokenizer_config.json", cfg, cfg_len, NULL, 0);
            free(o);
        }
    }
    free(buf);
    free(cfg);
    return rc;
}

static int is_corpus(const char *name, char *corpus, char *split) {
    const char *slash = strchr(name, '/');
    if (strchr(name, ' ') || !slash || slash - name > 30 ||
        (strncmp(name, "tinystories/", 12) && strncmp(name, "wikitext2/", 10) &&
         strncmp(name, "ptb/", 4)))
        return 0;
    memcpy(corpus, name, (size_t)(slash - name));
    corpus[slash - name] = 0;
    snprintf(split, 32, "%s", slash + 1);
    return 1;
}

static void test_tokenizersjs(struct cpr_test_ctx *t) {
    char root[512], meta[256], path[1024];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    char *fx;
    size_t fx_len;
    if (cpr_file_read_all("tests/fixtures/tok_hf_tokenizersjs.jsonl", (size_t)1 << 24,
                          &fx, &fx_len, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    if (dt_mkdtemp(meta, sizeof meta)) return;
    int have_meta = make_metaspace(root, meta) == 0;
    struct cpr_tokenizer toks[3];
    const char *names[3] = {"gpt2_1500", "llama3style_1500", "tinystories656k_metaspace"};
    int loaded[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (k == 2 && !have_meta) continue;
        if (k < 2) snprintf(path, sizeof path, "tests/fixtures/tok_%s/tokenizer.json", names[k]);
        else snprintf(path, sizeof path, "%s/tokenizer.json", meta);
        CPR_CHECK_STATUS(t, cpr_tokenizer_load(&toks[k], path, CPR_TOKENIZER_HF_JSON, 0, &err),
                         CPR_OK, &err, NULL);
        loaded[k] = err.code == CPR_OK;
    }
    int n_cases = 0, n_corpus = 0;
    for (char *line = fx; line < fx + fx_len;) {
        char *end = memchr(line, '\n', (size_t)(fx + fx_len - line));
        size_t ll = end ? (size_t)(end - line) : (size_t)(fx + fx_len - line);
        struct cpr_json_doc doc = {0};
        if (ll && cpr_json_parse(&doc, line, ll, "tok_hf_tokenizersjs.jsonl", 0, &err) == CPR_OK) {
            const char *tn = cpr_json_get_str(doc.root, "tokenizer", "");
            const struct cpr_json *tx = cpr_json_get(doc.root, "text");
            int k = -1;
            for (int q = 0; q < 3; q++) if (strcmp(tn, names[q]) == 0) k = q;
            char corpus[32], split[32];
            char *text = NULL;
            size_t len = 0;
            int own = 0;
            if (k >= 0 && loaded[k] && tx && tx->type == CPR_JSON_STRING) {
                if (is_corpus(tx->str, corpus, split)) {
                    if (cpr_corpus_load(root, corpus, split, &text, &len, &err)) text = NULL;
                    own = 1;
                    n_corpus++;
                } else {
                    text = (char *)tx->str;
                    len = tx->len;
                }
            }
            if (text) {
                int32_t *ids;
                int64_t n;
                CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&toks[k], text, len, toks[k].add_bos,
                                                         &ids, &n, &err), CPR_OK, &err, NULL);
                if (!err.code) {
                    n_cases++;
                    int64_t want = cpr_json_get_int(doc.root, "ntokens", -1);
                    char hex[65];
                    hash_ids(ids, n, hex);
                    const struct cpr_json *full = cpr_json_get(doc.root, "ids");
                    int64_t first_bad = -1;
                    for (size_t i = 0; full && i < full->len && i < (size_t)n; i++)
                        if (full->items[i]->i != ids[i]) { first_bad = (int64_t)i; break; }
                    CPR_CHECK(t, n == want && strcmp(hex, cpr_json_get_str(doc.root, "sha256", "")) == 0,
                              "%s on \"%.40s\": %lld ids (expected %lld), sha256 %.16s..., "
                              "first mismatch at %lld (ours %d)", tn, tx->str, (long long)n,
                              (long long)want, hex, (long long)first_bad,
                              first_bad >= 0 ? ids[first_bad] : -1);
                    free(ids);
                }
            }
            if (own) free(text);
            cpr_json_free(&doc);
        }
        line += ll + 1;
    }
    CPR_CHECK(t, n_cases >= 40 && (n_corpus >= 9 || !have_meta), "only %d cases (%d corpora)",
              n_cases, n_corpus);
    for (int k = 0; k < 3; k++) if (loaded[k]) cpr_tokenizer_free(&toks[k]);
    free(fx);
    dt_rmtree(meta);
}

// The BOS/EOS conventions read from tokenizer_config.json / the template.
static void test_specials(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, "tests/fixtures/tok_gpt2_1500/tokenizer.json",
                                           CPR_TOKENIZER_HF_JSON, 0, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        CPR_CHECK(t, tok.bos_id == 50256 && tok.add_bos == 0 && tok.vocab_size == 50257,
                  "gpt2: bos %d add_bos %d vocab %lld", tok.bos_id, tok.add_bos,
                  (long long)tok.vocab_size);
        size_t l = 0;
        const char *p = cpr_tokenizer_piece(&tok, 50256, &l);
        CPR_CHECK(t, p && l == 13 && memcmp(p, "<|endoftext|>", 13) == 0, "piece 50256");
        CPR_CHECK(t, cpr_tokenizer_piece(&tok, 40000, &l) == NULL, "hole in the cut vocab");
        cpr_tokenizer_free(&tok);
    }
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, "tests/fixtures/tok_llama3style_1500/tokenizer.json",
                                           CPR_TOKENIZER_HF_JSON, 0, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        CPR_CHECK(t, tok.bos_id == 50257 && tok.add_bos == 1 && tok.eos_id == 50258,
                  "llama3style: bos %d add_bos %d eos %d", tok.bos_id, tok.add_bos, tok.eos_id);
        cpr_tokenizer_free(&tok);
    }
}

// Pre-tokenizer splits worked out by hand from the regexes.
static void check_split(struct cpr_test_ctx *t, enum cpr_tok_regex re,
                        const char *s, const char *const *want) {
    size_t n = strlen(s), i = 0;
    int k = 0;
    while (i < n) {
        size_t l = cpr_tok_regex_next(re, s + i, n - i);
        int ok = want[k] && strlen(want[k]) == l && memcmp(want[k], s + i, l) == 0;
        CPR_CHECK(t, ok, "regex %d on \"%s\": piece %d is \"%.*s\", expected \"%s\"",
                  (int)re, s, k, (int)l, s + i, want[k] ? want[k] : "(end)");
        if (!ok) return;
        i += l;
        k++;
    }
    CPR_CHECK(t, want[k] == NULL, "regex %d on \"%s\": %d pieces, more expected", (int)re, s, k);
}

static void test_regex(struct cpr_test_ctx *t) {
    const char *g1[] = {"Hello", " world", "'s", " it", "'", "S", NULL}; // case-sensitive
    check_split(t, CPR_TOK_REGEX_GPT2, "Hello world's it'S", g1);
    const char *g2[] = {"a", " ", " b", "  \n", NULL}; // run reaches the end
    check_split(t, CPR_TOK_REGEX_GPT2, "a  b  \n", g2);
    const char *g3[] = {" 123456", " !!?", "x", NULL};
    check_split(t, CPR_TOK_REGEX_GPT2, " 123456 !!?x", g3);
    const char *l1[] = {"Hello", " world", "'S", " it", NULL};
    check_split(t, CPR_TOK_REGEX_LLAMA3, "Hello world'S it", l1);
    const char *l2[] = {"123", "456", "7", " ", "89", NULL};
    check_split(t, CPR_TOK_REGEX_LLAMA3, "1234567 89", l2);
    const char *l3[] = {"\"Hi", ",\n\n", " \n", "  ", " x", NULL};
    check_split(t, CPR_TOK_REGEX_LLAMA3, "\"Hi,\n\n \n   x", l3);
    const char *l4[] = {"a", " \n\n", "\tb", NULL};
    check_split(t, CPR_TOK_REGEX_LLAMA3, "a \n\n\tb", l4);
    const char *q1[] = {"1", "2", "3", "ab", NULL};
    check_split(t, CPR_TOK_REGEX_QWEN2, "123ab", q1);
    // U+00E9 is a letter, U+0968 (Devanagari two) a number, U+00A0 space
    const char *u1[] = {"caf\xc3\xa9", " \xe0\xa5\xa8", "\xc2\xa0", "x", NULL};
    check_split(t, CPR_TOK_REGEX_GPT2, "caf\xc3\xa9 \xe0\xa5\xa8\xc2\xa0x", u1);
    CPR_CHECK(t, cpr_tok_uclass(0x4E2D) == CPR_TOK_UC_LETTER &&
                 cpr_tok_uclass(0x2167) == CPR_TOK_UC_NUMBER &&
                 cpr_tok_uclass(0x3000) == CPR_TOK_UC_SPACE &&
                 cpr_tok_uclass(0x1F600) == CPR_TOK_UC_OTHER &&
                 cpr_tok_uclass(0x0301) == CPR_TOK_UC_OTHER,
              "unicode classes");
    CPR_CHECK(t, cpr_tok_regex_find(cpr_tok_regex_pattern(CPR_TOK_REGEX_LLAMA3),
                                    strlen(cpr_tok_regex_pattern(CPR_TOK_REGEX_LLAMA3))) ==
                     CPR_TOK_REGEX_LLAMA3 && cpr_tok_regex_find("\\s+", 3) == CPR_TOK_REGEX_NONE,
              "regex recognition");
    uint32_t map[256];
    char utf8[256][2];
    uint8_t ul[256];
    cpr_tok_byte_map(map, utf8, ul);
    CPR_CHECK(t, map[' '] == 0x120 && map['\n'] == 0x10A && map['!'] == '!' &&
                 map[0] == 0x100 && map[0xAD] == 0x143 && map[0xFF] == 0xFF &&
                 ul[' '] == 2 && (unsigned char)utf8[' '][0] == 0xC4 &&
                 (unsigned char)utf8[' '][1] == 0xA0,
              "byte map: ' ' -> U+%04X, '\\n' -> U+%04X, 0xAD -> U+%04X", map[' '],
              map['\n'], map[0xAD]);
}

// LLaMA-2 tokenizer.bin through llama2.c's encoder vs SentencePiece.
static void test_sentencepiece(struct cpr_test_ctx *t) {
    char root[512], path[1024];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    char *fx;
    size_t fx_len;
    if (cpr_file_read_all("tests/fixtures/tok_llama2_sentencepiece.jsonl", (size_t)1 << 20,
                          &fx, &fx_len, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    snprintf(path, sizeof path, "%s/models/llama2-tokenizer/tokenizer.bin", root);
    struct cpr_tokenizer tok;
    if (cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, 32000, &err)) {
        free(fx);
        cpr_test_skip(t, err.msg);
        return;
    }
    int cases = 0;
    for (char *line = fx; line < fx + fx_len;) {
        char *end = memchr(line, '\n', (size_t)(fx + fx_len - line));
        size_t ll = end ? (size_t)(end - line) : (size_t)(fx + fx_len - line);
        struct cpr_json_doc doc = {0};
        if (ll && cpr_json_parse(&doc, line, ll, "sentencepiece fixture", 0, &err) == CPR_OK) {
            char name[64], corpus[32], split[32], *text;
            snprintf(name, sizeof name, "%s", cpr_json_get_str(doc.root, "corpus", ""));
            char *at = strchr(name, '@');
            size_t cut = at ? (size_t)atol(at + 1) : 0;
            if (at) *at = 0;
            size_t len;
            if (is_corpus(name, corpus, split) &&
                cpr_corpus_load(root, corpus, split, &text, &len, &err) == CPR_OK) {
                if (cut && cut < len) {
                    len = cut;
                    while (len && ((unsigned char)text[len] & 0xC0) == 0x80) len--;
                }
                int32_t *ids;
                int64_t n;
                if (cpr_tokenizer_encode(&tok, text, len, 1, &ids, &n, &err) == CPR_OK) {
                    char hex[65];
                    hash_ids(ids, n, hex);
                    CPR_CHECK(t, n == cpr_json_get_int(doc.root, "ntokens", -1) &&
                                     (int64_t)len == cpr_json_get_int(doc.root, "bytes", -1) &&
                                     strcmp(hex, cpr_json_get_str(doc.root, "sha256", "")) == 0,
                              "%s@%zu: %lld ids, sha256 %.16s...", name, cut, (long long)n, hex);
                    free(ids);
                    cases++;
                }
                free(text);
            }
            cpr_json_free(&doc);
        }
        line += ll + 1;
    }
    CPR_CHECK(t, cases == 6, "%d SentencePiece cases", cases);
    cpr_tokenizer_free(&tok);
    free(fx);
}

// Malformed or unsupported tokenizer.json: status code and message.
static void test_malformed_json(struct cpr_test_ctx *t) {
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
#define V "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}"
    static const struct {
        const char *json;
        enum cpr_status want;
        const char *needle;
    } cases[] = {
        {"[1, 2]", CPR_ERR_FORMAT, "expected a JSON object"},
        {"{\"normalizer\": {\"type\": \"NFKC\"}, " V "}", CPR_ERR_UNSUPPORTED, "normalizer NFKC"},
        {"{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, " V "}", CPR_ERR_UNSUPPORTED,
         "pre_tokenizer Whitespace"},
        {"{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
         "\"pattern\": {\"Regex\": \"\\\\w+\"}, \"behavior\": \"Isolated\", \"invert\": false}, "
         "{\"type\": \"ByteLevel\", \"use_regex\": false}]}, " V "}",
         CPR_ERR_UNSUPPORTED, "Split pattern \\w+"},
        {"{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
         "\"prepend_scheme\": \"sometimes\"}, " V "}", CPR_ERR_UNSUPPORTED, "prepend_scheme sometimes"},
        {"{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": []}, " V "}",
         CPR_ERR_UNSUPPORTED, "0 steps"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", CPR_ERR_UNSUPPORTED, "WordPiece"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", CPR_ERR_FORMAT,
         "model.vocab is empty"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
         CPR_ERR_FORMAT, "id 0 appears twice"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.5}, \"merges\": []}}",
         CPR_ERR_FORMAT, "model.vocab[\"a\"]"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}",
         CPR_ERR_FORMAT, "model.merges[0]"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"ab\"]}}",
         CPR_ERR_FORMAT, "model.merges[0]"},
        {"{\"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {\"a\": 0}, \"merges\": []}}",
         CPR_ERR_UNSUPPORTED, "dropout"},
        {"{\"added_tokens\": [{\"id\": -4, \"content\": \"<x>\"}], " V "}", CPR_ERR_FORMAT,
         "added_tokens[0].id"},
        {"{\"added_tokens\": [{\"id\": 1, \"content\": \"\"}], " V "}", CPR_ERR_FORMAT,
         "added_tokens[0] needs a non-empty"},
        {"{\"added_tokens\": {\"id\": 1}, " V "}", CPR_ERR_FORMAT, "added_tokens must be an array"},
        {"{" V ", \"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", CPR_ERR_FORMAT, "nesting deeper"},
        {"{" V ", \"s\": \"\xff\"}", CPR_ERR_FORMAT, "UTF-8"},
        {"", CPR_ERR_FORMAT, "tokenizer.json"},
    };
#undef V
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dt_write(dir, "tokenizer.json", cases[c].json, strlen(cases[c].json), path, sizeof path);
        struct cpr_err err = {0};
        struct cpr_tokenizer tok;
        CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0, &err),
                         cases[c].want, &err, cases[c].needle);
        if (!err.code) cpr_tokenizer_free(&tok);
    }
    // a bad tokenizer_config.json beside a good tokenizer.json
    static const char good[] = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}";
    dt_write(dir, "tokenizer.json", good, strlen(good), path, sizeof path);
    dt_write(dir, "tokenizer_config.json", "{\"bos_token\": ", 14, NULL, 0);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0, &err),
                     CPR_ERR_FORMAT, &err, "tokenizer_config.json");
    // lstrip tokens are refused when met, not silently mis-split
    static const char strip[] =
        "{\"added_tokens\": [{\"id\": 1, \"content\": \"<m>\", \"lstrip\": true, "
        "\"special\": true}], \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}";
    dt_write(dir, "tokenizer.json", strip, strlen(strip), path, sizeof path);
    static const char cfg[] = "{\"bos_token\": {\"content\": \"<m>\"}}";
    dt_write(dir, "tokenizer_config.json", cfg, strlen(cfg), NULL, 0);
    err = (struct cpr_err){0}; // success leaves err untouched
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0, &err),
                     CPR_OK, &err, NULL);
    if (!err.code) {
        int32_t *ids;
        int64_t n;
        CPR_CHECK(t, tok.bos_id == 1, "bos_token as an object: %d", tok.bos_id);
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "a", 1, 1, &ids, &n, &err),
                         CPR_OK, &err, NULL);
        if (!err.code) {
            CPR_CHECK(t, n == 2 && ids[0] == 1 && ids[1] == 0, "a -> [1 0]");
            free(ids);
        }
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "a<m>", 4, 0, &ids, &n, &err),
                         CPR_ERR_UNSUPPORTED, &err, "lstrip");
        // unknown characters without an unk token are dropped (tokenizers)
        err = (struct cpr_err){0};
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "xax", 3, 0, &ids, &n, &err),
                         CPR_OK, &err, NULL);
        if (!err.code) {
            CPR_CHECK(t, n == 1 && ids[0] == 0, "xax -> [0]");
            free(ids);
        }
        cpr_tokenizer_free(&tok);
    }
    dt_rmtree(dir);
}

// The full GPT-2 tokenizer (50,257 ids; not in the repository: built by
// `node tests/oracle/tok_oracle_bytelevel.mjs --full DIR` from the npm
// package's encoder.json / vocab.bpe) when CPRUNE_TEST_GPT2_JSON names its
// tokenizer.json. Expected values: tokenizers.js on the same file
// (wikitext2 test: 287,644 ids, the count Hugging Face's perplexity guide
// reports for GPT-2 on this string).
static void test_gpt2_full(struct cpr_test_ctx *t) {
    const char *path = getenv("CPRUNE_TEST_GPT2_JSON");
    if (!path || !*path) {
        cpr_test_skip(t, "CPRUNE_TEST_GPT2_JSON not set");
        return;
    }
    static const struct {
        const char *corpus, *split;
        int64_t n;
        const char *sha;
    } cases[] = {
        {"tinystories", "eval", 96392, "149bc72ed474928ecf33323eb1b9bbdaef8e1ac324660faa624dba0ced186b5e"},
        {"wikitext2", "test", 287644, "ef6af648320b73e3cb62461c48c8e4539aec4d10c751005e32d690977f0b9ccf"},
        {"ptb", "test", 97721, "ac07678955473ec77784206b3a194a2e686a3ee9524449770374c307579d0f5e"},
    };
    char root[512];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0, &err),
                     CPR_OK, &err, NULL);
    if (err.code) return;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *text;
        size_t len;
        int32_t *ids;
        int64_t n;
        if (cpr_corpus_load(root, cases[c].corpus, cases[c].split, &text, &len, &err)) continue;
        if (cpr_tokenizer_encode(&tok, text, len, tok.add_bos, &ids, &n, &err) == CPR_OK) {
            char hex[65];
            hash_ids(ids, n, hex);
            CPR_CHECK(t, n == cases[c].n && strcmp(hex, cases[c].sha) == 0,
                      "gpt2 on %s: %lld ids (expected %lld), sha256 %s", cases[c].corpus,
                      (long long)n, (long long)cases[c].n, hex);
            free(ids);
        }
        free(text);
    }
    cpr_tokenizer_free(&tok);
}

// Metaspace by hand: split before each U+2581 "_" (MergedWithNext) or not,
// prepend never / always / first. Vocab (writing _ for U+2581): 0 "_",
// 1 a, 2 b, 3 "_a", 4 "_b", 5 "__", 6 "a_"; merges ranked
// "a _" < "_ _" < "_ b" < "_ a". Text "a  b" -> "a__b" (or "_a__b").
static void test_metaspace_hand(struct cpr_test_ctx *t) {
    char dir[256], path[512], json[1024];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    static const struct {
        const char *scheme;
        int split;
        int n;
        int32_t ids[4];
    } cases[] = {
        {"never", 1, 3, {1, 0, 4}},    // a | _ | _b
        {"never", 0, 2, {6, 4}},       // a__b: "a _" first, then "_ b"
        {"always", 1, 3, {3, 0, 4}},   // _a | _ | _b
        {"first", 0, 3, {0, 6, 4}},    // _a__b: "a _" (eats the 1st "_ _")
    };
#define U "\\u2581"
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(json, sizeof json,
                 "{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "
                 "\"" U "\", \"prepend_scheme\": \"%s\", \"split\": %s}, "
                 "\"model\": {\"type\": \"BPE\", \"vocab\": {\"" U "\": 0, \"a\": 1, "
                 "\"b\": 2, \"" U "a\": 3, \"" U "b\": 4, \"" U U "\": 5, \"a" U "\": 6}, "
                 "\"merges\": [\"a " U "\", \"" U " " U "\", \"" U " b\", \"" U " a\"]}}",
                 cases[c].scheme, cases[c].split ? "true" : "false");
#undef U
        dt_write(dir, "tokenizer.json", json, strlen(json), path, sizeof path);
        struct cpr_err err = {0};
        struct cpr_tokenizer tok;
        CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0, &err),
                         CPR_OK, &err, NULL);
        if (err.code) continue;
        int32_t *ids;
        int64_t n;
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "a  b", 4, 1, &ids, &n, &err),
                         CPR_OK, &err, NULL);
        if (!err.code) {
            CPR_CHECK(t, n == cases[c].n && memcmp(ids, cases[c].ids, (size_t)n * 4) == 0,
                      "Metaspace %s split %d: %lld ids [%d %d %d %d]", cases[c].scheme,
                      cases[c].split, (long long)n, n > 0 ? ids[0] : -1,
                      n > 1 ? ids[1] : -1, n > 2 ? ids[2] : -1, n > 3 ? ids[3] : -1);
            free(ids);
        }
        cpr_tokenizer_free(&tok);
    }
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_tok_hf[] = {
    {"metaspace_hand", test_metaspace_hand, 0},
    {"gpt2_full_optional", test_gpt2_full, 0},
    {"regex_and_byte_map", test_regex, 0},
    {"specials", test_specials, 0},
    {"malformed_json", test_malformed_json, 0},
    {"vs_tokenizersjs", test_tokenizersjs, 0},
    {"llama2_vs_sentencepiece", test_sentencepiece, 0},
    {0},
};
