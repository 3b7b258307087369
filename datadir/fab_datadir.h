/* fab_datadir.h — where fabc finds the data it ships: the block library
 * (`import "lib/blocks.fab";`) and the accelerator configurations
 * (`--accel NAME` = configs/NAME.json).
 *
 * An installed fabc finds them relative to its own executable, in
 * <exe dir>/../share/fabc (lib/blocks.fab and configs/NAME.json), so an install
 * prefix can be moved as a whole.  A program that runs from the build tree
 * (no share/fabc beside it) uses the source tree instead: examples/ for
 * imports, configs/ for configurations.  No environment variable is read.
 */
#ifndef FAB_DATADIR_H
#define FAB_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  FAB_DATA_IMPORTS, /* the folder `import` paths resolve against (holds lib/) */
  FAB_DATA_CONFIGS, /* the folder holding the accelerator configurations */
} fab_data_kind;

/* Writes the folder holding fabc's data of `kind` into buf (no trailing
 * slash).  False, with buf = "", if there is none (or it does not fit). */
bool fab_data_dir(fab_data_kind kind, char *buf, size_t len);

#endif /* FAB_DATADIR_H */
