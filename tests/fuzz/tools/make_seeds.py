#!/usr/bin/env python3
"""make_seeds.py OUTDIR KIND — writes small valid seed inputs (no numpy).

KIND tensors: safetensors files of every dtype the reader takes and .npy
files (format 1.0/2.0/3.0, every dtype, rank 0..3).
KIND runtime: inputs for fuzz_runtime.c (descriptor bytes + safetensors).
"""
import json, os, struct, sys

DT = {"F32": ("<f4", 4, "f"), "F16": ("<f2", 2, "e"), "BF16": (None, 2, None),
      "F64": ("<f8", 8, "d"), "I32": ("<i4", 4, "i"), "I64": ("<i8", 8, "q")}

def payload(dt, n):
    size = DT[dt][1]
    if dt == "BF16":
        return b"".join(struct.pack("<H", (0x3f80 + i) & 0xffff) for i in range(n))
    return b"".join(struct.pack("<" + DT[dt][2], i % 3) for i in range(n))

def safetensors(tensors, meta=None):
    hdr, data = {}, b""
    if meta:
        hdr["__metadata__"] = meta
    for name, dt, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        p = payload(dt, n)
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(p)]}
        data += p
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data

def npy(dt, shape, version=1, fortran=False):
    descr = DT[dt][0]
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False",
        "".join("%d," % d for d in shape) if len(shape) == 1 else ", ".join(str(d) for d in shape))
    lenfmt = "<H" if version == 1 else "<I"
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(hdr) + 1) % 64) % 64
    hdr = hdr + " " * pad + "\n"
    n = 1
    for d in shape:
        n *= d
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(lenfmt, len(hdr)) + hdr.encode() + payload(dt, n)

def tensors(out):
    files = {
        "empty.safetensors": safetensors([]),
        "meta.safetensors": safetensors([("w", "F32", [2, 3])], {"format": "pt"}),
        "all_dtypes.safetensors": safetensors([(f"t_{d.lower()}", d, [2, 2]) for d in DT]),
        "scalar.safetensors": safetensors([("s", "F32", [])]),
        "zero_dim.safetensors": safetensors([("z", "F32", [0, 4])]),
        "rank8.safetensors": safetensors([("r", "F16", [1, 2, 1, 2, 1, 1, 2, 1])]),
        "names.safetensors": safetensors([("layers.0.ffn.fc1.twiddle", "F32", [1, 1, 2, 2, 2, 2]),
                                          ("tokens", "I64", [4])]),
    }
    for i, d in enumerate(DT):
        if DT[d][0]:
            for v in (1, 2, 3):
                files[f"{d.lower()}_v{v}.npy"] = npy(d, [2, 3], v)
    files["scalar.npy"] = npy("F32", [])
    files["vec.npy"] = npy("I64", [5])
    files["fortran.npy"] = npy("F64", [2, 2], 1, True)
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

def tdesc(name, dtype, dims, nbytes=0):
    b = bytes([len(name)]) + name.encode() + bytes([dtype & 0xff, len(dims) & 0xff])
    return b + bytes(dims) + bytes([nbytes])

def runtime(out):
    w = safetensors([("w", "F32", [2, 3]), ("b", "F16", [3]), ("x", "F32", [4]), ("ids", "I64", [2])])
    seeds = {
        # 1 input, 1 output, 2 weights, flags 0
        "ok.bin": bytes([1, 1, 2, 0]) + tdesc("x", 0, [4]) + tdesc("y", 0, [3]) +
                  tdesc("w", 0, [2, 3]) + tdesc("b", 0, [3]) + w,
        "ids.bin": bytes([1, 1, 0, 0x40]) + tdesc("ids", 3, [2]) + tdesc("y", 0, [2]) + w,
        "token_err.bin": bytes([1, 1, 0, 0x80]) + tdesc("x", 0, [4]) + tdesc("y", 0, [1]) + w,
        "missing.bin": bytes([0, 1, 1, 0]) + tdesc("y", 0, [1]) + tdesc("nope", 0, [1]) + w,
        "shape.bin": bytes([0, 0, 1, 0]) + tdesc("w", 0, [3, 2]) + w,
        "absurd.bin": bytes([0, 1, 0, 0]) + tdesc("y", 0, [0xf3, 0xf3]) + w,
        "badmagic.bin": bytes([0, 0, 0, 1]) + w,
        "scratch.bin": bytes([0, 0, 0, 0x60]) + w,
        "noweights.bin": bytes([0, 0, 0, 0]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    {"tensors": tensors, "runtime": runtime}[sys.argv[2]](sys.argv[1])
