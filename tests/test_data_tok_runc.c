// tests/test_data_tok_runc.c: the llama2.c tokenizer (data/tok_llama2c.c,
// a heap over adjacent pairs) against a literal transliteration of
// llama2.c run.c's encode(): sorted vocabulary + bsearch, then the O(n^2)
// loop "scan all adjacent pairs, take the first one with the strictly
// highest score (> best, best starting at -1e10), merge, repeat". The
// heap must pick the same pair at every step, so the id streams must be
// identical. Inputs: random snippets of the shared corpora (tok512 and the
// 32k Llama-2 tokenizer.bin), random bytes (invalid UTF-8 included), and a
// hand-built vocabulary full of equal scores (ties) plus entries that
// run.c can never merge (score <= -1e10, NaN).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// ---- the reference: run.c's Tokenizer + encode(), kept close to the
// original (names included) so it can be compared line by line ----
typedef struct {
    char *str;
    int id;
} TokenIndex;

typedef struct {
    char **vocab;
    float *vocab_scores;
    TokenIndex *sorted_vocab;
    int vocab_size;
    unsigned int max_token_length;
} Tokenizer;

static int compare_tokens(const void *a, const void *b) {
    return strcmp(((const TokenIndex *)a)->str, ((const TokenIndex *)b)->str);
}

// Returns 0 on success (the file is trusted: tests feed good files only).
static int build_tokenizer(Tokenizer *t, const unsigned char *buf, size_t len,
                           int vocab_size) {
    t->vocab_size = vocab_size;
    t->vocab = malloc((size_t)vocab_size * sizeof(char *));
    t->vocab_scores = malloc((size_t)vocab_size * sizeof(float));
    size_t off = 4;
    int32_t mtl;
    memcpy(&mtl, buf, 4);
    t->max_token_length = (unsigned)mtl;
    for (int i = 0; i < vocab_size; i++) {
        int32_t l;
        if (off + 8 > len) return -1;
        memcpy(&t->vocab_scores[i], buf + off, 4);
        memcpy(&l, buf + off + 4, 4);
        off += 8;
        t->vocab[i] = malloc((size_t)l + 1);
        memcpy(t->vocab[i], buf + off, (size_t)l);
        t->vocab[i][l] = '\0';
        off += (size_t)l;
    }
    t->sorted_vocab = malloc((size_t)vocab_size * sizeof(TokenIndex));
    for (int i = 0; i < vocab_size; i++) {
        t->sorted_vocab[i].str = t->vocab[i];
        t->sorted_vocab[i].id = i;
    }
    qsort(t->sorted_vocab, (size_t)vocab_size, sizeof(TokenIndex), compare_tokens);
    return 0;
}

static void free_tokenizer(Tokenizer *t) {
    for (int i = 0; i < t->vocab_size; i++) free(t->vocab[i]);
    free(t->vocab);
    free(t->vocab_scores);
    free(t->sorted_vocab);
}

static int str_lookup(char *str, TokenIndex *sorted_vocab, int vocab_size) {
    TokenIndex tok = {.str = str};
    TokenIndex *res = bsearch(&tok, sorted_vocab, (size_t)vocab_size,
                              sizeof(TokenIndex), compare_tokens);
    return res != NULL ? res->id : -1;
}

