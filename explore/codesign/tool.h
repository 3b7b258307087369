/* tool.h — internal to the fab-codesign driver: the accuracy options and
 * the `accuracy` command (tool_acc.c). */
#ifndef FAB_CD_TOOL_H
#define FAB_CD_TOOL_H

#include "codesign.h"

/* --accuracy auto|trained|proxy|standin (or --proxy), --acc-cache FILE,
 * --auto-max-models N, --train-steps N, --train-seq S, --train-width-div K,
 * --train-task listops|parity|majority, --train-depth D, --train-lr LR,
 * --train-batch B, --train-samples N (and N/4 held out). */
bool tool_eval_options(int argc, char **argv, fab_cd_eval_options *eo, fab_cd_progress_fn progress,
                       fab_diag *d);
/* "accuracy model+trained(...): N models scored (s each), M from the cache". */
void tool_print_acc_stats(const fab_cd_evaluator *e);
int tool_cmd_accuracy(int argc, char **argv, fab_cd_progress_fn progress, fab_diag *d);
/* The decimal integer after option `name` (`dflt` if absent) in [lo, hi];
 * otherwise a message and exit 2 (the driver's usage error). */
int64_t tool_int(int argc, char **argv, const char *name, const char *dflt, int64_t lo, int64_t hi);

#endif /* FAB_CD_TOOL_H */
