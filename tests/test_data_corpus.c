// tests/test_data_corpus.c: corpus strings beyond wikitext2 (whose length
// and sha256 are checked in test_data_llama2c_tok.c): the PTB join, the
// tinystories files as they are, c4 as documents, error messages.
#include <stdlib.h>
#include <string.h>

#include "data/corpus.h"
#include "data/sha256.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// PTB: Mikolov's lines (each " w1 w2 ... \n") stripped and joined with a
// single space: no leading/trailing space, no double spaces, no newline;
// as many words as the file has.
static void test_ptb(struct cpr_test_ctx *t) {
    char root[512], path[1024];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    char *text;
    size_t len;
    if (cpr_corpus_load(root, "ptb", "test", &text, &len, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    size_t raw_len = 0, words_raw = 0, words = 0;
    unsigned char *raw = dt_read(cpr_test_data_path("data/ptb/ptb.test.txt", path,
                                                    sizeof path), &raw_len);
    CPR_CHECK(t, raw != NULL, "reading %s", path);
    for (size_t i = 0; raw && i < raw_len; i++)
        words_raw += raw[i] > ' ' && (i == 0 || raw[i - 1] <= ' ');
    for (size_t i = 0; i < len; i++)
        words += text[i] != ' ' && (i == 0 || text[i - 1] == ' ');
    CPR_CHECK(t, words == words_raw, "ptb test: %zu words, file has %zu", words,
              words_raw);
    CPR_CHECK(t, len > 0 && text[0] != ' ' && text[len - 1] != ' ',
              "no leading/trailing space");
    CPR_CHECK(t, strstr(text, "  ") == NULL && memchr(text, '\n', len) == NULL,
              "single spaces, no newlines");
    CPR_CHECK(t, strncmp(text, "no it was n't black monday but", 30) == 0,
              "starts \"%.30s\"", text);
    free(raw);
    cpr_corpus_free(text);
}

static void test_tinystories_as_is(struct cpr_test_ctx *t) {
    char root[512], path[1024];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    char *text;
    size_t len, raw_len = 0;
    if (cpr_corpus_load(root, "tinystories", "calib", &text, &len, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    unsigned char *raw = dt_read(cpr_test_data_path("data/tinystories/calib.txt",
                                                    path, sizeof path), &raw_len);
    CPR_CHECK(t, raw && raw_len == len && memcmp(raw, text, len) == 0,
              "tinystories calib is the file as is");
    free(raw);
    cpr_corpus_free(text);
}

static void test_c4_docs(struct cpr_test_ctx *t) {
    char root[512];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    struct cpr_corpus_docs docs;
    if (cpr_corpus_load_docs(root, "c4", NULL, &docs, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    char *text;
    size_t len;
    CPR_CHECK_STATUS(t, cpr_corpus_load(root, "c4", "train", &text, &len, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, docs.n == 5, "c4 head5: %zu documents", docs.n);
    // the joined string is the documents joined with "\n\n"
    size_t o = 0;
    int ok = !err.code;
    for (size_t i = 0; ok && i < docs.n; i++) {
        const char *d = docs.buf + docs.off[i];
        ok = d[docs.len[i]] == '\0' && o + docs.len[i] <= len &&
             memcmp(text + o, d, docs.len[i]) == 0;
        o += docs.len[i];
        if (ok && i + 1 < docs.n) ok = memcmp(text + o, "\n\n", 2) == 0, o += 2;
    }
    CPR_CHECK(t, ok && o == len, "documents joined with \\n\\n == load()");
    if (!err.code) free(text);
    cpr_corpus_docs_free(&docs);
    // the other corpora: one document
    CPR_CHECK_STATUS(t, cpr_corpus_load_docs(root, "ptb", "valid", &docs, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, docs.n == 1 && docs.len[0] > 1000, "ptb valid: one document");
    cpr_corpus_docs_free(&docs);
    CPR_CHECK_STATUS(t, cpr_corpus_load_docs(root, "c4", "validation", &docs, &err),
                     CPR_ERR_NOTFOUND, &err, "expected one of train");
    CPR_CHECK_STATUS(t, cpr_corpus_load_docs(root, "c5", NULL, &docs, &err),
                     CPR_ERR_NOTFOUND, &err, "unknown dataset 'c5'");
}

// A bad c4 line names the file and line.
static void test_c4_malformed(struct cpr_test_ctx *t) {
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/data", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/data/c4", dir);
    mkdir(sub, 0700);
    const char *bad = "{\"text\": \"ok\"}\n{\"txt\": 1}\n";
    dt_write(sub, "c4-train.00000-of-01024.head5.json", bad, strlen(bad), path,
             sizeof path);
    struct cpr_err err = {0};
    char *text;
    size_t len;
    CPR_CHECK_STATUS(t, cpr_corpus_load(dir, "c4", NULL, &text, &len, &err),
                     CPR_ERR_FORMAT, &err, "line 2: expected an object with a string");
    const char *bad2 = "{\"text\": \"ok\"\n";
    dt_write(sub, "c4-train.00000-of-01024.head5.json", bad2, strlen(bad2), path,
             sizeof path);
    struct cpr_corpus_docs docs;
    CPR_CHECK_STATUS(t, cpr_corpus_load_docs(dir, "c4", NULL, &docs, &err),
                     CPR_ERR_FORMAT, &err, "line 1");
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_corpus[] = {
    {"ptb_join", test_ptb, 0},
    {"tinystories_as_is", test_tinystories_as_is, 0},
    {"c4_docs", test_c4_docs, 0},
    {"c4_malformed", test_c4_malformed, 0},
    {0},
};
