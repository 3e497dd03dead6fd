// data/gguf_model.h: write a cpr_model as a GGUF file llama.cpp loads.
//
// Architecture: "llama" when every layer has the config's shape; "deci"
// (llama.cpp's per-layer LLaMA variant) when heads, kv heads or the MLP
// width differ per layer or a sub-block is removed. deci stores
// deci.attention.head_count, .head_count_kv and deci.feed_forward_length
// as per-layer arrays. Removed sub-blocks (llama.cpp's deci graph skips
// attention when a layer's n_head is 0; a layer's n_ff of 0 is handled
// differently across llama.cpp versions: older graphs expect FFN tensors,
// newer ones drop the attention output too), so:
//   - attention removed: n_head = n_head_kv = 0, no attention tensors;
//   - MLP removed: n_ff = 1 with all-zero gate/up/down (adds exactly 0)
//     and an all-ones ffn_norm, never n_ff = 0.
//
// Tensors use llama.cpp's names (token_embd, blk.N.attn_q, ..., output;
// output is omitted when embeddings are tied). RoPE: llama.cpp's LLaMA
// graph rotates pairs (2i, 2i+1) (llama2.c / Meta layout). Models in
// Hugging Face layout (rope_style CPR_ROPE_HALF, pairs (i, i + hd/2)) get
// the q and k rows permuted within each head as convert_hf_to_gguf.py's
// permute does: new row h*hd + 2i + p = old row h*hd + p*(hd/2) + i.
// llama2.c models (CPR_ROPE_INTERLEAVED) are written as they are.
// Linears are written in the requested dtype (f32, f16 or bf16, rounded
// to nearest even); norms always f32 (as llama.cpp's converters do).
//
// Tokenizer: a llama2.c tokenizer .bin (pieces + scores) becomes a
// SentencePiece "llama" vocabulary as llama.cpp's convert-llama2c-to-ggml
// does: id 0 <unk> (unknown), 1 <s> / 2 </s> (control), <0xNN> pieces are
// byte tokens, spaces become U+2581. Other tokenizers (tokenizer.json)
// are not converted yet: CPR_ERR_UNSUPPORTED unless tokenizer_path is NULL
// (then the file has no vocabulary: tokenizer.ggml.model "no_vocab").
//
// Only LLaMA-family models (RMSNorm, RoPE without llama3 scaling, SwiGLU,
// no biases, no sliding window) and dense tensors are accepted
// (CPR_ERR_UNSUPPORTED naming what is not).
#ifndef CPR_DATA_GGUF_MODEL_H
#define CPR_DATA_GGUF_MODEL_H

#include "core/model.h"
#include "core/status.h"

struct cpr_gguf_opts {
    enum cpr_dtype dtype;       // of the linears and embeddings
    const char *tokenizer_path; // llama2.c .bin, or NULL for no vocabulary
    const char *name;           // general.name (NULL: "cprune")
    // Extra string key/value pairs (meta[2i] key, meta[2i+1] value), e.g.
    // cprune's provenance "cprune.version"; llama.cpp ignores keys it does
    // not know. Written after general.*.
    const char *const *meta;
    size_t n_meta;
};

// Check that m can be written (family, dtypes, dense); cheap, before work.
enum cpr_status cpr_gguf_model_check(const struct cpr_model *m,
                                     struct cpr_err *err);
// 1 when the file would use the "deci" architecture.
int cpr_gguf_model_is_deci(const struct cpr_model *m);

enum cpr_status cpr_gguf_model_save(const struct cpr_model *m,
                                    const char *path,
                                    const struct cpr_gguf_opts *o,
                                    struct cpr_err *err);

#endif
