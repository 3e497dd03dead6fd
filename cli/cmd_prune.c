// cli/cmd_prune.c: `cprune prune`: prune a model with a registered method
// on the layer-wise pipeline (methods/pipeline.h), then optionally write it
// (a Hugging Face directory, or a llama2.c checkpoint), evaluate it and
// record everything as JSON. The steps live in one file each (cli/prune.h):
// parse (prune_args.c), validate before any weight is read (prune_check.c),
// run (prune_exec.c), report (prune_report.c, prune_json.c).
//
// Exit status: 0 ok, 1 data or environment error, 2 usage error (message
// on stderr), 130/143 after SIGINT/SIGTERM (temporary files removed).
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/prune.h"
#include "cli/prune_depth.h"
#include "cli/prune_llmp.h"
#include "cli/prune_struct.h"
#include "data/model_load.h"

int cmd_prune(int argc, char **argv) {
    if (prune_struct_wanted(argc, argv)) return prune_struct_main(argc, argv);
    if (prune_depth_wanted(argc, argv)) return prune_depth_main(argc, argv);
    if (prune_llmp_wanted(argc, argv)) return prune_llmp_main(argc, argv);
    struct prune_run run;
    struct cpr_model model;
    struct cpr_tokenizer tok;
    memset(&run, 0, sizeof run);
    memset(&model, 0, sizeof model);
    memset(&tok, 0, sizeof tok);
    int rc = prune_parse_args(argc, argv, &run);
    if (rc == 1) rc = 0; // --help
    else if (rc == 0) {
        cli_interrupt_install("prune");
        rc = prune_validate(&run, &model, &tok);
        if (rc == 0) rc = prune_execute(&run, &model, &tok);
        else if (rc == -1) rc = 0; // --plan
    }
    cpr_pipe_report_free(&run.rep);
    cpr_calib_windows_free(&run.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&model);
    if (run.method_state) run.method->free((void *)run.method_state);
    free(run.extra);
    return rc;
}
