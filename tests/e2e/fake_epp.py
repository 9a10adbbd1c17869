#!/usr/bin/env python3
"""A stand-in for llm-d's endpoint picker (EPP) in the closed loop: serves the flow-control queue
gauge that WVA's scale-from-zero loop reads, set by the test driver. Standard library only.

  fake_epp.py PORT
  GET /metrics   inference_extension_flow_control_queue_size{target_model_name="M"} N
  PUT /queue     {"model": "M", "size": N}
"""
import http.server
import json
import sys
import threading

queues = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path not in ("/metrics", "/healthz"):
            self.send_error(404)
            return
        lines = ["# TYPE inference_extension_flow_control_queue_size gauge"]
        with lock:
            for model, n in sorted(queues.items()):
                lines.append('inference_extension_flow_control_queue_size{target_model_name="%s"} %g'
                             % (model, n))
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path != "/queue":
            self.send_error(404)
            return
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with lock:
            queues[req["model"]] = float(req["size"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
