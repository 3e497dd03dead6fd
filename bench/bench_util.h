// bench/bench_util.h: timing, machine description, peak microbenchmarks and
// result files shared by the bench_* programs.
//
// Every result row is printed as a table line on stdout and collected into
// bench/results/<name>.json with the machine, CPU model, ISA, threads and
// date, so a figure can always be traced to what produced it.
#ifndef CPR_BENCH_UTIL_H
#define CPR_BENCH_UTIL_H

#include <stddef.h>

#include "core/pool.h"
#include "simd/kernels.h"

// Monotonic seconds.
double cpr_bench_now(void);

// Call fn(ctx) once to warm up, then repeatedly until at least min_reps
// calls and min_seconds of total time; returns the best (minimum) seconds
// of one call. The minimum is the figure least disturbed by other load.
double cpr_bench_time(void (*fn)(void *ctx), void *ctx, double min_seconds,
                      int min_reps);

// Peak f32 FMA rate of this machine on `threads` threads (pool may be NULL
// for 1), at the widest ISA <= isa: independent FMA chains in registers.
// GFLOP/s counting one FMA as 2 flops.
double cpr_bench_peak_gflops(struct cpr_pool *pool, enum cpr_isa isa);

// Sustained read bandwidth in GB/s (sum of a 1 GiB-class buffer, far larger
// than the caches) on the pool's threads.
double cpr_bench_stream_gbps(struct cpr_pool *pool);

// One read pass over buf[0, n) (the caller's buffer, already touched, far
// larger than the caches) on the pool's threads, split as the pool splits
// rows; GB/s. For ceilings measured interleaved with the timed work, so
// that the bandwidth and the work see the same load.
double cpr_bench_stream_pass(struct cpr_pool *pool, const float *buf, size_t n);

// CPU seconds used by this process (all threads): next to wall time, it
// says how much of the machine a timing got.
double cpr_bench_cpu_now(void);

// A results file: bench/results/<name>.json (written atomically on close),
// one object {"bench", "machine": {...}, "rows": [...]}.
struct cpr_bench_report {
    char name[64];
    char path[256];
    void *rows; // internal growable buffer
    size_t n_rows, cap;
    int threads;
};

void cpr_bench_report_open(struct cpr_bench_report *r, const char *name,
                           int threads);

// One row. Any numeric field < 0 is written as null. `shape` and `note`
// are free text ("M=512 N=4096 K=4096"); ratio is against the scalar
// kernel, a peak, or OpenBLAS as `note` says.
void cpr_bench_row(struct cpr_bench_report *r, const char *kernel,
                   const char *isa, const char *shape, int threads,
                   double seconds, double gflops, double gbps, double ratio,
                   const char *note);

// Write the JSON file and free the rows. Returns 0, or -1 with a message
// on stderr when the file cannot be written.
int cpr_bench_report_close(struct cpr_bench_report *r);

#endif
