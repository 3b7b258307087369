#!/usr/bin/env python3
"""front_compare.py TRUTH.log OTHER.log... — how much a front chosen under
another accuracy objective is worth under the trained one.

The logs are `fabc codesign --log` evaluation logs of the same space and
points.  For each OTHER: its Pareto front (by its own accuracy), re-scored
with TRUTH's accuracy, and the hypervolume of that set in TRUTH's box
(the box of fab_cd_hv_ref_from: accuracy and log latency between the
extremes, area from 0, reference point 10 % beyond the worst values), as a
fraction of TRUTH's own front; plus the overlap of the two fronts and the
rank correlation (Spearman) of the two accuracies over the distinct models.
"""
import math
import sys


def read(path):
    rows = {}
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.endswith('\n'):
                continue
            v = line.split()
            rows[int(v[0])] = dict(ok=v[1] == '1', acc=float(v[2]), lat=float(v[3]),
                                   area=float(v[4]), fits=v[8] == '1')
    return rows


def box(rows):
    ok = [r for r in rows.values() if r['ok']]
    alo, ahi = min(r['acc'] for r in ok), max(r['acc'] for r in ok)
    llo, lhi = min(r['lat'] for r in ok), max(r['lat'] for r in ok)
    arhi = max(r['area'] for r in ok)
    alo -= 0.1 * (ahi - alo)
    lhi = math.exp(math.log(lhi) + 0.1 * (math.log(lhi) - math.log(llo)))
    return alo, ahi, llo, lhi, arhi * 1.1


def front(rows, keys):
    c = [k for k in keys if rows[k]['ok'] and rows[k]['fits']]

    def dom(a, b):
        return (a['acc'] >= b['acc'] and a['lat'] <= b['lat'] and a['area'] <= b['area'] and
                (a['acc'] > b['acc'] or a['lat'] < b['lat'] or a['area'] < b['area']))
    f, seen = [], set()
    for k in c:  # one point per objective triple, as fab_cd_pareto
        t = (rows[k]['acc'], rows[k]['lat'], rows[k]['area'])
        if t not in seen and not any(dom(rows[j], rows[k]) for j in c if j != k):
            seen.add(t)
            f.append(k)
    return f


def hv(rows, keys, b):
    alo, ahi, llo, lhi, arhi = b
    cl = lambda v: min(1.0, max(0.0, v))
    pts = [(cl((rows[k]['acc'] - alo) / (ahi - alo)),
            cl((math.log(lhi) - math.log(rows[k]['lat'])) / (math.log(lhi) - math.log(llo))),
            cl((arhi - rows[k]['area']) / arhi)) for k in keys]
    # exact, by slicing along z (as fab_cd_hypervolume): each slab between
    # consecutive z values holds the 2-D staircase of the points above it
    pts.sort(key=lambda p: -p[2])
    vol = 0.0
    for i, p in enumerate(pts):
        znext = pts[i + 1][2] if i + 1 < len(pts) else 0.0
        if znext == p[2]:
            continue
        act = sorted(pts[:i + 1], key=lambda q: -q[0])
        area, ymax = 0.0, 0.0
        for k, q in enumerate(act):
            xnext = act[k + 1][0] if k + 1 < len(act) else 0.0
            ymax = max(ymax, q[1])
            area += (q[0] - xnext) * ymax
        vol += area * (p[2] - znext)
    return vol


def spearman(a, b):
    def rank(v):
        o = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(o):
            j = i
            while j + 1 < len(o) and v[o[j + 1]] == v[o[i]]:
                j += 1
            for t in range(i, j + 1):
                r[o[t]] = (i + j) / 2
            i = j + 1
        return r
    ra, rb = rank(a), rank(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return num / den if den else float('nan')


def main():
    truth = read(sys.argv[1])
    b = box(truth)
    tf = front(truth, truth.keys())
    htrue = hv(truth, tf, b)
    print(f'{sys.argv[1]}: front {len(tf)} points, hypervolume {htrue:.4f}')
    for path in sys.argv[2:]:
        other = read(path)
        keys = [k for k in other if k in truth]
        of = front(other, keys)
        # the other front's points, judged by the trained accuracy
        h = hv(truth, front(truth, of), b)
        models = {}
        for k in keys:
            if truth[k]['ok'] and other[k]['ok']:
                models[(truth[k]['acc'], other[k]['acc'])] = 1
        acc_t = [m[0] for m in models]
        acc_o = [m[1] for m in models]
        print(f'{path}: front {len(of)} points, {len(set(of) & set(tf))} on the trained front; '
              f're-scored hypervolume {h:.4f} = {h / htrue:.3f} of the trained front\'s; '
              f'Spearman over {len(models)} distinct (trained, other) accuracies {spearman(acc_t, acc_o):.3f}')


if __name__ == '__main__':
    main()
