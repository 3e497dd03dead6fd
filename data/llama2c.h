// data/llama2c.h: llama2.c legacy checkpoints (karpathy/llama2.c run.c,
// "version 0" written by export.py legacy_export).
//
// Layout (all little-endian):
//   7 x int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
//              seq_len. vocab_size < 0 means the classifier is stored
//              separately (untied); > 0 means it shares token_embedding.
//   fp32 arrays, each (rows, cols) row-major as nn.Linear (d_out, d_in):
//     token_embedding (vocab, dim)
//     rms_att (n_layers, dim)
//     wq (n_layers, n_heads*hs, dim)   hs = dim / n_heads
//     wk (n_layers, n_kv*hs, dim)
//     wv (n_layers, n_kv*hs, dim)
//     wo (n_layers, dim, n_heads*hs)
//     rms_ffn (n_layers, dim)
//     w1 = gate (n_layers, hidden, dim)
//     w2 = down (n_layers, dim, hidden)
//     w3 = up   (n_layers, hidden, dim)
//     rms_final (dim)
//     freq_cis_real, freq_cis_imag: seq_len * hs / 2 floats each (unused)
//     wcls (vocab, dim) only when untied
// (run.c memory_map_weights.) The file size must equal this sum exactly.
// Model conventions: RoPE on interleaved pairs, RMSNorm eps 1e-5, rope
// theta 10000, BOS 1, EOS 2, context = seq_len (run.c).
//
// The newer export versions (magic "ak42") are recognized and refused with
// CPR_ERR_UNSUPPORTED.
#ifndef CPR_DATA_LLAMA2C_H
#define CPR_DATA_LLAMA2C_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/status.h"

struct cpr_llama2c_header {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
        seq_len;
    int tied;               // vocab_size > 0 in the file
    uint64_t expected_size; // bytes the file must have
};

// Validate the header of a checkpoint of `file_size` bytes whose first
// `avail` bytes are at hdr (28 are needed; callers probing a file need not
// read the weights): every field positive (vocab nonzero), caps, heads
// divisible, even head size, and file_size equal to the computed size.
// Errors: CPR_ERR_FORMAT naming the field or the two sizes;
// CPR_ERR_UNSUPPORTED for versioned exports.
enum cpr_status cpr_llama2c_parse_header(const unsigned char *hdr,
                                         size_t avail, uint64_t file_size,
                                         const char *name,
                                         struct cpr_llama2c_header *h,
                                         struct cpr_err *err);

// Fill m (zeroed by the caller, or partly built) with borrowed read-only
// views into bytes (which must be 4-byte aligned and outlive the model).
// Sets cfg, the tensors and m->format = "llama2c"; leaves backing and
// source to the caller. Errors as cpr_llama2c_parse_header, CPR_ERR_NOMEM.
enum cpr_status cpr_llama2c_build(const unsigned char *bytes, size_t size,
                                  const char *name, struct cpr_model *m,
                                  struct cpr_err *err);

#endif
