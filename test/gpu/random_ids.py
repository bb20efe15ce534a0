#!/usr/bin/env python3
"""random_ids.py BATCH SEQ VOCAB OUT_DIR: OUT_DIR/input_ids.npy, int64
[BATCH, SEQ] token ids below VOCAB (seeded), for prebuilt.py host-gen cases
whose shape differs from the model's test data (e.g. a decode-sized batch)."""
import os
import sys

import numpy as np

batch, seq, vocab, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
ids = np.random.default_rng(batch * 1000 + seq).integers(0, vocab, (batch, seq)).astype(np.int64)
np.save(os.path.join(out, "input_ids.npy"), ids)
