/* cd_acc.h — internal: the evaluator's per-model accuracy cache
 * (acc_cache.c) and helpers of accuracy.c.  Not part of the public API. */
#ifndef FAB_CD_ACC_H
#define FAB_CD_ACC_H

#include "codesign.h"

typedef struct cd_acc cd_acc;

/* Resolves AUTO, reads the cache file; NULL + message on error. */
cd_acc *cd_acc_new(const fab_cd_space *s, const fab_cd_eval_options *o, fab_diag *d);
void cd_acc_free(cd_acc *a);
fab_cd_acc_kind cd_acc_kind(const cd_acc *a);
/* "trained(listops,seq32,w/8,300x32,seed1)", "proxy", "standin". */
const char *cd_acc_label(const cd_acc *a);
/* The accuracy of model `model_index` (knobs `m`); thread safe.  A model
 * being scored by another thread is waited for, not scored twice. */
bool cd_acc_get(cd_acc *a, int64_t model_index, const fab_cd_model *m, double *acc, fab_diag *d);
void cd_acc_stats(const cd_acc *a, int64_t *computed, int64_t *cached, double *seconds);

void cd_train_fill(fab_cd_train_options *o);
bool cd_have_train(void);
bool cd_have_proxy(void);

#endif /* FAB_CD_ACC_H */
