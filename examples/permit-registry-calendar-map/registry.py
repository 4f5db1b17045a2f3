#!/usr/bin/env python3
"""A sample national registry for the example: PUT/DELETE/GET /api/records/{key}, an X-Api-Key check, and a 503 for
one request in six (so Lockstep's retries show). Records live in memory; GET /api/records lists them."""
import json, os, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

KEY = os.environ["REGISTRY_KEY"]
records, lock, count = {}, threading.Lock(), [0]

class Registry(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def answer(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def refused(self):
        if self.headers.get("X-Api-Key") != KEY: self.answer(401, {"title": "unauthorized"}); return True
        with lock: count[0] += 1; n = count[0]
        if n % 6 == 0: self.answer(503, {"title": "try again"}); return True
        return False
    def key(self): return self.path.rsplit("/", 1)[1]
    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.refused(): return
        with lock: records[self.key()] = json.loads(body)
        self.answer(204)
    def do_DELETE(self):
        if self.refused(): return
        with lock: found = records.pop(self.key(), None)
        self.answer(204 if found is not None else 404)
    def do_GET(self):
        if self.headers.get("X-Api-Key") != KEY: return self.answer(401)
        with lock: self.answer(200, records if self.path == "/api/records" else records.get(self.key()))

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Registry).serve_forever()
