// methods/method.c: helpers shared by every method: option-list parsing
// from a method's option table, the target check, and the needs names.
#include "methods/method.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- needs ----
unsigned cpr_method_needs(const struct cpr_method *m, const void *state) {
    if (m->abi_version >= 2 && m->needs_of) return m->needs_of(state);
    return m->needs;
}

int cpr_method_allocates(const struct cpr_method *m) {
    return m->abi_version >= 2 && m->allocate != NULL;
}

const char *cpr_method_needs_str(unsigned needs, char *buf, size_t cap) {
    static const char *const names[] = {"colsumsq", "hessian", "colmeanvar",
                                        "global", "grad"};
    size_t used = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    for (size_t b = 0; b < sizeof names / sizeof names[0]; b++) {
        if (!(needs & (1u << b))) continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? "," : "",
                         names[b]);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
    if (used == 0) snprintf(buf, cap, "none");
    return buf;
}

// ---- target ----
enum cpr_status cpr_prune_target_check(const struct cpr_prune_target *t,
                                       size_t cols, struct cpr_err *err) {
    if (!t) return cpr_err_set(err, CPR_ERR_ARG, "prune target: NULL");
    if (t->nm_m == 0) {
        if (t->nm_n != 0)
            return cpr_err_set(err, CPR_ERR_ARG,
                               "prune target: N:M with M = 0 (N = %u); "
                               "expected 0 < N < M", t->nm_n);
        if (!(t->sparsity >= 0.0 && t->sparsity <= 1.0))
            return cpr_err_set(err, CPR_ERR_ARG,
                               "prune target: sparsity %g; expected a "
                               "fraction in [0, 1]", t->sparsity);
        return CPR_OK;
    }
    if (t->nm_n == 0 || t->nm_n >= t->nm_m)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "prune target: pattern %u:%u; expected N:M with "
                           "0 < N < M", t->nm_n, t->nm_m);
    if (cols % t->nm_m != 0)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "prune target: pattern %u:%u needs the input width "
                           "to be a multiple of %u, found %zu columns",
                           t->nm_n, t->nm_m, t->nm_m, cols);
    return CPR_OK;
}

// ---- options ----
static enum cpr_status set_opt(const struct cpr_method_opt *o, void *state,
                               const char *method, const char *val,
                               size_t vlen, struct cpr_err *err) {
    char buf[128];
    if (vlen == 0 || vlen >= sizeof buf)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: option %s: empty or too "
                           "long value", method, o->name);
    memcpy(buf, val, vlen);
    buf[vlen] = '\0';
    char *base = (char *)state + o->offset;
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case CPR_OPT_DOUBLE: {
        double v = strtod(buf, &end);
        if (*end || errno || !isfinite(v) || v < o->lo || v > o->hi)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: option %s: expected a "
                               "number in [%g, %g], found '%s'", method,
                               o->name, o->lo, o->hi, buf);
        memcpy(base, &v, sizeof v);
        return CPR_OK;
    }
    case CPR_OPT_SIZE: {
        if (buf[0] == '-') end = buf;
        unsigned long long v = end ? 0 : strtoull(buf, &end, 10);
        if (*end || errno || (double)v < o->lo || (double)v > o->hi)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: option %s: expected an "
                               "integer in [%.0f, %.0f], found '%s'", method,
                               o->name, o->lo, o->hi, buf);
        size_t s = (size_t)v;
        memcpy(base, &s, sizeof s);
        return CPR_OK;
    }
    case CPR_OPT_BOOL: {
        int v;
        if (!strcmp(buf, "1") || !strcmp(buf, "true") || !strcmp(buf, "yes"))
            v = 1;
        else if (!strcmp(buf, "0") || !strcmp(buf, "false") ||
                 !strcmp(buf, "no"))
            v = 0;
        else
            return cpr_err_set(err, CPR_ERR_ARG, "%s: option %s: expected "
                               "0|1|true|false, found '%s'", method, o->name,
                               buf);
        memcpy(base, &v, sizeof v);
        return CPR_OK;
    }
    case CPR_OPT_ENUM: {
        const char *c = o->choices;
        for (int idx = 0; c && *c; idx++) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == vlen && !memcmp(c, buf, len)) {
                memcpy(base, &idx, sizeof idx);
                return CPR_OK;
            }
            c = bar ? bar + 1 : c + len;
        }
        return cpr_err_set(err, CPR_ERR_ARG, "%s: option %s: expected one "
                           "of %s, found '%s'", method, o->name, o->choices,
                           buf);
    }
    }
    return cpr_err_set(err, CPR_ERR_INTERNAL, "%s: option %s: bad type",
                       method, o->name);
}

enum cpr_status cpr_method_opts_defaults(const struct cpr_method_opt *opts,
                                         size_t n_opts, void *state,
                                         const char *method,
                                         struct cpr_err *err) {
    for (size_t i = 0; i < n_opts; i++)
        CPR_TRY(set_opt(&opts[i], state, method, opts[i].def,
                        strlen(opts[i].def), err));
    return CPR_OK;
}

enum cpr_status cpr_method_state_new(const struct cpr_method_opt *opts,
                                     size_t n_opts, size_t size,
                                     const char *method, void **state,
                                     struct cpr_err *err) {
    void *s = calloc(1, size);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: state", method);
    enum cpr_status st = cpr_method_opts_defaults(opts, n_opts, s, method, err);
    if (st != CPR_OK) {
        free(s);
        return st;
    }
    *state = s;
    return CPR_OK;
}

enum cpr_status cpr_method_opts_parse(const struct cpr_method_opt *opts,
                                      size_t n_opts, void *state,
                                      const char *method, const char *list,
                                      struct cpr_err *err) {
    const char *p = list ? list : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (len == 0) { // tolerate ",," and a trailing comma
            p += comma ? 1 : 0;
            continue;
        }
        if (!eq)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: option '%.*s': expected "
                               "name=value", method, (int)len, p);
        size_t nlen = (size_t)(eq - p);
        const struct cpr_method_opt *o = NULL;
        for (size_t i = 0; i < n_opts; i++)
            if (strlen(opts[i].name) == nlen && !memcmp(opts[i].name, p, nlen))
                o = &opts[i];
        if (!o) {
            char known[160] = "";
            size_t used = 0;
            for (size_t i = 0; i < n_opts && used < sizeof known; i++) {
                int n = snprintf(known + used, sizeof known - used, "%s%s",
                                 i ? ", " : "", opts[i].name);
                if (n < 0) break;
                used += (size_t)n;
            }
            return cpr_err_set(err, CPR_ERR_ARG, "%s: unknown option '%.*s' "
                               "(known: %s)", method, (int)nlen, p,
                               n_opts ? known : "none");
        }
        CPR_TRY(set_opt(o, state, method, eq + 1, len - nlen - 1, err));
        p += len + (comma ? 1 : 0);
    }
    return CPR_OK;
}
