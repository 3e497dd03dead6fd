// cli/progress.c: the stderr progress bar (see progress.h).
#include "cli/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cli_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_init(struct cli_progress *p, const char *unit, int quiet) {
    p->enabled = !quiet && isatty(2);
    p->t_start = cli_now();
    p->t_last = 0;
    p->unit = unit;
}

void cli_progress_update(struct cli_progress *p, int64_t done, int64_t total,
                         double work_done, double work_total,
                         const char *suffix) {
    if (!p->enabled) return;
    double now = cli_now();
    if (done < total && now - p->t_last < 0.1) return;
    p->t_last = now;
    double el = now - p->t_start;
    double rate = el > 0 ? work_done / el : 0;
    double eta = rate > 0 ? (work_total - work_done) / rate : 0;
    char bar[31];
    int fill = total > 0 ? (int)(30 * done / total) : 0;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '-';
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %lld/%lld  %.0f %s/s  ETA %d:%02d  %s\033[K", bar,
            (long long)done, (long long)total, rate, p->unit,
            (int)(eta / 60), (int)eta % 60, suffix ? suffix : "");
    fflush(stderr);
}

void cli_progress_end(struct cli_progress *p) {
    if (p->enabled && p->t_last > 0) fputc('\n', stderr);
}
