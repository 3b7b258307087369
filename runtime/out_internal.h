/* out_internal.h — what out.c and out_log.c share with out_sys.c (not
 * installed): checked system calls that honour the fault-injection hook,
 * the registry of temporaries the signal handlers remove, and temporary
 * names. */
#ifndef FAB_OUT_INTERNAL_H
#define FAB_OUT_INTERNAL_H

#include "fab_out.h"

/* Each returns 0 or an errno value (an injected failure included). */
int fab_io_open(const char *path, int flags, int *fd);
int fab_io_write_all(int fd, const void *data, size_t len);
int fab_io_fsync(int fd);
int fab_io_close(int fd);
int fab_io_rename(const char *from, const char *to);
/* Best effort: makes a rename in path's folder durable. */
void fab_io_sync_parent(const char *path);

/* Registers a temporary (before it is created) so that a signal handler
 * removes it: the slot, or -1 when the path is too long or the table is
 * full (errno set). */
int fab_tmp_claim(const char *path);
/* Forgets the slot (after the temporary was renamed or removed). */
void fab_tmp_release(int slot);

/* A new temporary name for `path` (malloc'ed, NULL: out of memory):
 * DIR/.BASE.fabc-tmp.PID.SEQ.  First removes the temporaries of `path`
 * left by processes that are no longer running. */
char *fab_tmp_name(const char *path);

#endif /* FAB_OUT_INTERNAL_H */
