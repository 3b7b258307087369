/* pareto.c — the Pareto front over up to three objectives (accuracy up,
 * latency and area down), its hypervolume, constrained queries, CSV and
 * SVG output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codesign.h"

static bool candidate(const fab_cd_result *r, unsigned front) {
  return r->ok && (!(front & FAB_CD_FRONT_FIT) || r->fits);
}


typedef struct srt {
  double acc, lat, area;
  int64_t i;
} srt;

static int cmp_srt(const void *a, const void *b) {
  const srt *x = a, *y = b;
  if (x->acc != y->acc) return x->acc > y->acc ? -1 : 1;
  if (x->lat != y->lat) return x->lat < y->lat ? -1 : 1;
  if (x->area != y->area) return x->area < y->area ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}
static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sweep in (accuracy desc, latency asc, area asc) order: every earlier
 * point is at least as accurate, so a point is dominated iff an earlier
 * one has latency <= and area <= (exact duplicates: the first is kept).
 * A Fenwick tree over the distinct areas keeps the prefix minimum of
 * latency: O(n log n). */
int fab_cd_pareto(const fab_cd_result *r, int64_t n, unsigned front, int64_t **idx) {
  *idx = NULL;
  int64_t m = 0;
  srt *s = malloc(sizeof *s * (size_t)(n + 1));
  double *areas = malloc(sizeof(double) * (size_t)(n + 1));
  if (!s || !areas) {
    free(s);
    free(areas);
    return 0;
  }
  /* an objective that does not count is the same for every point */
  unsigned obj = fab_cd_objectives_of(front);
  for (int64_t i = 0; i < n; i++)
    if (candidate(&r[i], front)) {
      s[m] = (srt){obj & FAB_CD_OBJ_ACCURACY ? r[i].accuracy : 0, obj & FAB_CD_OBJ_LATENCY ? r[i].latency_ms : 0,
                   obj & FAB_CD_OBJ_AREA ? r[i].area : 0, i};
      areas[m] = s[m].area;
      m++;
    }
  qsort(s, (size_t)m, sizeof *s, cmp_srt);
  qsort(areas, (size_t)m, sizeof(double), cmp_dbl);
  int64_t na = 0;
  for (int64_t i = 0; i < m; i++)
    if (!na || areas[na - 1] != areas[i]) areas[na++] = areas[i];
  double *fen = malloc(sizeof(double) * (size_t)(na + 1));
  int64_t *out = malloc(sizeof(int64_t) * (size_t)(m + 1));
  int nf = 0;
  if (fen && out) {
    for (int64_t i = 0; i <= na; i++) fen[i] = INFINITY;
    for (int64_t k = 0; k < m; k++) {
      /* rank of the area (1-based) */
      int64_t lo = 0, hi = na - 1;
      while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (areas[mid] < s[k].area) lo = mid + 1;
        else hi = mid;
      }
      int64_t rank = lo + 1;
      double best = INFINITY;
      for (int64_t q = rank; q > 0; q -= q & -q) best = fmin(best, fen[q]);
      if (!(best <= s[k].lat)) out[nf++] = s[k].i;
      for (int64_t q = rank; q <= na; q += q & -q) fen[q] = fmin(fen[q], s[k].lat);
    }
  }
  free(fen);
  free(s);
  free(areas);
  *idx = out;
  return nf;
}

