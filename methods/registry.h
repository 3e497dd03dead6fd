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

#endif
