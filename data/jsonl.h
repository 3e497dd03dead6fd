// data/jsonl.h: appending whole lines to a shared JSON-lines file, the
// results.jsonl of `cprune sweep`, which several processes (shards of a
// Slurm array, GNU parallel jobs) may write at once.
//
// What it guarantees: a line is either absent or complete. Each append is
// one write() on an O_APPEND descriptor while holding an exclusive flock
// on the file, so lines never interleave, and a process killed before the
// write leaves nothing. A short write (disk full) is cut back off under
// the lock and reported. What it is not: durable against power loss (no
// fsync per line; a sweep can be resumed) or a reader (readers take the
// whole file with cpr_file_read_all and ignore an unterminated last line).
#ifndef CPR_DATA_JSONL_H
#define CPR_DATA_JSONL_H

#include <stddef.h>

#include "core/status.h"

// Append line[0..len) plus '\n' to path (created 0666 & ~umask when
// missing). The line must not contain '\n' (CPR_ERR_ARG). Errors:
// CPR_ERR_IO naming the path and the failing call.
enum cpr_status cpr_jsonl_append(const char *path, const char *line,
                                 size_t len, struct cpr_err *err);

#endif
