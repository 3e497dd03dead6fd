// cli/progress.h: a one-line progress bar on stderr (only when stderr is a
// terminal): done/total, items per second, ETA and a free-text suffix.
#ifndef CPR_CLI_PROGRESS_H
#define CPR_CLI_PROGRESS_H

#include <stdint.h>

struct cli_progress {
    int enabled;       // stderr is a tty (and not disabled)
    double t_start;    // monotonic seconds
    double t_last;     // last redraw
    const char *unit;  // "tok"
};

// enabled = isatty(2) && !quiet.
void cli_progress_init(struct cli_progress *p, const char *unit, int quiet);
// Redraw (at most ~10 times a second, and always when done == total):
// "[#####-----]  done/total  RATE unit/s  ETA m:ss  suffix".
// `work_done` / `work_total` measure the rate (e.g. tokens) while done /
// total count steps (e.g. chunks).
void cli_progress_update(struct cli_progress *p, int64_t done, int64_t total,
                         double work_done, double work_total,
                         const char *suffix);
// Finish the line (newline) if anything was drawn.
void cli_progress_end(struct cli_progress *p);
// Monotonic seconds.
double cli_now(void);
// CPU seconds of the whole process (all its threads) so far.
double cli_cpu_now(void);

#endif
