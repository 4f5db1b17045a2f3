#!/usr/bin/env python3
"""A sample logistics API: POST /shipments/batch takes a JSON array of shipments (one request, many records), answers 503
to one request in five, and remembers every shipment by id; GET /shipments returns {"requests": n, "shipments": {...}}."""
import json, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

shipments, lock, seen = {}, threading.Lock(), {"requests": 0, "batches": 0}

class Logistics(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def answer(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            seen["requests"] += 1
            if seen["requests"] % 5 == 0: return self.answer(503, {"title": "busy"})
            batch = json.loads(body)
            seen["batches"] += 1
            for s in batch: shipments[s["id"]] = s
        self.answer(204)
    def do_GET(self):
        with lock: self.answer(200, {"requests": seen["requests"], "batches": seen["batches"], "shipments": shipments})

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Logistics).serve_forever()
