"""python -m fabc: a few of the CLI's commands from Python.

  python -m fabc run FILE.fab [--backend interp|cpu|fpga] [-D N=V] [-I DIR]
                  [--weights W] [--input I | seeded inputs] [--seed N] [--accel C] [-o OUT]
  python -m fabc stats FILE.fab [-D N=V] [-I DIR] [--json]
  python -m fabc sim FILE.fab --accel C [--weights W] [--input I] [-o OUT]   (report as JSON)

Errors print fabc's diagnostics and exit 1, like `fabc`.
"""
import argparse
import json
import sys

import numpy as np

from . import Error, compile, load_tensors, save_tensors, stats, targets


def _defines(items):
    out = {}
    for s in items or []:
        name, eq, value = s.partition("=")
        try:
            out[name] = int(value, 0)
        except ValueError:
            raise Error("-D expects NAME=INTEGER, got '%s'" % s)
        if not eq or not name:
            raise Error("-D expects NAME=INTEGER, got '%s'" % s)
    return out


def _inputs(m, path, seed):
    if path:
        return load_tensors(path)
    # Seeded inputs of the declared shapes (not the CLI's generator: give
    # --input to compare with `fabc run`).
    rng = np.random.default_rng(seed)
    out = {}
    for name, spec in m.inputs.items():
        if spec.dtype == "int32":
            out[name] = rng.integers(0, 2, size=spec.shape).astype(np.int32)
        else:
            out[name] = rng.standard_normal(spec.shape).astype(np.float32)
    return out


def _model(a, target):
    m = compile(a.file, target=target, defines=_defines(a.D), include=a.I, accel=a.accel)
    if a.weights:
        m.load_weights(a.weights)
    else:
        m.init_weights(a.seed)
    return m


def _print_outputs(outs, path):
    if path:
        save_tensors(path, outs)
        return
    for k, v in outs.items():
        flat = v.reshape(-1)[:8]
        print("%s: %s%s = %s%s" % (k, v.dtype, list(v.shape), " ".join("%.6g" % x for x in flat),
                                   " ..." if v.size > 8 else ""))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fabc", description="fabc from Python (run, stats, sim)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("run", "stats", "sim"):
        s = sub.add_parser(name)
        s.add_argument("file")
        s.add_argument("-D", action="append", metavar="NAME=VALUE")
        s.add_argument("-I", action="append", metavar="DIR")
        if name == "stats":
            s.add_argument("--json", action="store_true")
            continue
        s.add_argument("--weights")
        s.add_argument("--input")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--accel")
        s.add_argument("-o", dest="out")
        if name == "run":
            s.add_argument("--backend", default="interp", choices=tuple(targets()))
    a = p.parse_args(argv)
    try:
        if a.cmd == "stats":
            st = stats(a.file, defines=_defines(a.D), include=a.I)
            if a.json:
                print(json.dumps(st, indent=1))
            else:
                for layer in st.get("layers", []):
                    print("%-32s %-12s params %10d  MACs %12d" % (layer["name"], layer["kind"], layer["params"],
                                                                 layer["macs"]))
                t = st["total"]
                print("%-45s params %10d  MACs %12d" % ("total", t["params"], t["macs"]))
        elif a.cmd == "run":
            m = _model(a, a.backend)
            ins = _inputs(m, a.input, a.seed)
            _print_outputs(m.simulate(**ins) if m.simulates else m(**ins), a.out)
        else:
            m = _model(a, next(t for t, simulated in targets().items() if simulated))
            outs, rep = m.simulate(report=True, **_inputs(m, a.input, a.seed))
            if a.out:
                save_tensors(a.out, outs)
            print(json.dumps({k: v for k, v in rep.items() if k != "text"}, indent=1))
    except Error as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
