// methods/registry.c: the const array of method descriptors.
#include "methods/registry.h"

#include <string.h>

#include "methods/dsnot.h"
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
};
const size_t cpr_n_methods = sizeof cpr_methods / sizeof cpr_methods[0];

const struct cpr_method *cpr_method_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < cpr_n_methods; i++)
        if (!strcmp(cpr_methods[i]->name, name)) return cpr_methods[i];
    return NULL;
}
