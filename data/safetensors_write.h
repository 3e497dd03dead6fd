// data/safetensors_write.h: writer for the safetensors format.
//
// Layout, per the spec and the reference Rust crate:
//   - 8-byte little-endian header length N, then N bytes of JSON, then the
//     tensor bytes back to back;
//   - the JSON holds "__metadata__" (string -> string, omitted when empty)
//     first, then one member per tensor; tensors are ordered by element
//     size, largest first, then by name (bytewise), so with one dtype the
//     order is simply sorted names and every tensor's data offset is a
//     multiple of its element size (the crate orders by alignment for the
//     same reason);
//   - the header is padded with spaces so 8 + N is a multiple of 64 (the
//     spec asks for 8): the data section starts on a cache line, so the
//     rows of a weight whose row bytes are a multiple of 64 do too.
// The file is written to a temporary name in the destination directory,
// fsync'd and renamed into place, so readers never see a partial file.
#ifndef CPR_DATA_SAFETENSORS_WRITE_H
#define CPR_DATA_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

struct cpr_st_entry {
    const char *name;           // tensor name (unique, not "__metadata__")
    const struct cpr_tensor *t; // contiguous, 1..4 dims, f32/bf16/f16
};

struct cpr_file_id {
    uint64_t dev, ino;
};

// Write entries[0..n) to path. meta holds n_meta key/value pairs
// (meta[2i] = key, meta[2i+1] = value). `avoid` lists files this run is
// reading (device + inode): if path already exists and is one of them the
// write is refused (CPR_ERR_ARG) before anything is written.
// Errors: CPR_ERR_ARG (duplicate or empty names, unset or strided tensors,
// refused overwrite), CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_safetensors_write(const char *path,
                                      const struct cpr_st_entry *entries,
                                      size_t n, const char *const *meta,
                                      size_t n_meta,
                                      const struct cpr_file_id *avoid,
                                      size_t n_avoid, struct cpr_err *err);

#endif
