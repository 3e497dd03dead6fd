// data/taskfile.h: zero-shot multiple-choice task files, read in their own
// public formats and turned into lm-evaluation-harness (v0.4) requests.
//
// A task named NAME is read from DIR/NAME.jsonl (RTE also DIR/rte.tsv,
// GLUE's layout). Known tasks and the fields each line must carry:
//   boolq        passage, question, label (0/1 or bool) or answer (bool)
//   rte          sentence1+sentence2 (GLUE) or premise+hypothesis
//                (SuperGLUE); label 0/1 or "entailment"/"not_entailment"
//   hellaswag    activity_label, ctx_a, ctx_b, endings[], label
//   winogrande   sentence (one "_"), option1, option2, answer "1"/"2"
//   arc_easy, arc_challenge, openbookqa
//                question string + choices {text[], label[]} (HF) or
//                question {stem, choices [{text, label}]} (AllenAI), or
//                question_stem + choices (OBQA flat); answerKey
//   piqa         goal, sol1, sol2, label inline or one per line in
//                DIR/piqa.lst (PIQA's valid-labels.lst renamed)
//   any other    generic: context (string), choices [strings], gold (int)
//
// Prompts follow the harness's task YAMLs (METHODS_REFERENCE_2 section 6):
// every choice's continuation is " " + choice (the target delimiter);
// WinoGrande gives one context per option (sentence up to "_" + option)
// and one shared continuation (" " + the rest after "_", stripped);
// HellaSwag's preprocess (strip, " [title]" -> ". ", drop "[...]", "  "
// -> " ") and ctx_b.capitalize(). Python's str.strip/rstrip whitespace
// set is used (ASCII and the Unicode spaces); capitalize() maps case for
// ASCII letters only (other letters are kept as they are).
#ifndef CPR_DATA_TASKFILE_H
#define CPR_DATA_TASKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/tokenizer.h"

enum cpr_task_kind {
    CPR_TASK_BOOLQ = 0,
    CPR_TASK_RTE,
    CPR_TASK_HELLASWAG,
    CPR_TASK_WINOGRANDE,
    CPR_TASK_ARC_EASY,
    CPR_TASK_ARC_CHALLENGE,
    CPR_TASK_OPENBOOKQA,
    CPR_TASK_PIQA,
    CPR_TASK_GENERIC,
    CPR_TASK_KIND_COUNT
};

// One document: n_choices (context, continuation) requests.
struct cpr_task_doc {
    int64_t n_choices;
    char **ctx;          // per choice context (malloc'd, NUL-terminated)
    char **cont;         // per choice continuation, delimiter included
    int64_t *norm_chars; // per choice: code points of the choice text
                         // (acc_norm's len(choice))
    int64_t gold;        // index of the right choice
};

struct cpr_taskset {
    char name[64];
    enum cpr_task_kind kind;
    int has_acc_norm;     // the harness reports acc_norm for this task
    char source[1100];    // the file read
    int64_t n_docs_file;  // documents in the file ("original")
    int64_t n_docs;       // documents kept (after the limit; "effective")
    struct cpr_task_doc *docs;
};

// The kind for a task name (unknown names are CPR_TASK_GENERIC).
enum cpr_task_kind cpr_task_kind_of(const char *name);
// The harness's version number of a task ("2.0" boolq, others "1.0").
const char *cpr_task_version(enum cpr_task_kind kind);
// The doc_to_text template of a task, for the results' "configs".
const char *cpr_task_template(enum cpr_task_kind kind);

// Read task `name` from dir; limit > 0 keeps the first `limit` documents.
// Errors: CPR_ERR_ARG (a name that is not [A-Za-z0-9_.-]+), CPR_ERR_NOTFOUND
// (no file, the path in the message), CPR_ERR_FORMAT (bad JSON, a missing
// or mistyped field, a gold outside the choices; file:line and the field,
// expected vs found), CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_taskset_read(struct cpr_taskset *ts, const char *dir,
                                 const char *name, int64_t limit,
                                 struct cpr_err *err);
void cpr_taskset_free(struct cpr_taskset *ts);

// ---- lm-eval's _encode_pair ----
// Whitespace at the end of ctx moves to the front of cont; then
//   whole = encode(ctx' + cont'), c = encode(ctx'), cont_ids = whole[|c|:]
// and the request is (c, cont_ids). An empty ctx gives ctx_ids = [BOS]
// (the harness's prefix token) and cont_ids = encode(cont). bos: put BOS
// first (lm-eval's add_bos_token). *ctx_ids / *cont_ids are malloc'd.
// Errors: those of cpr_tokenizer_encode; CPR_ERR_UNSUPPORTED for an empty
// context with a tokenizer without BOS.
enum cpr_status cpr_task_encode_pair(const struct cpr_tokenizer *t,
                                     const char *ctx, const char *cont,
                                     int bos, int32_t **ctx_ids,
                                     int64_t *n_ctx, int32_t **cont_ids,
                                     int64_t *n_cont, struct cpr_err *err);

// Python's str.rstrip() length: bytes of s[0..len) left after removing
// trailing whitespace (str.isspace code points).
size_t cpr_task_rstrip_len(const char *s, size_t len);
// Number of code points in UTF-8 s (Python's len()).
int64_t cpr_task_utf8_chars(const char *s);
// HellaSwag's preprocess(text) into a malloc'd string (NULL on no memory).
char *cpr_task_hellaswag_preprocess(const char *text);

#endif
