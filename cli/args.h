// cli/args.h: option parsing shared by the cprune subcommands.
//
// Each command declares a table of options; cli_parse fills it from argv
// (`--name value`, `--name=value`, or a bare `--flag`), rejects unknown
// options and missing values with a message on stderr, and handles --help.
#ifndef CPR_CLI_ARGS_H
#define CPR_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

struct cli_opt {
    const char *name;  // without the leading "--"
    int takes_value;   // 1: needs a value; 0: a flag
    const char *help;  // one line, shown by --help
    const char *value; // filled: the value, or "1" for a seen flag, or NULL
};

// Returns 0 on success, 1 when --help was printed, 2 on a usage error
// (already reported on stderr). `usage` is the synopsis line.
int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n_opts,
              const char *cmd, const char *usage);

// The value of option `name` (NULL when not given).
const char *cli_get(const struct cli_opt *opts, size_t n_opts, const char *name);

// Parse an integer / float option value; on a bad value print
// "cprune CMD: --name: expected ..., found '...'" and return -1.
int cli_int(const char *cmd, const char *name, const char *s, long long lo,
            long long hi, long long *out);
int cli_float(const char *cmd, const char *name, const char *s, double lo,
              double hi, double *out);

// The data folder: $CPRUNE_DATA, else "../shared".
const char *cli_data_dir(void);

#endif
