// cli/args.h: option parsing shared by the cprune subcommands.
//
// Each command declares a table of options; cli_parse fills it from argv
// (`--name value`, `--name=value`, or a bare `--flag`), rejects unknown
// options and missing values with a message on stderr, and handles --help.
// An entry with name NULL is a group heading in --help (its help is the
// title); the parser skips it.
//
// Exit-status convention of every command (README "Exit status"):
//   0 success; 1 an error in the data or the environment (a missing,
//   unreadable or malformed file, a model problem); 2 a usage error (an
//   unknown or bad option, a value out of range, incompatible options, an
//   unknown method or dataset name, an output path the command refuses
//   to overwrite); 130 / 143 after SIGINT / SIGTERM (the default
//   disposition: the shell reports 128 + signal number).
// Ranges in messages are written as intervals: [lo, hi] includes both
// ends, [lo, hi) excludes hi.
#ifndef CPR_CLI_ARGS_H
#define CPR_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

struct cli_opt {
    const char *name;  // without the leading "--"; NULL: a group heading
    int takes_value;   // 1: needs a value; 0: a flag
    const char *help;  // one line, shown by --help
    const char *value; // filled: the value, or "1" for a seen flag, or NULL
};

// Returns 0 on success, 1 when --help was printed, 2 on a usage error
// (already reported on stderr). `usage` is the synopsis line.
int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n_opts,
              const char *cmd, const char *usage);

// What --help prints besides the options. usage: the synopsis (may hold
// several lines); examples: NULL-terminated command lines, or NULL; notes:
// a paragraph printed after the options, or NULL.
struct cli_help {
    const char *usage;
    const char *const *examples;
    const char *notes;
};

// cli_parse with a fuller --help (grouped options, notes, examples).
// Same return values; usage errors print help->usage.
int cli_parse_help(int argc, char **argv, struct cli_opt *opts,
                   size_t n_opts, const char *cmd,
                   const struct cli_help *help);

// The value of option `name` (NULL when not given).
const char *cli_get(const struct cli_opt *opts, size_t n_opts, const char *name);

// Parse an integer / float option value; on a bad value print
// "cprune CMD: --name: expected ..., found '...'" and return -1.
int cli_int(const char *cmd, const char *name, const char *s, long long lo,
            long long hi, long long *out);
int cli_float(const char *cmd, const char *name, const char *s, double lo,
              double hi, double *out);

// --threads: parse `value` (NULL: the default, all online CPUs) into
// *threads, an integer in [1, 1024]; -1 after printing a usage message.
// Calls cli_threads_warn on the result.
int cli_threads_parse(const char *cmd, const char *value, long long *threads);

// Warn on stderr when `threads` exceeds the online CPUs
// (sysconf(_SC_NPROCESSORS_ONLN)): more threads than CPUs only adds
// contention (1000 threads made a 2-chunk eval 60x slower on 2 CPUs).
// Returns 1 when it warned, else 0. Every command taking --threads calls it.
int cli_threads_warn(const char *cmd, long long threads);

// The data folder: $CPRUNE_DATA, else "../shared".
const char *cli_data_dir(void);

#endif