void fab_cd_hv_ref_from(const fab_cd_result *r, int64_t n, fab_cd_hv_ref *ref) {
  ref->acc_lo = INFINITY, ref->acc_hi = -INFINITY, ref->lat_lo = INFINITY, ref->lat_hi = 0;
  ref->area_hi = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!r[i].ok) continue;
    ref->acc_lo = fmin(ref->acc_lo, r[i].accuracy);
    ref->acc_hi = fmax(ref->acc_hi, r[i].accuracy);
    ref->lat_lo = fmin(ref->lat_lo, r[i].latency_ms);
    ref->lat_hi = fmax(ref->lat_hi, r[i].latency_ms);
    ref->area_hi = fmax(ref->area_hi, r[i].area);
  }
  if (!(ref->acc_hi > ref->acc_lo)) ref->acc_hi = ref->acc_lo + 1;
  if (!(ref->lat_hi > ref->lat_lo)) ref->lat_hi = ref->lat_lo * 2 + 1e-9;
  if (!(ref->area_hi > 0)) ref->area_hi = 1;
  /* the reference point lies 10% beyond the worst values, so that extreme
   * points (and spaces with a single accelerator) still add volume */
  ref->acc_lo -= 0.1 * (ref->acc_hi - ref->acc_lo);
  ref->lat_hi = exp(log(ref->lat_hi) + 0.1 * (log(ref->lat_hi) - log(ref->lat_lo)));
  ref->area_hi *= 1.1;
}

typedef struct p3 {
  double x, y, z;
} p3;
static int cmp_z_desc(const void *a, const void *b) {
  double x = ((const p3 *)a)->z, y = ((const p3 *)b)->z;
  return (x < y) - (x > y);
}
static int cmp_x_desc(const void *a, const void *b) {
  double x = ((const p3 *)a)->x, y = ((const p3 *)b)->x;
  return (x < y) - (x > y);
}

static double clamp01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }

/* Exact 3-D hypervolume by slicing along z: between consecutive z levels
 * the dominated region is the 2-D union of the points with z >= level. */
double fab_cd_hypervolume(const fab_cd_result *r, int64_t n, unsigned front, const fab_cd_hv_ref *ref) {
  int64_t *idx;
  int nf = fab_cd_pareto(r, n, front, &idx);
  unsigned obj = fab_cd_objectives_of(front);
  if (nf == 0) {
    free(idx);
    return 0;
  }
  p3 *p = malloc(sizeof *p * (size_t)nf), *act = malloc(sizeof *p * (size_t)nf);
  double hv = 0;
  if (p && act) {
    double llo = log(ref->lat_lo), lhi = log(ref->lat_hi);
    for (int i = 0; i < nf; i++) {
      const fab_cd_result *q = &r[idx[i]];
      /* an objective that does not count spans the whole box */
      p[i].x = obj & FAB_CD_OBJ_ACCURACY ? clamp01((q->accuracy - ref->acc_lo) / (ref->acc_hi - ref->acc_lo)) : 1;
      p[i].y = obj & FAB_CD_OBJ_LATENCY ? clamp01((lhi - log(q->latency_ms)) / (lhi - llo)) : 1;
      p[i].z = obj & FAB_CD_OBJ_AREA ? clamp01((ref->area_hi - q->area) / ref->area_hi) : 1;
    }
    qsort(p, (size_t)nf, sizeof *p, cmp_z_desc);
    int na = 0;
    for (int i = 0; i < nf; i++) {
      act[na++] = p[i];
      double znext = i + 1 < nf ? p[i + 1].z : 0;
      if (p[i].z == znext && i + 1 < nf) continue;
      qsort(act, (size_t)na, sizeof *act, cmp_x_desc);
      double area2 = 0, ymax = 0;
      for (int k = 0; k < na; k++) {
        double xnext = k + 1 < na ? act[k + 1].x : 0;
        ymax = fmax(ymax, act[k].y);
        area2 += (act[k].x - xnext) * ymax;
      }
      hv += area2 * (p[i].z - znext);
    }
  }
  free(p);
  free(act);
  free(idx);
  return hv;
}

int64_t fab_cd_best_constrained(const fab_cd_result *r, int64_t n, double max_latency_ms, unsigned front) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; i++) {
    if (!candidate(&r[i], front) || (max_latency_ms > 0 && r[i].latency_ms > max_latency_ms))
      continue;
    if (best < 0 || r[i].accuracy > r[best].accuracy ||
        (r[i].accuracy == r[best].accuracy && r[i].latency_ms < r[best].latency_ms))
      best = i;
  }
  return best;
}

