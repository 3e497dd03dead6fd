// core/arch_name.c: family names of enum cpr_arch (core/arch_name.h).
#include "core/arch_name.h"

const char *cpr_arch_family_name(enum cpr_arch arch) {
    switch (arch) {
    case CPR_ARCH_LLAMA: return "llama";
    case CPR_ARCH_MISTRAL: return "mistral";
    case CPR_ARCH_QWEN2: return "qwen2";
    case CPR_ARCH_OPT: return "opt";
    case CPR_ARCH_QWEN3: return "qwen3";
    case CPR_ARCH_GEMMA: return "gemma";
    case CPR_ARCH_GPT_NEOX: return "gpt_neox";
    case CPR_ARCH_GPT2: return "gpt2";
    default: break; // a family added without a name here
    }
    return "unknown";
}
