/* commands.c — the table of subcommands, in the order `fabc --help` lists them. */
#include "cli.h"

extern const cli_cmd cmd_check, cmd_emit, cmd_run, cmd_stats, cmd_opt, cmd_init, cmd_compare;

const cli_cmd *const cli_commands[] = {&cmd_check, &cmd_emit, &cmd_opt, &cmd_run, &cmd_stats, &cmd_init, &cmd_compare};
const int cli_ncommands = sizeof cli_commands / sizeof *cli_commands;
