// methods/registry.h: the list of pruning methods, looked up by name.
#ifndef CPR_METHODS_REGISTRY_H
#define CPR_METHODS_REGISTRY_H

#include <stddef.h>

#include "methods/method.h"

// The methods, in listing order.
extern const struct cpr_method *const cpr_methods[];
extern const size_t cpr_n_methods;

// The method called `name`, or NULL.
const struct cpr_method *cpr_method_find(const char *name);

// ---- questions asked of every method, answered in one place ----

// The calibration statistics (CPR_NEED_COLSUMSQ | HESSIAN | COLMEANVAR bits)
// a run of m with this state needs: its pruning needs (cpr_method_needs)
// plus, for a layer-allocation method, what its dense scan needs. 0 = the
// method runs without calibration data.
unsigned cpr_method_calib_needs(const struct cpr_method *m, const void *state);

// CPR_OK when m (with this state; NULL = the descriptor alone) accepts
// target t, else CPR_ERR_ARG "method NAME accepts only ...". Refused: what
// cpr_method.refuses names, and N:M for a state that prunes all matrices
// at once (CPR_NEED_GLOBAL: one global threshold has no N:M form).
enum cpr_status cpr_method_accepts(const struct cpr_method *m,
                                   const void *state,
                                   const struct cpr_prune_target *t,
                                   struct cpr_err *err);

// What m accepts, as `cprune methods` prints it: "--sparsity S
// (unstructured) | --pattern N:M", or one of the two.
const char *cpr_method_patterns_str(const struct cpr_method *m);

#endif
