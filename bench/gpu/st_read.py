"""Reads a safetensors file into numpy arrays: with HF `safetensors` where installed (reading ActorLab's files with
it is part of the interop check), else by hand (8-byte little-endian header length, JSON header, raw data)."""
import json, struct


def read_safetensors(path):
    """(tensors as numpy arrays, metadata, which reader)."""
    import numpy as np
    try:
        from safetensors import safe_open
    except ImportError:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
        meta = header.pop("__metadata__", {})
        dt = {"F32": np.float32, "I64": np.int64, "I32": np.int32, "F64": np.float64}
        out = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=dt[v["dtype"]]).reshape(v["shape"])
               for k, v in header.items()}
        return out, meta, "built-in reader"
    with safe_open(path, framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {}), "safetensors"
