"""Prints, as JSON, what numpy itself makes of values, for tests that need an independent
truth where no pymilvus reference file applies.

Usage: npy_expectations.py half DTYPE JSON_LIST   -> hex of np.array(list, float32).astype(DTYPE)
       npy_expectations.py load FILE.npy          -> {"descr", "shape", "values"} via np.load
"""
import json
import sys

import ml_dtypes
import numpy as np


def main():
    if sys.argv[1] == "half":
        dtype = ml_dtypes.bfloat16 if sys.argv[2] == "bfloat16" else np.float16
        values = json.loads(sys.argv[3])
        print(json.dumps(np.array(values, dtype=np.float32).astype(dtype).tobytes().hex()))
    elif sys.argv[1] == "load":
        arr = np.load(sys.argv[2], allow_pickle=False)
        print(json.dumps({"descr": arr.dtype.str, "shape": list(arr.shape),
                          "fortran": bool(np.isfortran(arr)) and arr.ndim > 1,
                          "values": arr.tolist()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
