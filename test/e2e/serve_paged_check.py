#!/usr/bin/env python3
"""effc-serve in KV-cache mode over the paged KV cache (issue 19 parts 1-3).

Compiles WITHPAST_DIR (a decoder exported with past) with symbolic
seq/past/total, starts effc-serve on the host backend with pages of 4 tokens
and talks to it with Python's http.client: one request with the first
generate_0 prompt twice gives REFERENCE_DIR's tokens for both and /metrics
reports the paged pool (capacity in pages, page size, shared-prefix pages and
copy-on-write copies, waste, peak); four concurrent streamed requests (each
prompt twice, more than the two slots) give the reference; both prompts with
100 new tokens start with it. A second server whose pool cannot hold both
100-token requests at once preempts (effc_preempted_total > 0) and gives the
same 100 tokens; a request larger than that pool gets a 400 naming the
pages; a third with --max-seqs 4 reports 4 slots and serves the four streams;
all exit 0 on SIGTERM.

  serve_paged_check.py BIN_DIR WITHPAST_DIR REFERENCE_DIR ["EFFC FLAGS"]

EFFC FLAGS (one argument, split at spaces) are added to the compile, e.g.
"--paged-kv=4 --paged-kv-pages=128 --kv-state": the pools paged in the
model and kept in session state (issue 19), the same checks.
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import onnx
from onnx import numpy_helper

import serve_util
from serve_util import check, failures, request, stop_server

BIN, MODEL, REF = sys.argv[1], sys.argv[2], sys.argv[3]
EXTRA = sys.argv[4].split() if len(sys.argv) > 4 else []

def stream_ids(port, prompt, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/v1/completions",
                 body=json.dumps(dict(prompt=prompt, max_tokens=n, temperature=0, stream=True)))
    resp = conn.getresponse()
    assert resp.status == 200, (resp.status, resp.read())
    ids = []
    for line in resp.read().decode().split("\n"):
        if line.startswith("data: ") and line != "data: [DONE]":
            ids += json.loads(line[6:])["choices"][0]["token_ids"]
    conn.close()
    return ids


def metrics(port):
    out = {}
    for line in request(port, "GET", "/metrics", timeout=120)[2].decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def start_server(*extra):
    return serve_util.start_server(BIN, artifact, "--kv-page-size", "4", *extra)


def load(name):
    return numpy_helper.to_array(onnx.load_tensor(os.path.join(REF, "generate_0", name)))


prompts = load("input_0.pb").tolist()
reference = load("output_0.pb").tolist()
N = len(reference[0])
work = tempfile.mkdtemp()
artifact = os.path.join(work, "cache.effc")
subprocess.run([os.path.join(BIN, "effc"), os.path.join(MODEL, "model.onnx"), "--dim", "batch=2",
                "--dim", "seq=1..32", "--dim", "past=0..255", "--dim", "total=1..288",
                *EXTRA, "-o", artifact], check=True, stderr=subprocess.DEVNULL)


def concurrent(port):
    """Each prompt twice at once, streamed: every copy gives its reference."""
    results = {}

    def run(key, row):
        try:
            results[key] = stream_ids(port, prompts[row], N)
        except Exception as e:  # noqa: BLE001 - reported below
            results[key] = e
    threads = [threading.Thread(target=run, args=((row, c), row)) for row in (0, 1) for c in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (row, c), ids in sorted(results.items()):
        check(ids == reference[row], "stream row %d copy %d: %s != %s" % (row, c, ids, reference[row]))


def complete(port, prompt, n):
    status, _, body = request(port, "POST", "/v1/completions", timeout=120,
                              body=json.dumps(dict(prompt=prompt, max_tokens=n, temperature=0)))
    if not check(status == 200, "request: %s %s" % (status, body[:300])):
        return None
    return [c["token_ids"] for c in sorted(json.loads(body)["choices"], key=lambda c: c["index"])]


try:
    proc, port = start_server()
    # The same prompt twice in one request, on an idle server: the second
    # choice shares the first's prompt pages (in the same step, or from the
    # running first), then copies the page of its last prompt token.
    check(complete(port, [prompts[0], prompts[0]], N) == [reference[0]] * 2, "same prompt twice")
    m = metrics(port)
    print({k: v for k, v in m.items() if "kv" in k or "pool" in k or "preempt" in k}, flush=True)
    check(m.get('effc_pool_capacity{unit="pages"}') == 128, "pool pages: %s" % m)
    check(m.get("effc_kv_page_size") == 4, "page size: %s" % m)
    check(m.get("effc_kv_prefix_shared_pages_total", 0) >= 3, "prefix pages not shared: %s" % m)
    check(m.get("effc_kv_copy_on_write_total", 0) >= 1, "no copy-on-write: %s" % m)
    check(m.get("effc_kv_pages_peak", 0) >= 8 and "effc_kv_waste_tokens" in m and
          m.get("effc_preempted_total") == 0, "peak/waste/preempted: %s" % m)
    # The runs' token positions (the prompt once, then 2 x 15 decode tokens at
    # least) and their padding, counted.
    check(m.get("effc_model_runs_total", 0) >= N and
          m.get("effc_run_token_positions_total", 0) >= len(prompts[0]) + 2 * (N - 1) and
          0 <= m.get("effc_run_padded_positions_total", -1) < m["effc_run_token_positions_total"],
          "runs/positions/padding: %s" % m)
    concurrent(port)
    # Both prompts, 100 tokens each (29 pages of 4 each): the unpreempted run.
    long = complete(port, prompts, 100)
    check(long is not None and [t[:N] for t in long] == reference, "long run: %s" % long)
    stop_server(proc, "effc-serve paged")

    # 40 pages of 4 tokens: not both 116-token requests at once, so the
    # second admitted is preempted and recomputed; the tokens do not change.
    proc, port = start_server("--kv-pool-pages", "40", "--no-prefix-sharing")
    check(complete(port, prompts, 100) == long, "preempted run differs")
    m = metrics(port)
    check(m.get("effc_preempted_total", 0) > 0, "nothing preempted: %s" % m)
    check(m.get("effc_kv_prefix_shared_pages_total") == 0, "shared without sharing: %s" % m)
    check(m.get("effc_kv_pages_peak") == 40, "peak: %s" % m)
    concurrent(port)
    status, _, body = request(port, "POST", "/v1/completions", timeout=120,
                              body=json.dumps(dict(prompt=prompts[0], max_tokens=160, temperature=0)))
    check(status == 400 and b"needs 44 pages of 4 tokens; the KV pool has 40" in body,
          "too large for the pool: %s %s" % (status, body))
    stop_server(proc, "effc-serve small pool")

    # --max-seqs 4 over the compiled batch of 2: the four concurrent streams
    # run at once (each step in runs of at most 2 rows) and give the reference.
    proc, port = start_server("--max-seqs", "4")
    check(metrics(port).get("effc_slots") == 4, "slots with --max-seqs 4: %s" % metrics(port))
    concurrent(port)
    stop_server(proc, "effc-serve --max-seqs 4")
finally:
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("effc-serve paged: all checks passed")
