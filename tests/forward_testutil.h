// tests/forward_testutil.h: what the block-family tests against the
// PyTorch oracles share (test_forward_neox_gpt2, test_forward_qwen3_gemma):
// the family fixture tests/fixtures/<fam>_tiny (a small model in the
// family's Hugging Face layout, tokens.i32, logits0.f32 and the perplexity
// in ppl_<fam>_tiny.json), the pass checked against it on every ISA, the
// write-back round trip and every registered method pruning the model.
// What is particular to a family (its config and layout) stays in its test.
#ifndef CPR_TESTS_FORWARD_TESTUTIL_H
#define CPR_TESTS_FORWARD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "data/json.h"
#include "tests/harness.h"

struct ft_fixture {
    char *js;              // ppl_<fam>_tiny.json (doc points into it)
    size_t jn;
    struct cpr_json_doc doc;
    int32_t *ids;          // (n) the token stream
    int64_t n;
    float *logits0;        // (seqlen, vocab) logits of the first chunk
    size_t logits0_bytes;
};

// Load the fixture of family `fam`. Errors: those of cpr_file_read_all
// and cpr_json_parse. Free with ft_fixture_free (also after an error).
enum cpr_status ft_fixture_load(const char *fam, struct ft_fixture *x,
                                struct cpr_err *err);
void ft_fixture_free(struct ft_fixture *x);

// Logits (T, vocab) of one sequence of T tokens; kt NULL = the dispatched
// table, pool NULL = serial.
enum cpr_status ft_logits(const struct cpr_model *m,
                          const struct cpr_kernels *kt, struct cpr_pool *pool,
                          const int32_t *tok, int64_t T, float *logits,
                          struct cpr_err *err);

// m (loaded from the fixture) against it on every ISA compiled in and
// available: perplexity (hf protocol, the fixture's seqlen) within 1e-5
// relative, logits of the first chunk within 1e-4 absolute; then the
// logits with 1 and 3 threads bit-identical. *first gets the scalar
// table's perplexity. 0, or -1 when a check failed (the caller stops).
int ft_check_oracle(struct cpr_test_ctx *t, const char *fam,
                    const struct cpr_model *m, const struct ft_fixture *x,
                    double *first);

// Checks of a family's reloaded model b against m; out is the folder b was
// loaded from, dir the fixture's.
typedef void ft_reload_check(struct cpr_test_ctx *t, const char *fam,
                             const struct cpr_model *m,
                             const struct cpr_model *b, const char *dir,
                             const char *out);

// m written back in its family's layout (cpr_model_save_hf) into a
// temporary folder and loaded again: `check` (may be NULL), then the
// perplexity on the scalar table equal to `first` (bit for bit).
void ft_check_reload(struct cpr_test_ctx *t, const char *fam,
                     const struct cpr_model *m, const struct ft_fixture *x,
                     double first, ft_reload_check *check);

// Every registered method prunes each family fams[0..n_fams) to about half
// sparsity (per_layer linears per block) and leaves a model whose loss is
// finite; the gradient methods may refuse what the backward pass lacks.
void ft_check_methods(struct cpr_test_ctx *t, const char *const *fams,
                      size_t n_fams, int per_layer);

#endif
