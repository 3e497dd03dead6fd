// core/arch_name.h: the family name of an architecture ("opt", the Hugging
// Face model_type), for messages such as a method refusing a family.
#ifndef CPR_CORE_ARCH_NAME_H
#define CPR_CORE_ARCH_NAME_H

#include "core/model.h"

// "llama", "mistral", "qwen2", "opt", "qwen3", "gemma", "gpt_neox",
// "gpt2"; "unknown" for a
// value outside the enum.
const char *cpr_arch_family_name(enum cpr_arch arch);

#endif
