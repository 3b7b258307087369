/* commands.c — the table of subcommands, in the order `fabc --help` lists them. */
#include "cli.h"

extern const cli_cmd cmd_check, cmd_emit, cmd_opt, cmd_build, cmd_run, cmd_stats, cmd_init, cmd_compare,
    cmd_objdump, cmd_as, cmd_sim, cmd_resources, cmd_train, cmd_eval, cmd_proxy, cmd_select,
    cmd_sample, cmd_predictor, cmd_predict, cmd_codesign;

const cli_cmd *const cli_commands[] = {
    &cmd_check, &cmd_emit, &cmd_opt, &cmd_build, &cmd_run,       &cmd_stats,
    &cmd_init,  &cmd_compare, &cmd_objdump, &cmd_as, &cmd_sim, &cmd_resources, &cmd_train, &cmd_eval, &cmd_proxy, &cmd_select, &cmd_sample, &cmd_predictor, &cmd_predict, &cmd_codesign,
};
const int cli_ncommands = sizeof cli_commands / sizeof *cli_commands;