static void encode(Tokenizer *t, const char *text, int8_t bos, int *tokens,
                   int *n_tokens) {
    char *str_buffer = malloc((t->max_token_length * 2 + 1 + 2) * sizeof(char));
    size_t str_len = 0;
    *n_tokens = 0;
    if (bos) tokens[(*n_tokens)++] = 1;
    if (text[0] != '\0') {
        int dummy_prefix = str_lookup(" ", t->sorted_vocab, t->vocab_size);
        tokens[(*n_tokens)++] = dummy_prefix;
    }
    for (const char *c = text; *c != '\0'; c++) {
        if ((*c & 0xC0) != 0x80) str_len = 0;
        str_buffer[str_len++] = *c;
        str_buffer[str_len] = '\0';
        if ((*(c + 1) & 0xC0) == 0x80 && str_len < 4) continue;
        int id = str_lookup(str_buffer, t->sorted_vocab, t->vocab_size);
        if (id != -1) {
            tokens[(*n_tokens)++] = id;
        } else {
            for (size_t i = 0; i < str_len; i++)
                tokens[(*n_tokens)++] = (unsigned char)str_buffer[i] + 3;
        }
        str_len = 0;
    }
    while (1) {
        float best_score = -1e10;
        int best_id = -1;
        int best_idx = -1;
        for (int i = 0; i < (*n_tokens - 1); i++) {
            sprintf(str_buffer, "%s%s", t->vocab[tokens[i]], t->vocab[tokens[i + 1]]);
            int id = str_lookup(str_buffer, t->sorted_vocab, t->vocab_size);
            if (id != -1 && t->vocab_scores[id] > best_score) {
                best_score = t->vocab_scores[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx == -1) break;
        tokens[best_idx] = best_id;
        for (int i = best_idx + 1; i < (*n_tokens - 1); i++) tokens[i] = tokens[i + 1];
        (*n_tokens)--;
    }
    free(str_buffer);
}

// ---- comparison driver ----
// Encode s (NUL-free, NUL-terminated) both ways; 1 when equal.
static int same(struct cpr_test_ctx *t, Tokenizer *ref,
                const struct cpr_tokenizer *tok, const char *s, size_t len,
                int bos, const char *what) {
    int *want = malloc((len + 3) * sizeof(int)), nw = 0;
    encode(ref, s, (int8_t)bos, want, &nw);
    int32_t *got = NULL;
    int64_t ng = 0;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_tokenizer_encode(tok, s, len, bos, &got, &ng, &err),
                     CPR_OK, &err, NULL);
    int ok = !err.code && ng == nw;
    for (int i = 0; ok && i < nw; i++) ok = got[i] == want[i];
    if (!ok) {
        int k = 0;
        while (k < nw && k < ng && got[k] == want[k]) k++;
        CPR_CHECK(t, 0, "%s: %lld ids vs run.c's %d, first difference at %d "
                  "(%d vs %d) for %zu bytes \"%.60s\"", what, (long long)ng, nw,
                  k, k < ng ? got[k] : -1, k < nw ? want[k] : -1, len, s);
    }
    free(want);
    free(got);
    return ok;
}

// Random snippets of corpus text, cut at byte (not character) boundaries
// on purpose, with NUL bytes (none in the corpora) impossible.
static void corpus_vs_runc(struct cpr_test_ctx *t, const char *tok_rel,
                           int vocab, int n_snip, size_t max_len) {
    char root[512], path[1024];
    cpr_test_data_path("", root, sizeof root);
    snprintf(path, sizeof path, "%s/models/%s", root, tok_rel);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    if (cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vocab, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    size_t raw_len = 0;
    unsigned char *raw = dt_read(path, &raw_len);
    Tokenizer ref;
    if (!raw || build_tokenizer(&ref, raw, raw_len, vocab)) {
        CPR_CHECK(t, 0, "reading %s for the reference", path);
        cpr_tokenizer_free(&tok);
        return;
    }
    free(raw);
    static const char *const names[][2] = {
        {"wikitext2", "test"}, {"ptb", "test"}, {"tinystories", "eval"}};
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 1234);
    char *buf = malloc(max_len + 1);
    int fails = 0;
    for (size_t c = 0; c < 3 && fails < 3; c++) {
        char *text;
        size_t len;
        if (cpr_corpus_load(root, names[c][0], names[c][1], &text, &len, &err)) {
            cpr_test_skip(t, err.msg);
            break;
        }
        for (int k = 0; k < n_snip && fails < 3; k++) {
            size_t l = 1 + (size_t)(cpr_rng_u64(&rng) % max_len);
            size_t at = (size_t)(cpr_rng_u64(&rng) % (len - l));
            memcpy(buf, text + at, l);
            buf[l] = '\0';
            fails += !same(t, &ref, &tok, buf, l, (int)(k & 1), names[c][0]);
        }
        free(text);
    }
    // random bytes 1..255 (invalid UTF-8, stray continuation bytes, long
    // continuation runs) and low-entropy strings (many equal pairs)
    static const char alpha[] = "  \n\nthe eat.\xc3\xa9\xe2\x96\x81";
    for (int k = 0; k < 200 && fails < 3; k++) {
        size_t l = 1 + (size_t)(cpr_rng_u64(&rng) % 64);
        for (size_t i = 0; i < l; i++) {
            uint64_t r = cpr_rng_u64(&rng);
            buf[i] = k & 1 ? (char)(1 + r % 255) : alpha[r % (sizeof alpha - 1)];
        }
        buf[l] = '\0';
        fails += !same(t, &ref, &tok, buf, l, 1, "random bytes");
    }
    free(buf);
    free_tokenizer(&ref);
    cpr_tokenizer_free(&tok);
}

static void test_tok512_vs_runc(struct cpr_test_ctx *t) {
    corpus_vs_runc(t, "stories260K/tok512.bin", 512, 60, 200);
}

static void test_llama2_vs_runc(struct cpr_test_ctx *t) {
    corpus_vs_runc(t, "llama2-tokenizer/tokenizer.bin", 32000, 40, 160);
}

// A vocabulary over {a, b, ' '} where all strings of length <= 4 exist with
// scores drawn from {-1, -2, -3}: nearly every step has ties, so the
// "leftmost among equal scores" rule decides. Entries "bbbb" (-1e10) and
// "aaaa" (NaN) can never win in run.c (its comparison is score > best with
// best starting at -1e10); "abab" (-2e10) neither.
static void test_ties_vs_runc(struct cpr_test_ctx *t) {
    unsigned char *img = malloc(1 << 20);
    size_t n = 4;
    int32_t mtl = 4, vs = 0;
    memcpy(img, &mtl, 4);
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 99);
    // ids 0..2 special, 3..258 byte tokens, as llama2.c files have them
    for (int i = 0; i < 259; i++) {
        char p[8];
        int32_t l = i == 0 ? 5 : i == 1 ? 3 : i == 2 ? 4 : 6;
        if (i == 0) memcpy(p, "<unk>", 5);
        else if (i == 1) memcpy(p, "<s>", 3);
        else if (i == 2) memcpy(p, "</s>", 4);
        else snprintf(p, sizeof p, "<0x%02X>", i - 3);
        float sc = 0;
        memcpy(img + n, &sc, 4);
        memcpy(img + n + 4, &l, 4);
        memcpy(img + n + 8, p, (size_t)l);
        n += 8 + (size_t)l;
        vs++;
    }
    static const char al[3] = {'a', 'b', ' '};
    for (int len = 1; len <= 4; len++) {
        int total = 1;
        for (int k = 0; k < len; k++) total *= 3;
        for (int code = 0; code < total; code++) {
            char p[4];
            int c = code;
            for (int k = 0; k < len; k++, c /= 3) p[k] = al[c % 3];
            float sc = -(float)(1 + cpr_rng_u64(&rng) % 3);
            if (len == 4 && !memcmp(p, "bbbb", 4)) sc = -1e10f;
            if (len == 4 && !memcmp(p, "aaaa", 4)) sc = NAN;
            if (len == 4 && !memcmp(p, "abab", 4)) sc = -2e10f;
            int32_t l = len;
            memcpy(img + n, &sc, 4);
            memcpy(img + n + 4, &l, 4);
            memcpy(img + n + 8, p, (size_t)l);
            n += 8 + (size_t)l;
            vs++;
        }
    }
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) {
        free(img);
        return;
    }
    dt_write(dir, "ties.bin", img, n, path, sizeof path);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    Tokenizer ref;
    build_tokenizer(&ref, img, n, vs);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs,
                                           &err), CPR_OK, &err, NULL);
    if (!err.code) {
        char s[80];
        int fails = 0;
        static const char *const fixed[] = {"bbbb", "aaaa", "abab", "b bbbb",
                                            "aaaaaaaa", "babababa"};
        for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
            fails += !same(t, &ref, &tok, fixed[k], strlen(fixed[k]), 0, "fixed");
        for (int k = 0; k < 2000 && fails < 3; k++) {
            size_t l = 1 + (size_t)(cpr_rng_u64(&rng) % 40);
            for (size_t i = 0; i < l; i++) s[i] = al[cpr_rng_u64(&rng) % 3];
            s[l] = '\0';
            fails += !same(t, &ref, &tok, s, l, (int)(k & 1), "ties");
        }
        cpr_tokenizer_free(&tok);
    }
    free_tokenizer(&ref);
    free(img);
    dt_rmtree(dir);
}

