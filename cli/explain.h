// cli/explain.h: texts for `cprune explain METHOD`.
#ifndef CPR_CLI_EXPLAIN_H
#define CPR_CLI_EXPLAIN_H

struct explain_entry {
    const char *method;
    const char *algorithm; // plain words and formulas
    const char *paper;
    const char *code;      // the official implementation it follows
};

// NULL when the method has no entry.
const struct explain_entry *explain_find(const char *method);

#endif
