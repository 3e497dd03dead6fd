// data/corpus.h: evaluation and calibration text, exactly as the reference
// pipelines build it.
//
// Corpora live in <data_dir>/data (data_dir = $CPRUNE_DATA, ../shared):
//   wikitext2  test | valid  wikitext-2-raw/wiki.<split>.raw turned into the
//              Hugging Face `datasets` rows (each " \n" line becomes "",
//              every other line is kept with its "\n") joined with "\n\n":
//              the string Wanda and SparseGPT evaluate (test: 1,296,370
//              bytes, sha256 696cca6b...).
//   ptb        train | valid | test  ptb/ptb.<split>.txt: the HF
//              ptb_text_only "sentence" of each line (the line stripped of
//              surrounding whitespace) joined with " " (SparseGPT's
//              datautils get_ptb; its paper says "without separators" but
//              the code joins with a space).
//   tinystories calib | eval  tinystories/<split>.txt as it is.
//   c4         train  c4/c4-train.00000-of-01024.head5.json: the "text" of
//              each JSON line joined with "\n\n" (5 records: a reader test,
//              too small for real calibration).
// Any other file: cpr_corpus_load_file (validated as UTF-8).
#ifndef CPR_DATA_CORPUS_H
#define CPR_DATA_CORPUS_H

#include <stddef.h>

#include "core/status.h"

// The split used when none is given: "test" (wikitext2, ptb), "eval"
// (tinystories), "train" (c4); NULL for an unknown corpus.
const char *cpr_corpus_default_split(const char *name);

// 1 when corpus `name` has split `split`, else 0 with the valid splits
// written to list (comma-separated, at most cap bytes) when list is given.
// An unknown name gives 0 and an empty list.
int cpr_corpus_has_split(const char *name, const char *split, char *list,
                         size_t cap);

// Load corpus `name`, split `split` (NULL = default) into a malloc'd,
// NUL-terminated *text of *len bytes. Errors: CPR_ERR_NOTFOUND for an
// unknown name or split (listing the valid ones) or a missing file (naming
// the path and CPRUNE_DATA), CPR_ERR_FORMAT (invalid UTF-8 with its byte
// offset, a bad c4 line), CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_corpus_load(const char *data_dir, const char *name,
                                const char *split, char **text, size_t *len,
                                struct cpr_err *err);

// Frees a text returned by the loaders (plain free()).
void cpr_corpus_free(char *text);

// A corpus as separate documents, for calibration sampling: c4 gives one
// document per JSON line (its "text"); every other corpus one document,
// the string cpr_corpus_load returns. Document i is buf + off[i], len[i]
// bytes, NUL-terminated. Errors as cpr_corpus_load; free with
// cpr_corpus_docs_free (accepts a zeroed or failed record).
struct cpr_corpus_docs {
    size_t n;
    char *buf;
    size_t *off, *len;
};
enum cpr_status cpr_corpus_load_docs(const char *data_dir, const char *name,
                                     const char *split,
                                     struct cpr_corpus_docs *docs,
                                     struct cpr_err *err);
void cpr_corpus_docs_free(struct cpr_corpus_docs *docs);

// Load any UTF-8 text file as is (up to 4 GiB).
enum cpr_status cpr_corpus_load_file(const char *path, char **text,
                                     size_t *len, struct cpr_err *err);

// Offset of the first byte that is not valid UTF-8 (overlongs, surrogates
// and code points above U+10FFFF are invalid), or len when all is valid.
size_t cpr_utf8_check(const char *s, size_t len);

#endif
