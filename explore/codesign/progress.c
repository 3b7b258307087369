/* progress.c — the progress printer of the command-line tools (fabc
 * sample / codesign).  On a terminal: one line redrawn in
 * place at most five times a second, showing every phase seen so far
 * ("train 7/30  search 150/1000": a search with trained accuracy
 * alternates between the two).  In a log (stderr not a terminal): a line
 * when a phase passes another tenth of its total, so CI logs and `| tail`
 * stay readable.  The line ends when every phase on it is complete; a
 * search may stop before its budget (a small space runs out of new
 * points), so the tools also call fab_cd_progress_end before printing. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codesign.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void fab_cd_progress_stderr(const fab_cd_progress *p, void *user) {
  fab_cd_progress_line *l = user;
  if (!l || l->quiet || !p || !p->phase) return;
  int k = 0;
  while (k < l->nphases && strcmp(l->phases[k].name, p->phase) != 0) k++;
  if (k == l->nphases) {
    if (k == FAB_CD_PROGRESS_PHASES) k = FAB_CD_PROGRESS_PHASES - 1; /* reuse the last slot */
    else l->nphases++;
    snprintf(l->phases[k].name, sizeof l->phases[k].name, "%s", p->phase);
    l->phases[k].last_tenth = -1;
  }
  l->phases[k].done = p->done;
  l->phases[k].total = p->total;
  if (isatty(fileno(stderr))) {
    double t = now_s();
    if (p->done < p->total && t - l->last_draw < 0.2) return;
    l->last_draw = t;
    fputc('\r', stderr);
    for (int i = 0; i < l->nphases; i++)
      fprintf(stderr, "%s%s %lld/%lld", i ? "  " : "", l->phases[i].name, (long long)l->phases[i].done,
              (long long)l->phases[i].total);
    l->open = true;
    bool all_done = true;
    for (int i = 0; i < l->nphases; i++) all_done = all_done && l->phases[i].done >= l->phases[i].total;
    if (all_done) fab_cd_progress_end(l);
  } else {
    int64_t tenth = p->total > 0 ? p->done * 10 / p->total : 10;
    if (tenth == l->phases[k].last_tenth) return;
    l->phases[k].last_tenth = tenth;
    fprintf(stderr, "%s %lld/%lld\n", p->phase, (long long)p->done, (long long)p->total);
  }
  fflush(stderr);
}

void fab_cd_progress_end(fab_cd_progress_line *l) {
  if (!l) return;
  if (l->open) {
    fputc('\n', stderr);
    fflush(stderr);
  }
  l->open = false;
  l->nphases = 0;
}
