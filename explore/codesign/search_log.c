/* search_log.c — the append-only evaluation log of a search: a header
 * naming the space and evaluator, then one line per evaluation.  A
 * stopped run's log is read back (its results cost nothing the second
 * time) and appended to; a torn last line is ignored. */
#include <stdlib.h>
#include <string.h>

#include "search_internal.h"

static void log_line(FILE *f, const fab_cd_result *r) {
  fprintf(f, "%lld %d %.17g %.17g %.17g %.17g %.17g %.17g %d %.17g %.17g %.17g\n",
          (long long)r->key, r->ok, r->accuracy, r->latency_ms, r->area, r->dsp, r->lut, r->bram,
          r->fits, r->perf_per_area, r->params, r->macs);
}

/* Bytes of f up to and including its last '\n': a killed writer's torn
 * last line is cut before appending, so that it cannot merge with the next. */
static long long complete_bytes(FILE *f) {
  rewind(f);
  char buf[1 << 16];
  long long pos = 0, keep = 0;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    const char *nl = memrchr(buf, '\n', n);
    if (nl) keep = pos + (nl - buf) + 1;
    pos += (long long)n;
  }
  return keep;
}

/* One logged evaluation into the cache; false to stop reading. */
static bool read_line(cd_evlog *l, const char *line, const fab_cd_space *s) {
  fab_cd_result r = {0};
  long long key;
  int ok, fits;
  if (sscanf(line, "%lld %d %lf %lf %lf %lf %lf %lf %d %lf %lf %lf", &key, &ok, &r.accuracy, &r.latency_ms,
             &r.area, &r.dsp, &r.lut, &r.bram, &fits, &r.perf_per_area, &r.params, &r.macs) != 12)
    return false;
  r.key = key, r.ok = ok, r.fits = fits;
  if (key < 0 || key >= fab_cd_space_size(s) || cd_keymap_find(&l->map, key) >= 0) return true;
  if (l->ncache == l->cache_cap) {
    int64_t nc = l->cache_cap ? 2 * l->cache_cap : 1024;
    fab_cd_result *nr = realloc(l->cache, sizeof *nr * (size_t)nc);
    if (!nr) return false;
    l->cache = nr, l->cache_cap = nc;
  }
  l->cache[l->ncache] = r;
  if (!cd_keymap_put(&l->map, key, l->ncache)) return false;
  l->ncache++;
  return true;
}

bool cd_evlog_open(cd_evlog *l, const char *path, const fab_cd_space *s, const fab_cd_evaluator *e,
                   bool writer, fab_diag *d) {
  char header[256]; /* the old tool's name stays: logs written before still resume */
  snprintf(header, sizeof header, "# fab-codesign-log v1 space=%s size=%lld evaluator=%s\n", s->name,
           (long long)fab_cd_space_size(s), fab_cd_evaluator_name(e));
  FILE *f = fopen(path, "r");
  if (f) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    if (len > 0 && strcmp(line, header)) {
      fab_error(d, (fab_loc){0}, "evaluation log '%s' belongs to another run (%.*s); use a new file", path,
                (int)(len - 1), line);
      free(line);
      fclose(f);
      return false;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
      if (line[len - 1] != '\n') break; /* torn write */
      if (!read_line(l, line, s)) break;
    }
    free(line);
  }
  long long keep = f ? complete_bytes(f) : 0;
  if (f) fclose(f);
  if (!writer) return true;
  char err[512];
  if (!(l->logf = fab_log_open(path, keep, err, sizeof err))) {
    fab_error(d, (fab_loc){0}, "cannot append to the evaluation log: %s", err);
    return false;
  }
  l->f = fab_log_file(l->logf);
  if (keep == 0) fputs(header, l->f);
  return true;
}

const fab_cd_result *cd_evlog_find(const cd_evlog *l, int64_t key) {
  int64_t c = cd_keymap_find(&l->map, key);
  return c >= 0 ? &l->cache[c] : NULL;
}

void cd_evlog_append(cd_evlog *l, const fab_cd_result *r) {
  if (l->f) log_line(l->f, r);
}

bool cd_evlog_flush(cd_evlog *l, fab_diag *d) {
  if (!l->f || fflush(l->f) == 0) return true;
  /* cd_evlog_close names the file and the error */
  fab_error(d, (fab_loc){0}, "the search stopped: the evaluation log could not be written");
  return false;
}

bool cd_evlog_close(cd_evlog *l, fab_diag *d) {
  char err[512];
  bool ok = true;
  if (l->logf && fab_log_close(l->logf, err, sizeof err) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", err);
    ok = false;
  }
  cd_keymap_free(&l->map);
  free(l->cache);
  memset(l, 0, sizeof *l);
  return ok;
}
