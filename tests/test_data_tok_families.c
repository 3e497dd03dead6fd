// tests/test_data_tok_families.c: the tokenizer.json conventions of the
// model families (tests/fixtures/tok_families/<name>: GPT-2 with a prefix
// space, OPT's BOS "</s>" by template and by tokenizer_config.json,
// GPT-NeoX and Qwen2 with their NFC normalizer and regexes, Gemma's
// SentencePiece-style BPE with byte fallback and Replace(" " -> "▁")),
// against the ids Hugging Face tokenizers.js gives
// (tests/oracle/tok_oracle_families.mjs -> tests/fixtures/tok_families.jsonl).
// Texts that NFC changes must be refused by the NFC tokenizers (cprune only
// checks that text is already NFC, data/tok_nfc.h) with an error naming
// the normalizer; all others must give the oracle's ids exactly.
// And the NFC quick check itself against Python's unicodedata
// (tests/oracle/tok_nfc_cases.py): never accepts a string NFC changes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"
#include "data/tok_nfc.h"
#include "data/tokenizer.h"
#include "tests/harness.h"

enum { N_FAM = 6 };
static const char *const fams[N_FAM] = {"gpt2_prefix", "opt", "opt_config",
                                        "neox", "qwen2", "gemma"};

// Call fn on each JSON line of path; returns the number of lines, -1 when
// the file cannot be read.
static int each_line(struct cpr_test_ctx *t, const char *path,
                     void (*fn)(struct cpr_test_ctx *, const struct cpr_json *,
                                void *),
                     void *user) {
    struct cpr_err err = {0};
    char *fx = NULL;
    size_t n = 0;
    CPR_CHECK_STATUS(t, cpr_file_read_all(path, (size_t)1 << 22, &fx, &n, &err),
                     CPR_OK, &err, NULL);
    if (err.code) return -1;
    int lines = 0;
    for (char *line = fx; line < fx + n;) {
        char *end = memchr(line, '\n', (size_t)(fx + n - line));
        size_t ll = end ? (size_t)(end - line) : (size_t)(fx + n - line);
        struct cpr_json_doc doc;
        memset(&doc, 0, sizeof doc);
        if (ll) {
            CPR_CHECK_STATUS(t, cpr_json_parse(&doc, line, ll, path, 0, &err),
                             CPR_OK, &err, NULL);
            if (!err.code) fn(t, doc.root, user), lines++;
            cpr_json_free(&doc);
            err.code = CPR_OK;
        }
        line += ll + 1;
    }
    free(fx);
    return lines;
}

struct fam_ctx {
    struct cpr_tokenizer tok[N_FAM];
    int loaded[N_FAM];
    int compared, refused;
};

static void one_case(struct cpr_test_ctx *t, const struct cpr_json *r,
                     void *user) {
    struct fam_ctx *c = user;
    const char *name = cpr_json_get_str(r, "tokenizer", "");
    const struct cpr_json *tx = cpr_json_get(r, "text");
    const struct cpr_json *want = cpr_json_get(r, "ids");
    int k = -1;
    for (int i = 0; i < N_FAM; i++)
        if (!strcmp(name, fams[i])) k = i;
    CPR_CHECK(t, k >= 0 && tx && tx->type == CPR_JSON_STRING && want,
              "fixture line for %s", name);
    if (k < 0 || !c->loaded[k] || !tx || tx->type != CPR_JSON_STRING || !want)
        return;
    const int must_refuse = cpr_json_get_bool(r, "nfc_changes", 0);
    struct cpr_err err = {0};
    int32_t *ids = NULL;
    int64_t n = 0;
    enum cpr_status s = cpr_tokenizer_encode(&c->tok[k], tx->str, tx->len,
                                             c->tok[k].add_bos, &ids, &n,
                                             &err);
    if (must_refuse) {
        CPR_CHECK(t, s == CPR_ERR_UNSUPPORTED &&
                         strstr(err.msg, "normalizer NFC"),
                  "%s on \"%.30s\" (NFC changes it): status %d, %s", name,
                  tx->str, (int)s, s ? err.msg : "accepted");
        c->refused += s == CPR_ERR_UNSUPPORTED;
        free(ids);
        return;
    }
    CPR_CHECK(t, s == CPR_OK, "%s on \"%.30s\": %s", name, tx->str, err.msg);
    if (s) return;
    int64_t bad = n == (int64_t)want->len ? -1 : 0;
    for (int64_t i = 0; bad < 0 && i < n; i++)
        if (want->items[i]->i != ids[i]) bad = i;
    CPR_CHECK(t, bad < 0, "%s on \"%.30s\": %lld ids (oracle %zu), first "
              "difference at %lld: ours %d, oracle %lld", name, tx->str,
              (long long)n, want->len, (long long)bad,
              bad >= 0 && bad < n ? ids[bad] : -1,
              bad >= 0 && (size_t)bad < want->len
                  ? (long long)want->items[bad]->i : -1LL);
    c->compared++;
    free(ids);
}

