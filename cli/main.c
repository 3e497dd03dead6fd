// cli/main.c: the cprune program: dispatch to a subcommand.
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"eval", cmd_eval, "perplexity of a model on a corpus (Wanda/SparseGPT or llama.cpp protocol)"},
    {"info", cmd_info, "CPU features, chosen ISA per kernel, thread count"},
    {"tokenize", cmd_tokenize, "tokenize a corpus; ids count, sha256, token file"},
    {"synth", cmd_synth, "write a random-weight LLaMA-shaped model (HF dir)"},
    {"methods", cmd_methods, "list pruning methods, their statistics and options"},
    {"prune", cmd_prune, "prune a model layer by layer (magnitude, wanda, sparsegpt, ...); write, evaluate, record JSON"},
    {"explain", cmd_explain, "a method's algorithm in words and formulas, its options, its paper"},
    {"sweep", cmd_sweep, "run a grid of prune/eval cells as child processes into DIR/results.jsonl (shards, resume)"},
    {"tasks", cmd_tasks, "zero-shot multiple-choice accuracy as lm-eval-harness scores it (boolq, piqa, ...)"},
    {"report", cmd_report, "tables (md, csv, tex), summary and SVG plots from a sweep folder"},
    {"compress", cmd_compress, "store a pruned model's linears compressed (bitmask, 2:4) for faster CPU decoding"},
    {"decompress", cmd_decompress, "restore the dense model from a compressed one, bit for bit"},
    {"generate", cmd_generate, "generate text with a KV cache (dense or compressed model); --bench for tokens/s"},
    {"convert", cmd_convert, "write a model as a GGUF file for llama.cpp (llama / deci, f32/f16/bf16)"},
};

static void usage(FILE *f) {
    fprintf(f, "cprune %s: prune LLMs and measure what it costs them\n\n"
               "usage: cprune COMMAND [options]   (cprune COMMAND --help or "
               "cprune help COMMAND:\n"
               "       options, defaults, examples)\n\n"
               "commands:\n", CPRUNE_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexamples:\n"
               "  cprune eval --model ../shared/models/stories260K --dataset "
               "tinystories\n"
               "  cprune prune --model M --method wanda --sparsity 0.5 --calib "
               "tinystories --eval tinystories\n"
               "  cprune explain sparsegpt\n"
               "\nenvironment: CPRUNE_DATA (data folder, default ../shared), "
               "CPRUNE_ISA (cap the ISA)\n"
               "exit status: 0 ok, 1 data or environment error, 2 usage "
               "error, 130/143 after SIGINT/SIGTERM\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 && argc == 3) { // cprune help COMMAND
        char help_flag[] = "--help";
        char *hv[] = {help_flag, NULL};
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(argv[2], commands[i].name) == 0)
                return commands[i].fn(1, hv);
        fprintf(stderr, "cprune: unknown command '%s'\n\n", argv[2]);
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cprune %s\n", CPRUNE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "cprune: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