// The header's max_token_length is not trusted: a file claiming 1 while
// holding longer pieces still encodes (found by fuzz_tokenizer: the merge
// buffer was sized from the header; `make asan` catches a regression).
static void test_lying_max_len(struct cpr_test_ctx *t) {
    unsigned char img[4096];
    size_t n = 4;
    int32_t one = 1;
    memcpy(img, &one, 4);
    static const char *const pieces[] = {"<unk>", "<s>", "</s>", " ", "a", "b",
                                         "ab", "abab", " abab", " ababab"};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        float sc = (float)i;
        int32_t l = (int32_t)strlen(pieces[i]);
        memcpy(img + n, &sc, 4);
        memcpy(img + n + 4, &l, 4);
        memcpy(img + n + 8, pieces[i], (size_t)l);
        n += 8 + (size_t)l;
    }
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    dt_write(dir, "lie.bin", img, n, path, sizeof path);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, 10,
                                           &err), CPR_OK, &err, NULL);
    if (!err.code) {
        int32_t *ids = NULL;
        int64_t k = 0;
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "ababab", 6, 0, &ids, &k,
                                                 &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, k == 1 && ids && ids[0] == 9, "\"ababab\" -> %lld ids, [0]=%d",
                  (long long)k, k ? ids[0] : -1);
        free(ids);
        cpr_tokenizer_free(&tok);
    }
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_tok_runc[] = {
    {"lying_max_token_length", test_lying_max_len, 0},
    {"ties_vs_runc", test_ties_vs_runc, 0},
    {"tok512_vs_runc", test_tok512_vs_runc, 0},
    {"llama2_32k_vs_runc", test_llama2_vs_runc, 0},
    {0},
};
