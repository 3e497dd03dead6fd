// methods/registry.c: the const array of method descriptors.
#include "methods/registry.h"

#include <string.h>

#include "methods/dsnot.h"
#include "methods/gblm.h"
#include "methods/magnitude.h"
#include "methods/mixed.h"
#include "methods/owl.h"
#include "methods/ria.h"
#include "methods/sparsegpt.h"
#include "methods/swiftprune.h"
#include "methods/wanda.h"

const struct cpr_method *const cpr_methods[] = {
    &cpr_method_magnitude,
    &cpr_method_wanda,
    &cpr_method_sparsegpt,
    &cpr_method_ria,
    &cpr_method_dsnot,
    &cpr_method_swiftprune,
    &cpr_method_owl,
    &cpr_method_mixed,
    &cpr_method_gblm,
    &cpr_method_gradient,
};
const size_t cpr_n_methods = sizeof cpr_methods / sizeof cpr_methods[0];

const struct cpr_method *cpr_method_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < cpr_n_methods; i++)
        if (!strcmp(cpr_methods[i]->name, name)) return cpr_methods[i];
    return NULL;
}

unsigned cpr_method_calib_needs(const struct cpr_method *m, const void *state) {
    unsigned needs = cpr_method_needs(m, state);
    if (cpr_method_allocates(m)) needs |= m->scan_needs;
    return needs & (CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN | CPR_NEED_COLMEANVAR |
                    CPR_NEED_GRAD);
}

enum cpr_status cpr_method_accepts(const struct cpr_method *m,
                                   const void *state,
                                   const struct cpr_prune_target *t,
                                   struct cpr_err *err) {
    const unsigned bit = t->nm_m ? CPR_REFUSES_NM : CPR_REFUSES_UNSTRUCTURED;
    if (m->refuses & bit)
        return cpr_err_set(err, CPR_ERR_ARG, "method %s accepts only %s",
                           m->name, cpr_method_patterns_str(m));
    if (state && t->nm_m && (cpr_method_needs(m, state) & CPR_NEED_GLOBAL))
        return cpr_err_set(err, CPR_ERR_ARG, "method %s with these options "
                           "prunes all matrices at once (one global "
                           "threshold) and accepts only --sparsity S",
                           m->name);
    return CPR_OK;
}

const char *cpr_method_patterns_str(const struct cpr_method *m) {
    switch (m->refuses & (CPR_REFUSES_NM | CPR_REFUSES_UNSTRUCTURED)) {
    case CPR_REFUSES_NM: return "--sparsity S (unstructured)";
    case CPR_REFUSES_UNSTRUCTURED: return "--pattern N:M";
    default: return "--sparsity S (unstructured) | --pattern N:M";
    }
}
