// data/llama2c_write.h: write a model as a llama2.c legacy ("version 0")
// checkpoint, the layout data/llama2c.h documents and run.c reads.
//
// Only models that are llama2.c models can be written: LLaMA architecture,
// interleaved RoPE (the llama2.c convention; a half-split HF model would
// need its q/k rows permuted back, which is refused rather than guessed),
// no q/k/v biases, RMSNorm eps 1e-5, rope theta 10000, no rope scaling,
// head_dim = dim / n_heads. Weights of any dtype are written as f32. The
// freq_cis tables (unused by run.c) are written as legacy export.py
// computes them: cos/sin(p * 10000^(-2i/hs)) in double, stored as f32.
// A tied model stores a positive vocab_size and no classifier.
//
// The file is written to a temporary name beside `path` and renamed into
// place; writing over any file the model's weights are mapped from is
// refused (CPR_ERR_ARG).
#ifndef CPR_DATA_LLAMA2C_WRITE_H
#define CPR_DATA_LLAMA2C_WRITE_H

#include "core/model.h"
#include "core/status.h"

// Whether m can be written to path (reads only m->cfg and the input files'
// identities, no weights): the checks cpr_llama2c_write makes first.
// Errors: CPR_ERR_UNSUPPORTED (not a llama2.c model, naming the field),
// CPR_ERR_ARG (path is one of the model's input files).
enum cpr_status cpr_llama2c_write_check(const struct cpr_model *m,
                                        const char *path,
                                        struct cpr_err *err);

// Errors: CPR_ERR_UNSUPPORTED (not a llama2.c model, naming the field),
// CPR_ERR_ARG (refused destination), CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status cpr_llama2c_write(const struct cpr_model *m, const char *path,
                                  struct cpr_err *err);

#endif
