// data/arch_synth.h: random-weight models of the families with their own
// name tables (OPT, GPT-NeoX, GPT-2), built by walking the family's tensor-
// name table (data/arch.h), so `cprune synth --arch opt|gpt2|gpt_neox` and
// the benches get exactly the tensors, shapes and config the loader reads.
//
// The config is the family's config.json defaults (data/hf_config.c) with
// the spec's sizes: parsed from a minimal config.json in the family's keys,
// so it goes through the same checks as a loaded model (GPT-NeoX: Pythia's
// rotary_pct 0.25, parallel residual, attention biases; GPT-2: tied head,
// n_inner from the spec; OPT: tied head, offset-2 positions).
// Weights follow core/synth.h (uniform with std init_std, per-tensor seeded
// streams; ids 3 + 64 * layer + table index, the globals 0..2 and
// 3 + 64 * n_layers + {0, 1}); LayerNorm weights 1, LayerNorm biases 0,
// linear biases uniform with bias_std.
#ifndef CPR_DATA_ARCH_SYNTH_H
#define CPR_DATA_ARCH_SYNTH_H

#include "core/model.h"
#include "core/status.h"
#include "core/synth.h"

// 1 when `arch` is built here (OPT, GPT-NeoX, GPT-2), else core/synth.h.
int cpr_arch_synth_handles(enum cpr_arch arch);

// Build the model in memory (f32/bf16/f16 weights as spec->dtype). Uses the
// spec's arch, hidden, intermediate, n_layers, n_heads, vocab, context,
// tied_embeddings (GPT-NeoX only; OPT and GPT-2 are tied), dtype, seed,
// init_std, bias_std, bos_id/eos_id. Errors: CPR_ERR_ARG / CPR_ERR_FORMAT
// naming the field, CPR_ERR_NOMEM.
enum cpr_status cpr_arch_synth_model(struct cpr_model *m,
                                     const struct cpr_synth_spec *s,
                                     struct cpr_err *err);

#endif
