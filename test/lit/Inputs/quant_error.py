# The error of a quantized model's output against the fp32 reference, beside a
# peer's (onnxruntime's quantizer of the same scheme on the same model and
# inputs): quant_error.py REF.pb OURS.npy PEER.pb MAX_RATIO
# Prints the RMS and max errors and "PASS" when ours' RMS error is at most
# MAX_RATIO times the peer's, else "FAIL" and exit 1.
import sys
import numpy as np, onnx
from onnx import numpy_helper as nh

ref_path, ours_path, peer_path, max_ratio = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ref = nh.to_array(onnx.load_tensor(ref_path)).astype(np.float64)
ours = np.load(ours_path).astype(np.float64)
peer = nh.to_array(onnx.load_tensor(peer_path)).astype(np.float64)
if ours.shape != ref.shape or peer.shape != ref.shape:
    sys.exit(f"quant_error.py: shapes differ: ref {ref.shape}, ours {ours.shape}, peer {peer.shape}")
rms = lambda x: float(np.sqrt(np.mean((x - ref) ** 2)))
ratio = rms(ours) / rms(peer)
print(f"error vs fp32: ours rms={rms(ours):.4g} max={np.abs(ours - ref).max():.4g}, "
      f"peer rms={rms(peer):.4g} max={np.abs(peer - ref).max():.4g}, ratio={ratio:.3f} "
      f"(<= {max_ratio}): {'PASS' if ratio <= max_ratio else 'FAIL'}")
sys.exit(0 if ratio <= max_ratio else 1)
