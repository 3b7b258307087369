/* frontend.h — the fab language front end: .fab source to high-level IR.
 *
 * The language is described in docs/language.md.  The front end parses
 * one file (and the files it imports), checks names, dtypes and shapes,
 * and elaborates the model into one fully unrolled function "main" whose
 * parameters carry their PyTorch state_dict names.
 */
#ifndef FAB_FRONTEND_H
#define FAB_FRONTEND_H

#include "ir.h"

typedef struct fab_define {
  const char *name;
  int64_t value;
} fab_define; /* -D name=value */

typedef struct fab_frontend_options {
  const fab_define *defines;
  int ndefines;
  /* for import "x.fab", searched after the importing file's folder and
   * before fabc's data folder (the block library; fab_datadir.h) */
  const char *const *include_dirs;
  int ninclude_dirs;
} fab_frontend_options;

/* Parse, check and elaborate a .fab file into a high-level IR module (one
 * function "main", fully unrolled).  NULL after reporting every error
 * found.  `opt` may be NULL. */
fab_module *fab_frontend_compile_file(const char *path, const fab_frontend_options *opt,
                                      fab_diag *d);
fab_module *fab_frontend_compile_string(const char *name, const char *text, size_t len,
                                        const fab_frontend_options *opt, fab_diag *d);

/* A model file: FILE.fir through the IR parser and the verifier (`opt` is
 * not used), anything else as .fab through the front end. */
fab_module *fab_load_model_file(const char *path, const fab_frontend_options *opt, fab_diag *d);

#endif /* FAB_FRONTEND_H */
