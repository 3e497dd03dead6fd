// cli/gguf_out.h: GGUF output shared by `cprune convert` and
// `prune --out-format gguf` (cli/cmd_convert.c).
#ifndef CPR_CLI_GGUF_OUT_H
#define CPR_CLI_GGUF_OUT_H

#include <stddef.h>

#include "core/model.h"
#include "core/status.h"

// Parse --dtype / --gguf-dtype (NULL: bf16); -1 after printing the error.
int cli_gguf_dtype(const char *cmd, const char *opt, const char *v,
                   enum cpr_dtype *out);
// -1 (after printing) when out does not end in ".gguf".
int cli_gguf_check_out(const char *cmd, const char *out);
// Write m (loaded from model_path, whose llama2.c tokenizer is used) with
// the provenance pairs meta (n_meta pairs, cprune.* keys) as string keys.
enum cpr_status cli_save_gguf(const struct cpr_model *m, const char *model_path,
                              const char *out, enum cpr_dtype dtype,
                              const char *const *meta, size_t n_meta,
                              struct cpr_err *err);

#endif
