// cli/cmd_info.c: `cprune info`: CPU features found, the ISA chosen for
// each kernel, and the thread count.
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/pool.h"
#include "simd/kernels.h"

int cmd_info(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"threads", 1, "threads the pool would use, in [1, 1024] (default: "
                       "all online CPUs)", NULL},
    };
    size_t n_opts = sizeof opts / sizeof opts[0];
    static const char *const examples[] = {
        "cprune info", "CPRUNE_ISA=avx2 cprune info", NULL};
    const struct cli_help help = {
        "cprune info [--threads N]", examples,
        "Shows the CPU features found, the ISA chosen for each kernel slot "
        "(cap it with\nCPRUNE_ISA=scalar|avx2|avx512|neon) and the thread "
        "count."};
    int rc = cli_parse_help(argc, argv, opts, n_opts, "info", &help);
    if (rc) return rc == 1 ? 0 : 2;
    long long threads;
    if (cli_threads_parse("info", cli_get(opts, n_opts, "threads"), &threads))
        return 2;

    const struct cpr_cpu_features *f = cpr_cpu_features();
    const struct cpr_kernels *k = cpr_kernels_get();
    printf("cpu:      %s\n", f->brand[0] ? f->brand : "(unknown)");
    printf("features: avx2+fma+f16c=%s avx512(f,bw,dq,vl)=%s avx512_bf16=%s "
           "neon=%s\n", f->avx2 ? "yes" : "no", f->avx512 ? "yes" : "no",
           f->avx512bf16 ? "yes" : "no", f->neon ? "yes" : "no");
    printf("isa:      %s (best available: %s; cap with CPRUNE_ISA)\n",
           cpr_isa_name(cpr_kernels_isa()),
           cpr_isa_name(cpr_isa_best(CPR_ISA_COUNT - 1)));
    if (cpr_kernels_env_note()[0]) printf("note:     %s\n", cpr_kernels_env_note());
    printf("threads:  %lld (online CPUs: %zu)\n", threads, cpr_cpu_count());
    printf("kernels:\n");
    for (size_t s = 0; s < cpr_kernel_slot_count(); s++)
        printf("  %-22s %s\n", cpr_kernel_slot_names[s],
               cpr_isa_name(k->slot_isa[s]));
    return 0;
}
