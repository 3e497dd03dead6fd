// data/gguf_write.h: a GGUF v3 container writer (the file format of
// llama.cpp / ggml): a header with key-value metadata and tensor infos,
// padding to the alignment, then the tensor bytes, each starting at a
// multiple of the alignment. Little-endian hosts only (as GGUF is).
//
// Use: add metadata (cpr_gguf_kv_*) and declare every tensor
// (cpr_gguf_add_tensor) first; then cpr_gguf_begin writes the header to a
// temporary file, cpr_gguf_put_tensor writes each tensor's bytes in
// declaration order, and cpr_gguf_commit renames the file into place
// (data/fileio.h atomic writes). Any failure leaves no file behind
// (cpr_gguf_writer_free aborts an uncommitted write).
#ifndef CPR_DATA_GGUF_WRITE_H
#define CPR_DATA_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/fileio.h"

// GGUF metadata value types and the ggml tensor types we write.
enum cpr_gguf_type {
    CPR_GGUF_U8 = 0, CPR_GGUF_I8 = 1, CPR_GGUF_U16 = 2, CPR_GGUF_I16 = 3,
    CPR_GGUF_U32 = 4, CPR_GGUF_I32 = 5, CPR_GGUF_F32 = 6, CPR_GGUF_BOOL = 7,
    CPR_GGUF_STRING = 8, CPR_GGUF_ARRAY = 9, CPR_GGUF_U64 = 10,
    CPR_GGUF_I64 = 11, CPR_GGUF_F64 = 12,
};
enum cpr_ggml_type { CPR_GGML_F32 = 0, CPR_GGML_F16 = 1, CPR_GGML_BF16 = 30 };

#define CPR_GGUF_ALIGNMENT 32

struct cpr_gguf_tensor_info {
    char name[64];
    int ndim;
    int64_t shape[4];   // outermost first (written innermost first)
    enum cpr_ggml_type type;
    uint64_t nbytes, offset; // offset from the start of the data section
};

struct cpr_gguf_writer {
    unsigned char *kv;  // serialized key-value pairs
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    struct cpr_gguf_tensor_info *tensors;
    size_t n_tensors, cap_tensors, next_put;
    uint64_t data_len;  // bytes of the data section so far (declared)
    struct cpr_atomic_file af;
    int open;           // 1 between begin and commit
    enum cpr_status oom; // sticky CPR_ERR_NOMEM from kv_* calls
};

void cpr_gguf_writer_init(struct cpr_gguf_writer *w);
// Aborts an uncommitted file and frees everything.
void cpr_gguf_writer_free(struct cpr_gguf_writer *w);

// Metadata. Errors are sticky: checked by cpr_gguf_begin.
void cpr_gguf_kv_u32(struct cpr_gguf_writer *w, const char *key, uint32_t v);
void cpr_gguf_kv_i32(struct cpr_gguf_writer *w, const char *key, int32_t v);
void cpr_gguf_kv_f32(struct cpr_gguf_writer *w, const char *key, float v);
void cpr_gguf_kv_bool(struct cpr_gguf_writer *w, const char *key, int v);
void cpr_gguf_kv_str(struct cpr_gguf_writer *w, const char *key,
                     const char *v);
// Arrays: of i32 / f32 values, or of n strings (strs[i], lens[i] bytes).
void cpr_gguf_kv_arr_i32(struct cpr_gguf_writer *w, const char *key,
                         const int32_t *v, size_t n);
void cpr_gguf_kv_arr_f32(struct cpr_gguf_writer *w, const char *key,
                         const float *v, size_t n);
void cpr_gguf_kv_arr_str(struct cpr_gguf_writer *w, const char *key,
                         const char *const *strs, const size_t *lens,
                         size_t n);

// Declare a tensor (shape outermost first, as cpr_tensor). Errors:
// CPR_ERR_ARG (name too long, ndim), CPR_ERR_NOMEM.
enum cpr_status cpr_gguf_add_tensor(struct cpr_gguf_writer *w,
                                    const char *name, enum cpr_ggml_type type,
                                    int ndim, const int64_t *shape,
                                    struct cpr_err *err);

enum cpr_status cpr_gguf_begin(struct cpr_gguf_writer *w, const char *path,
                               struct cpr_err *err);
// The next declared tensor's bytes (exactly its nbytes).
enum cpr_status cpr_gguf_put_tensor(struct cpr_gguf_writer *w,
                                    const void *data, size_t nbytes,
                                    struct cpr_err *err);
// All tensors written: fsync and rename into place.
enum cpr_status cpr_gguf_commit(struct cpr_gguf_writer *w,
                                struct cpr_err *err);

size_t cpr_ggml_type_size(enum cpr_ggml_type t);

#endif