static void test_vs_tokenizersjs(struct cpr_test_ctx *t) {
    struct fam_ctx c;
    memset(&c, 0, sizeof c);
    for (int k = 0; k < N_FAM; k++) {
        char path[256];
        struct cpr_err err = {0};
        snprintf(path, sizeof path, "tests/fixtures/tok_families/%s/tokenizer.json",
                 fams[k]);
        CPR_CHECK_STATUS(t, cpr_tokenizer_load(&c.tok[k], path,
                                               CPR_TOKENIZER_HF_JSON, 0, &err),
                         CPR_OK, &err, NULL);
        c.loaded[k] = err.code == CPR_OK;
    }
    // the conventions as loaded: BOS and whether it is added
    if (c.loaded[1] && c.loaded[2] && c.loaded[3] && c.loaded[4] && c.loaded[5])
        CPR_CHECK(t, c.tok[1].add_bos && c.tok[1].bos_id == 50257 &&
                         c.tok[2].add_bos && c.tok[2].bos_id == 50257 &&
                         !c.tok[3].add_bos && !c.tok[4].add_bos &&
                         c.tok[5].add_bos && c.tok[5].bos_id == 2,
                  "BOS: opt %d/%d opt_config %d/%d neox %d qwen2 %d gemma "
                  "%d/%d", c.tok[1].add_bos, c.tok[1].bos_id, c.tok[2].add_bos,
                  c.tok[2].bos_id, c.tok[3].add_bos, c.tok[4].add_bos,
                  c.tok[5].add_bos, c.tok[5].bos_id);
    const int lines = each_line(t, "tests/fixtures/tok_families.jsonl",
                                one_case, &c);
    CPR_CHECK(t, lines >= 6 * 15 && c.refused == 6 && c.compared + c.refused == lines,
              "%d lines, %d compared, %d refused", lines, c.compared,
              c.refused);
    for (int k = 0; k < N_FAM; k++)
        if (c.loaded[k]) cpr_tokenizer_free(&c.tok[k]);
}

struct nfc_ctx {
    int accepted, unchanged, wrong;
};

static void nfc_case(struct cpr_test_ctx *t, const struct cpr_json *r,
                     void *user) {
    struct nfc_ctx *c = user;
    const struct cpr_json *tx = cpr_json_get(r, "text");
    if (!tx || tx->type != CPR_JSON_STRING) return;
    const int unchanged = cpr_json_get_bool(r, "nfc_unchanged", 0);
    uint32_t cp;
    size_t at;
    const int ok = cpr_tok_nfc_stable(tx->str, tx->len, &cp, &at) == 0;
    c->accepted += ok;
    c->unchanged += unchanged;
    if (ok && !unchanged && c->wrong++ < 5)
        CPR_CHECK(t, 0, "NFC quick check accepted \"%s\", which NFC changes",
                  tx->str);
}

static void test_nfc_quick_check(struct cpr_test_ctx *t) {
    struct nfc_ctx c = {0};
    const int lines = each_line(t, "tests/fixtures/tok_nfc_cases.jsonl",
                                nfc_case, &c);
    CPR_CHECK(t, lines >= 1000 && c.wrong == 0 && c.accepted * 2 > c.unchanged,
              "%d strings: %d unchanged by NFC, %d accepted, %d wrongly",
              lines, c.unchanged, c.accepted, c.wrong);
    if (t->verbose)
        printf("  %d strings: %d unchanged by NFC, %d accepted by the quick "
               "check\n", lines, c.unchanged, c.accepted);
    // hand-worked cases
    static const struct {
        const char *s;
        int ok;
    } hand[] = {
        {"plain ASCII", 1},
        {"caf\xc3\xa9", 1},             // precomposed é
        {"cafe\xcc\x81", 0},            // e + U+0301 composes
        {"\xe2\x84\xa6", 0},            // U+2126 OHM SIGN -> U+03A9
        {"a\xcc\xa3\xcc\x81", 0},       // a + U+0323 + U+0301: composes
        {"x\xcc\x8d", 1},               // x + U+030D: class 230, Yes
        {"\xff", 0},                    // invalid UTF-8
    };
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        uint32_t cp;
        size_t at;
        const int ok = cpr_tok_nfc_stable(hand[i].s, strlen(hand[i].s), &cp,
                                          &at) == 0;
        CPR_CHECK(t, ok == hand[i].ok, "hand case %zu: %d", i, ok);
    }
    // classes out of order are refused: U+0358 (232) after U+030D (230) is
    // in order, U+030D after U+0358 is not
    uint32_t cp;
    size_t at;
    CPR_CHECK(t, cpr_tok_nfc_stable("x\xcc\x8d\xcd\x98", 5, &cp, &at) == 0,
              "230 then 232 in order");
    CPR_CHECK(t, cpr_tok_nfc_stable("x\xcd\x98\xcc\x8d", 5, &cp, &at) == -1 &&
                     cp == 0x30D && at == 3,
              "232 then 230 refused at U+030D");
}

const struct cpr_test cpr_tests_data_tok_families[] = {
    {"vs_tokenizersjs", test_vs_tokenizersjs, 0},
    {"nfc_quick_check", test_nfc_quick_check, 0},
    {0},
};
