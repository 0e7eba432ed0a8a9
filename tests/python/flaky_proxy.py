"""An HTTP proxy on 127.0.0.1 that forwards every request to UPSTREAM but answers some write
requests (PUT, POST) with 503, to test retries and failures of uploads.

Usage: flaky_proxy.py UPSTREAM {fail-first N | fail-after N}
  fail-first N: the first N write requests fail, later ones pass (transient errors);
  fail-after N: the first N write requests pass, every later one fails (a server gone bad).
Prints the port it listens on, then serves until killed.
"""
import http.client
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

upstream = urlparse(sys.argv[1])
mode, limit = sys.argv[2], int(sys.argv[3])
writes = 0
lock = threading.Lock()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        global writes
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command in ("PUT", "POST"):
            with lock:
                writes += 1
                n = writes
            fail = n <= limit if mode == "fail-first" else n > limit
            print(f"flaky_proxy: write {n} {self.command} {self.path} -> {'503' if fail else 'forwarded'}", file=sys.stderr, flush=True)
            if fail:
                payload = b"<Error><Code>ServiceUnavailable</Code></Error>"
                self.send_response(503)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()
