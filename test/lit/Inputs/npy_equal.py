"""npy_equal.py DIR_A DIR_B: every NAME.npy of DIR_A equals DIR_B/NAME.npy
exactly (dtype, shape, bytes); prints 'N outputs equal', else names the first
difference and exits 1."""
import pathlib
import sys

import numpy as np

a, b = (pathlib.Path(p) for p in sys.argv[1:3])
files = sorted(a.glob("*.npy"))
if not files:
    sys.exit(f"npy_equal: no .npy files in {a}")
for f in files:
    x, y = np.load(f), np.load(b / f.name)
    if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
        diff = np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))) if x.shape == y.shape else None
        sys.exit(f"npy_equal: {f.name} differs ({x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}, max |diff| {diff})")
print(f"{len(files)} outputs equal")