bool fab_cd_write_csv(const fab_cd_space *s, const fab_cd_result *r, int64_t n, const int64_t *idx,
                      int nidx, FILE *out) {
  fprintf(out, "key,accuracy,latency_ms,area,dsp,lut,bram36,fits,perf_per_area,params,macs,point\n");
  int64_t cnt = idx ? nidx : n;
  for (int64_t k = 0; k < cnt; k++) {
    const fab_cd_result *q = &r[idx ? idx[k] : k];
    fab_cd_point p;
    char buf[512];
    fab_cd_point_decode(s, q->key, &p);
    fprintf(out, "%lld,%.6f,%.6g,%.6f,%.0f,%.0f,%.1f,%d,%.6g,%.0f,%.0f,\"%s\"\n", (long long)q->key,
            q->accuracy, q->latency_ms, q->area, q->dsp, q->lut, q->bram, q->fits,
            q->perf_per_area, q->params, q->macs, fab_cd_point_str(s, &p, buf, sizeof buf));
  }
  return !ferror(out);
}

/* Log-latency x axis, accuracy y axis; at most 20000 background dots
 * (every k-th) so that exhaustive runs still give a small file. */
bool fab_cd_write_svg(const fab_cd_result *r, int64_t n, const int64_t *front, int nfront,
                      const char *title, FILE *out) {
  fab_cd_hv_ref ref;
  fab_cd_hv_ref_from(r, n, &ref);
  const double W = 720, H = 480, L = 80, R = 20, T = 40, B = 60;
  double llo = log10(ref.lat_lo), lhi = log10(ref.lat_hi);
  if (lhi - llo < 1e-9) lhi = llo + 1;
#define X(lat) (L + (log10(lat) - llo) / (lhi - llo) * (W - L - R))
#define Y(acc) (H - B - ((acc) - ref.acc_lo) / (ref.acc_hi - ref.acc_lo) * (H - T - B))
  fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"white\"/>\n", W, H);
  fprintf(out, "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", W / 2,
          title ? title : "Pareto front");
  fprintf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
  fprintf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
  for (int d = (int)floor(llo); d <= (int)ceil(lhi); d++)
    for (int m = 1; m <= 9; m += (m == 1 ? 1 : 3)) {
      double v = pow(10, d) * m;
      if (log10(v) < llo || log10(v) > lhi) continue;
      fprintf(out, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"black\"/>"
                   "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n",
              X(v), H - B, X(v), H - B + 5, X(v), H - B + 18, v);
    }
  for (int k = 0; k <= 5; k++) {
    double a = ref.acc_lo + (ref.acc_hi - ref.acc_lo) * k / 5;
    fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"black\"/>"
                 "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n",
            L - 5, Y(a), L, Y(a), L - 8, Y(a) + 4, a);
  }
  fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">FPGA latency (ms, log scale)</text>\n",
          (L + W - R) / 2, H - 20);
  fprintf(out, "<text x=\"18\" y=\"%.0f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.0f)\">"
               "accuracy</text>\n", (T + H - B) / 2, (T + H - B) / 2);
  int64_t step = n > 20000 ? n / 20000 : 1;
  fprintf(out, "<g fill=\"#bbbbbb\">\n");
  for (int64_t i = 0; i < n; i += step)
    if (r[i].ok)
      fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.5\"/>\n", X(r[i].latency_ms), Y(r[i].accuracy));
  fprintf(out, "</g>\n<g fill=\"#d62728\">\n");
  for (int k = 0; k < nfront; k++)
    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", X(r[front[k]].latency_ms),
            Y(r[front[k]].accuracy));
  fprintf(out, "</g>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">red: Pareto front (accuracy, latency, "
               "area)</text>\n</svg>\n", L + 10, T + 14);
#undef X
#undef Y
  return !ferror(out);
}
