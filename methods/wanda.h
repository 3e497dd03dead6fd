// methods/wanda.h: Wanda (Sun et al. 2023), as locuslab/wanda
// lib/prune.py prune_wanda runs it.
#ifndef CPR_METHODS_WANDA_H
#define CPR_METHODS_WANDA_H

#include "methods/method.h"

extern const struct cpr_method cpr_method_wanda;

#endif
