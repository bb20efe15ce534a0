"""What the effc-serve checks (serve_check.py, serve_paged_check.py) share:
the failure list and check(), plain HTTP requests, starting effc-serve on the
host backend on a free port and stopping it by SIGTERM."""
import http.client
import os
import signal
import subprocess

failures = []


def check(cond, what):
    """Records `what` as a failure (and prints it) unless `cond`."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def request(port, method, path, body=None, timeout=60):
    """(status, Content-Type, payload bytes) of one request; a str body is
    sent as UTF-8."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else body.encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type", ""), payload


def start_server(bin_dir, artifact, *extra):
    """effc-serve ARTIFACT --backend=host --port 0 EXTRA...; (process, port)
    once it says where it listens (exits the check when it does not)."""
    proc = subprocess.Popen([os.path.join(bin_dir, "effc-serve"), artifact, "--backend=host",
                             "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening on http://127.0.0.1:" not in line:
        proc.kill()
        raise SystemExit("effc-serve did not start: %r %s" % (line, proc.stderr.read()))
    port = int(line.split("127.0.0.1:")[1].split()[0])
    print(line.strip(), flush=True)
    return proc, port


def stop_server(proc, name):
    """SIGTERM, then checks exit status 0 (within 20 s); returns its stderr."""
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    err = proc.stderr.read()
    check(rc == 0, "%s: exit status %s after SIGTERM (stderr: %s)" % (name, rc, err))
    return err
