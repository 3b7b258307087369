/* fab_out.h — the one way fabc writes files.
 *
 * Two kinds of output:
 *
 *  - a file that replaces another (IR, .so/.o/.ll/.s/.h, .fbin, tensors,
 *    traces, CSV fronts, SVG plots, predictors): fab_out.  Everything goes
 *    to a temporary `.NAME.fabc-tmp.PID.N` in the destination's folder;
 *    every write is checked; fab_out_commit flushes, fsyncs, closes and
 *    renames it over NAME.  Readers see the old file or the whole new one,
 *    never a torn one, whatever happens (a full disk, a signal, a kill).
 *
 *  - an append-only log that a stopped run resumes from (`fabc sample -o`,
 *    `codesign --log`): fab_log.  Every write is checked; after a failed
 *    one the file is cut back to its last complete line, every later
 *    write fails, and fab_log_close reports the failure.
 *
 * Temporaries are removed on every error, on SIGINT/SIGTERM/SIGHUP once a
 * program called fab_out_cleanup_on_signals(), and — for those left by a
 * killed process — by the next fab_out_open of the same NAME (only when
 * the PID in their name is no longer running).
 *
 * Messages name the destination ("m.so: write failed: No space left on
 * device (old file left untouched)"). */
#ifndef FAB_OUT_H
#define FAB_OUT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "fab_tensor.h" /* fab_status */

/* ---- files replaced atomically ------------------------------------------- */

typedef struct fab_out fab_out;

/* Creates the temporary for `path`.  NULL (message in err) when the folder
 * is missing or not writable, or the name is too long. */
fab_out *fab_out_open(const char *path, char *err, size_t errlen);
/* Like fab_out_open, for a file another program writes (the linker): the
 * temporary's name is reserved and cleaned up like any other, but nothing
 * is written through the fab_out; fab_out_commit fsyncs what the program
 * left there. */
fab_out *fab_out_reserve(const char *path, char *err, size_t errlen);
/* The temporary's path (for another program to write or read). */
const char *fab_out_temp_path(const fab_out *o);
/* A stdio stream onto the temporary; every write it makes is checked (a
 * failure is reported by fab_out_commit).  Do not fclose it. */
FILE *fab_out_file(fab_out *o);
/* Direct writes: false after the first failure (reported by commit). */
bool fab_out_write(fab_out *o, const void *data, size_t len);
bool fab_out_printf(fab_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes the temporary complete (flush, fsync) without renaming it: for a
 * file another program reads before commit or abort. */
fab_status fab_out_flush(fab_out *o, char *err, size_t errlen);
/* Flush, fsync, close, rename over the destination, fsync the folder.
 * Frees o.  On failure the temporary is removed and the old file is
 * untouched. */
fab_status fab_out_commit(fab_out *o, char *err, size_t errlen);
/* Removes the temporary and frees o (NULL is fine). */
void fab_out_abort(fab_out *o);

/* ---- append-only logs ------------------------------------------------------ */

typedef struct fab_log fab_log;

/* Opens `path` for appending, creating it if missing.  keep >= 0 first cuts
 * the file to `keep` bytes (0: start over; the complete lines of a stopped
 * run: drop its torn tail); keep < 0 keeps it whole. */
fab_log *fab_log_open(const char *path, long long keep, char *err, size_t errlen);
/* The stream to write lines to.  A write that fails cuts the file back to
 * its last '\n', and every later write fails too: fflush() on it returns
 * EOF from then on.  Do not fclose it. */
FILE *fab_log_file(fab_log *l);
/* Flush, fsync, close; frees l.  FAB_E_IO (message naming the file) when
 * any write failed.  A log created by fab_log_open that holds nothing is
 * removed. */
fab_status fab_log_close(fab_log *l, char *err, size_t errlen);

/* ---- signals ----------------------------------------------------------------- */

/* Installs handlers for SIGINT, SIGTERM and SIGHUP (not for one that is
 * ignored, e.g. under nohup) that remove every temporary being written,
 * terminate a child registered with fab_out_track_child, and then die of
 * the same signal.  For programs (the fabc driver), not libraries. */
void fab_out_cleanup_on_signals(void);
/* A child process writing one of our temporaries (the C compiler driver
 * that runs the linker), leader of its own process group: a signal handler
 * sends SIGTERM to that group and waits for the child before removing the
 * temporaries. */
void fab_out_track_child(pid_t pid);
void fab_out_untrack_child(pid_t pid);

/* ---- test hook: injected I/O failures -------------------------------------------
 * The k-th operation of a kind (counted from process start, 1-based) fails
 * with ENOSPC (EIO for fsync/close).  Set by fab_io_fail_at, or by the
 * environment variable FABC_TEST_IO_FAIL=KIND:K (KIND: open, write, sync,
 * close, rename, any) read at the first operation.  It only makes writes
 * fail; it never changes what is written. */
typedef enum fab_io_op {
  FAB_IO_OPEN,
  FAB_IO_WRITE,
  FAB_IO_SYNC,
  FAB_IO_CLOSE,
  FAB_IO_RENAME,
  FAB_IO_ANY, /* counts every operation above */
  FAB_IO_NKINDS
} fab_io_op;
void fab_io_fail_at(fab_io_op op, long k); /* k = 0: never */

#endif /* FAB_OUT_H */
