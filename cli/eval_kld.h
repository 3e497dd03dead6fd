// cli/eval_kld.h: `cprune eval --reference DENSE`: KL divergence of the
// evaluated model from a reference (eval/kld.h), printed and added to the
// --json result as the object "kld".
#ifndef CPR_CLI_EVAL_KLD_H
#define CPR_CLI_EVAL_KLD_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "data/json_write.h"
#include "eval/kld.h"

// Load the reference model at ref_path, run cpr_kld_eval of m against it
// on ids under po (progress bar unless quiet), print the summary lines.
enum cpr_status cli_eval_kld(const char *ref_path, const struct cpr_model *m,
                             struct cpr_pool *pool, const int32_t *ids,
                             int64_t n_ids, const struct cpr_ppl_opts *po,
                             int quiet, struct cpr_kld_result *out,
                             struct cpr_err *err);

// Write key "kld" and its object into an open JSON object.
void cli_eval_kld_json(struct cpr_jw *w, const char *ref_path,
                       const struct cpr_kld_result *r);
// The object alone (a value where one is due).
void cli_eval_kld_object(struct cpr_jw *w, const char *ref_path,
                         const struct cpr_kld_result *r);

#endif
