// data/safetensors.h: reader for the safetensors format
// (https://huggingface.co/docs/safetensors: 8-byte little-endian header
// length N, N bytes of JSON, then the data section).
//
// The file is mmap'd read-only; every header byte is validated before any
// pointer is carved, with the same rules as the reference Rust crate:
//   - N >= 2, N <= 100,000,000 (the crate's limit) and 8 + N <= file size;
//   - the header is a JSON object; "__metadata__" (optional) maps strings
//     to strings; every other member is a tensor {"dtype", "shape",
//     "data_offsets"} (other fields are ignored);
//   - dtype is one of the spec's names (BOOL U8 I8 F8_E5M2 F8_E4M3 F8_E8M0
//     I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64 C64); anything else is a
//     format error;
//   - shape entries are non-negative integers (at most CPR_ST_MAX_DIMS),
//     data_offsets is [begin, end] with begin <= end <= data size, and
//     product(shape) * dtype size == end - begin (checked multiplies);
//   - tensor names are unique, and the byte ranges, sorted, tile the data
//     section exactly: no overlap, no gap, no trailing bytes.
// Only F32, F16 and BF16 can be turned into cpr_tensor views; asking for a
// tensor of another dtype is CPR_ERR_UNSUPPORTED naming tensor and dtype.
#ifndef CPR_DATA_SAFETENSORS_H
#define CPR_DATA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "data/fileio.h"
#include "data/json.h"

#define CPR_ST_MAX_DIMS 8
#define CPR_ST_MAX_HEADER 100000000ull

struct cpr_st_tensor {
    const char *name;       // decoded, NUL-terminated (owned by the file)
    size_t name_len;
    const char *dtype_name; // the spec's name, e.g. "BF16"
    int dtype;              // enum cpr_dtype, or -1 when not computable
    size_t elem_size;       // bytes per element
    int ndim;
    int64_t shape[CPR_ST_MAX_DIMS];
    uint64_t begin, end;    // byte range in the data section
};

struct cpr_safetensors {
    char path[1024];                // for messages
    struct cpr_mapped_file map;     // empty when parsed from a buffer
    const unsigned char *data;      // start of the data section
    uint64_t data_size;             // bytes in the data section
    uint64_t header_len;            // N
    size_t n_tensors;
    struct cpr_st_tensor *tensors;  // sorted by name (bytewise)
    size_t n_meta;
    const struct cpr_json *meta;    // the __metadata__ object or NULL
    struct cpr_json_doc doc;        // owns names and metadata strings
};

// Map and validate path. Errors: CPR_ERR_NOTFOUND / CPR_ERR_IO (open,
// mmap), CPR_ERR_FORMAT (header, offsets, names), CPR_ERR_SHAPE (shape x
// dtype != byte span), CPR_ERR_UNSUPPORTED (more than CPR_ST_MAX_DIMS
// dims), CPR_ERR_NOMEM. Messages start with the path.
enum cpr_status cpr_safetensors_open(struct cpr_safetensors *st,
                                     const char *path, struct cpr_err *err);

// Validate a file image already in memory (tests, fuzzing). The bytes are
// borrowed and must outlive st. `name` is used in messages.
enum cpr_status cpr_safetensors_parse(struct cpr_safetensors *st,
                                      const void *bytes, size_t size,
                                      const char *name, struct cpr_err *err);

// Unmap and free. Accepts a zeroed or failed record.
void cpr_safetensors_close(struct cpr_safetensors *st);

// The tensor record named `name`, or NULL.
const struct cpr_st_tensor *cpr_safetensors_find(const struct cpr_safetensors *st,
                                                 const char *name);

// A cpr_tensor for tensor `name`: a borrowed read-only view into the
// mapping (owns_data 0, readonly 1) when its bytes are aligned to the dtype
// size; otherwise (a writer that did not pad) an owned aligned copy
// (owns_data 1) so kernels never see misaligned floats. The view is valid
// until cpr_safetensors_close.
// Errors: CPR_ERR_NOTFOUND (naming tensor and file), CPR_ERR_UNSUPPORTED
// (dtype other than F32/F16/BF16, or more than 4 dims), CPR_ERR_NOMEM.
enum cpr_status cpr_safetensors_tensor(const struct cpr_safetensors *st,
                                       const char *name,
                                       struct cpr_tensor *out,
                                       struct cpr_err *err);

// Value of __metadata__[key], or NULL.
const char *cpr_safetensors_meta(const struct cpr_safetensors *st,
                                 const char *key);

#endif
