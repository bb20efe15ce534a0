# The error of a quantized model's output against the fp32 reference, beside a
# peer's (onnxruntime's quantizer of the same scheme on the same model and
# inputs): quant_error.py REF.pb OURS.npy PEER.pb|.npy MAX_RATIO [PEER_REF.pb]
# Prints the RMS and max errors and "PASS" when ours' RMS error is at most
# MAX_RATIO times the peer's, else "FAIL" and exit 1. PEER_REF: the peer's
# error is measured against this reference instead (another model's output).
import sys
import numpy as np, onnx
from onnx import numpy_helper as nh


def load(path):
    if path.endswith(".npy"):
        return np.load(path).astype(np.float64)
    return nh.to_array(onnx.load_tensor(path)).astype(np.float64)


ours_path, peer_path, max_ratio = sys.argv[2], sys.argv[3], float(sys.argv[4])
ref = load(sys.argv[1])
peer_ref = load(sys.argv[5]) if len(sys.argv) > 5 else ref
ours, peer = load(ours_path), load(peer_path)
if ours.shape != ref.shape or peer.shape != peer_ref.shape:
    sys.exit(f"quant_error.py: shapes differ: ref {ref.shape}, ours {ours.shape}, peer {peer.shape}")
rms = lambda x, r: float(np.sqrt(np.mean((x - r) ** 2)))
ratio = rms(ours, ref) / rms(peer, peer_ref)
print(f"error vs fp32: ours rms={rms(ours, ref):.4g} max={np.abs(ours - ref).max():.4g}, "
      f"peer rms={rms(peer, peer_ref):.4g} max={np.abs(peer - peer_ref).max():.4g}, ratio={ratio:.3f} "
      f"(<= {max_ratio}): {'PASS' if ratio <= max_ratio else 'FAIL'}")
sys.exit(0 if ratio <= max_ratio else 1)
