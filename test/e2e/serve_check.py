#!/usr/bin/env python3
"""effc-serve over HTTP on the host backend (issue 19 part 6).

Compiles DECODER at the window [2, 32], starts effc-serve on a free port and
talks to it with Python's own HTTP client: generate_0's prompts give the
reference tokens (one request with both prompts, and concurrent streamed
requests, more than the two slots), stop ids, seeded sampling, malformed and
invalid requests (a 4xx JSON error each, the server keeps serving), a
mutation fuzz of a valid body, /health, /metrics, /v1/models, speculative
decoding with the target as its own draft, and a clean exit on SIGTERM.

  serve_check.py BIN_DIR DECODER_DIR
"""
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import onnx
from onnx import numpy_helper

import serve_util
from serve_util import check, failures, request

BIN, DECODER = sys.argv[1], sys.argv[2]

def complete(port, **params):
    status, _, payload = request(port, "POST", "/v1/completions", json.dumps(params))
    return status, json.loads(payload)


def stream(port, **params):
    """The events of a streamed completion, [DONE] included."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/completions", body=json.dumps(dict(params, stream=True)))
    resp = conn.getresponse()
    assert resp.status == 200, (resp.status, resp.read())
    assert resp.getheader("Content-Type", "").startswith("text/event-stream")
    events = []
    for line in resp.read().decode().split("\n"):
        if line.startswith("data: "):
            events.append(line[6:])
        elif line.strip():
            raise AssertionError("not an SSE line: %r" % line)
    conn.close()
    return events


def start_server(artifact, *extra):
    return serve_util.start_server(BIN, artifact, *extra)


def stop_server(proc, name):
    err = serve_util.stop_server(proc, name)
    check("SIGTERM: shutting down" in err, "%s: no shutdown message: %s" % (name, err))


def load(name):
    return numpy_helper.to_array(onnx.load_tensor(os.path.join(DECODER, "generate_0", name)))


prompts = load("input_0.pb").tolist()
reference = load("output_0.pb").tolist()
vocab = load("output_1.pb").shape[-1]
N = len(reference[0])

work = tempfile.mkdtemp()
artifact = os.path.join(work, "model.effc")
subprocess.run([os.path.join(BIN, "effc"), os.path.join(DECODER, "model.onnx"), "--dim", "batch=2",
                "--dim", "seq=32", "-o", artifact], check=True, stderr=subprocess.DEVNULL)

proc, port = start_server(artifact)
try:
    status, _, body = request(port, "GET", "/health")
    check(status == 200 and json.loads(body)["status"] == "ok", "/health: %s %s" % (status, body))
    status, _, body = request(port, "GET", "/v1/models")
    check(status == 200 and json.loads(body)["data"][0]["max_model_len"] == 32,
          "/v1/models: %s" % body)

    # Both prompts in one request: one choice each, the reference tokens.
    status, r = complete(port, prompt=prompts, max_tokens=N, temperature=0)
    check(status == 200, "batch request: %s %s" % (status, r))
    if status == 200:
        choices = sorted(r["choices"], key=lambda c: c["index"])
        for b, c in enumerate(choices):
            check(c["token_ids"] == reference[b], "batch choice %d: %s != %s" %
                  (b, c["token_ids"], reference[b]))
            check(c["text"] == " ".join(map(str, reference[b])), "batch choice %d text" % b)
            check(c["finish_reason"] == "length", "batch choice %d finish_reason" % b)
        check(r["object"] == "text_completion" and r["usage"]["completion_tokens"] == 2 * N and
              r["usage"]["prompt_tokens"] == sum(map(len, prompts)), "batch usage: %s" % r)

    # Concurrent streamed requests, two per prompt: more than the two slots,
    # so some wait in the queue; each must stream its row's reference.
    results = {}

    def streamed(key, row):
        try:
            results[key] = stream(port, prompt=prompts[row], max_tokens=N, temperature=0)
        except Exception as e:  # noqa: BLE001 - reported as a failure below
            results[key] = e

    threads = [threading.Thread(target=streamed, args=((row, copy), row))
               for row in range(len(prompts)) for copy in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (row, copy), events in sorted(results.items(), key=lambda kv: kv[0]):
        if not check(isinstance(events, list), "stream %d/%d: %r" % (row, copy, events)):
            continue
        check(events[-1] == "[DONE]", "stream %d/%d does not end with [DONE]" % (row, copy))
        chunks = [json.loads(e) for e in events[:-1]]
        ids = [t for c in chunks for t in c["choices"][0]["token_ids"]]
        text = "".join(c["choices"][0]["text"] for c in chunks)
        check(ids == reference[row], "stream %d/%d tokens %s != %s" % (row, copy, ids,
                                                                      reference[row]))
        check(text == " ".join(map(str, reference[row])), "stream %d/%d text %r" % (row, copy, text))
        check(chunks[-1]["choices"][0]["finish_reason"] == "length" and
              all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1]),
              "stream %d/%d finish reasons" % (row, copy))
    print("streams: %d concurrent requests checked" % len(results), flush=True)

    # A stop id ends the choice after it (the stop token is returned).
    stop_at = next(k for k, t in enumerate(reference[1]) if k >= 2)
    status, r = complete(port, prompt=prompts[1], max_tokens=N, temperature=0,
                         stop=[reference[1][stop_at]])
    first = reference[1].index(reference[1][stop_at])
    check(status == 200 and r["choices"][0]["token_ids"] == reference[1][:first + 1] and
          r["choices"][0]["finish_reason"] == "stop", "stop: %s" % r)
    status, r2 = complete(port, prompt=prompts[1], max_tokens=N, temperature=0,
                          stop=str(reference[1][stop_at]))
    check(status == 200 and r2["choices"] == r["choices"], "stop as a string: %s" % r2)

    # Seeded sampling repeats itself; another seed (almost surely) does not.
    def sample(seed):
        status, r = complete(port, prompt=prompts[0], max_tokens=N, temperature=1.0, top_p=0.9,
                             seed=seed)
        check(status == 200, "sampling: %s %s" % (status, r))
        return r["choices"][0]["token_ids"] if status == 200 else None
    a, b, c = sample(7), sample(7), sample(8)
    check(a == b, "same seed, other tokens: %s %s" % (a, b))
    check(a != c, "seeds 7 and 8 gave the same %d tokens" % N)

    # Invalid requests: a 4xx with a JSON error message each.
    too_long = [1] * 20
    bad = [
        (b"{bad", 400, "not a JSON object"),
        (b"", 400, "not a JSON object"),
        (b"null", 400, "not a JSON object"),
        (b"[1, 2]", 400, "not a JSON object"),
        (b"\xff\xfe\x00garbage", 400, ""),
        (b"[" * 100000, 400, ""),
        (b"{\"prompt\": " + b"[" * 5000 + b"]" * 5000 + b"}", 400, "deeper than 16 levels"),
        (b"{\"prompt\": " + b"[" * 400000 + b"]" * 400000 + b"}", 400, "deeper than 16 levels"),
        (json.dumps({"max_tokens": 4}), 400, "missing parameter 'prompt'"),
        (json.dumps({"prompt": "hello"}), 400, "no tokenizer"),
        (json.dumps({"prompt": []}), 400, "empty"),
        (json.dumps({"prompt": [vocab]}), 400, "outside the vocabulary"),
        (json.dumps({"prompt": [-1]}), 400, "outside the vocabulary"),
        (json.dumps({"prompt": [1.5]}), 400, "integer token id"),
        (json.dumps({"prompt": [[1, 2], [3, "x"]]}), 400, "prompt[1][1]"),
        (json.dumps({"prompt": [[1, 2], 3]}), 400, "prompt[1]"),
        (json.dumps({"prompt": too_long, "max_tokens": 13}), 400, "exceeds the model's context"),
        (json.dumps({"prompt": [1], "max_tokens": 0}), 400, "max_tokens"),
        (json.dumps({"prompt": [1], "max_tokens": "4"}), 400, "max_tokens"),
        (json.dumps({"prompt": [1], "temperature": -1}), 400, "temperature"),
        (json.dumps({"prompt": [1], "top_p": 0}), 400, "top_p"),
        (json.dumps({"prompt": [1], "stream": "yes"}), 400, "stream"),
        (json.dumps({"prompt": [1], "stop": [vocab]}), 400, "stop"),
        (json.dumps({"prompt": [1], "n": 2}), 400, "n must be 1"),
        (json.dumps({"prompt": [1], "frobnicate": 1}), 400, "unknown parameter 'frobnicate'"),
        (b"{\"prompt\": [1], \"pad\": \"" + b"x" * (1 << 20) + b"\"}", 413, "too large"),
    ]
    for body, want, words in bad:
        status, ctype, payload = request(port, "POST", "/v1/completions", body)
        shown = body[:40] if isinstance(body, bytes) else body[:60]
        try:
            message = json.loads(payload)["error"]["message"]
        except Exception:  # noqa: BLE001
            message = None
        check(status == want and ctype.startswith("application/json") and message and
              words in message, "bad request %r: %s %r" % (shown, status, payload[:200]))
    status, _, _ = request(port, "GET", "/no/such/path")
    check(status == 404, "unknown path: %s" % status)
    print("invalid requests: %d checked" % len(bad), flush=True)

    # Fuzz: mutations of a valid body never crash the server; every answer is
    # a 200 or a 4xx with a JSON error.
    rng = random.Random(19)
    valid = json.dumps({"prompt": prompts[0][:8], "max_tokens": 2, "temperature": 0,
                        "stop": [1], "top_p": 0.5}).encode()
    statuses = {}
    for i in range(300):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            op, at = rng.randrange(4), rng.randrange(len(body) + 1)
            if op == 0 and body:
                del body[min(at, len(body) - 1)]
            elif op == 1:
                body.insert(at, rng.choice(b'{}[]",:0123456789-.eE \\tnul' + bytes([0, 0xff])))
            elif op == 2 and body:
                body[min(at, len(body) - 1)] = rng.randrange(256)
            else:
                body = body[:at]
        status, _, payload = request(port, "POST", "/v1/completions", bytes(body))
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200:
            check(400 <= status < 500 and "message" in json.loads(payload)["error"],
                  "fuzz body %r: %s %r" % (bytes(body), status, payload[:200]))
    print("fuzz: 300 mutated bodies, statuses %s" % statuses, flush=True)
    check(request(port, "GET", "/health")[0] == 200, "not healthy after the invalid requests")

    status, _, body = request(port, "GET", "/metrics")
    metrics = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            metrics[name] = float(value)
    check(metrics.get('effc_pool_capacity{unit="slots"}') == 2, "metrics pool: %s" % metrics)
    check(metrics.get("effc_generated_tokens_total", 0) >= 6 * N and
          metrics.get("effc_requests_finished_total", 0) >= 6 and
          metrics.get("effc_http_client_errors_total", 0) >= len(bad) and
          "effc_generated_tokens_per_second" in metrics, "metrics: %s" % metrics)
finally:
    stop_server(proc, "effc-serve")

# Speculative decoding behind the server: the target as its own draft.
proc, port = start_server(artifact, "--draft", artifact, "--speculate", "3")
try:
    status, r = complete(port, prompt=prompts, max_tokens=N, temperature=0)
    check(status == 200 and [c["token_ids"] for c in sorted(r["choices"], key=lambda c: c["index"])]
          == reference, "speculative: %s" % r)
    events = stream(port, prompt=prompts[0], max_tokens=N, temperature=0)
    ids = [t for e in events[:-1] for t in json.loads(e)["choices"][0]["token_ids"]]
    check(ids == reference[0], "speculative stream: %s" % ids)
    metrics = request(port, "GET", "/metrics")[2].decode()
    check("effc_speculative_accepted_tokens_total 0\n" not in metrics, "no draft accepted")
finally:
    stop_server(proc, "effc-serve --draft")
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("effc-serve: all checks passed")
