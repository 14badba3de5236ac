#!/usr/bin/python3
"""webhook.py - a loopback HTTP receiver for sitemaild's [notify] webhook
(testsuite/t/46-notify.t).

Listens on 127.0.0.1 (an ephemeral port, written to --port-file).  Every
request is logged as one JSON line to --log: {"n", "method", "path",
"status", "content_type", "body" (the parsed JSON, or null), "raw"}.
Behaviour per request comes from the --control file, read each time:
    fail N      answer 500 to the next N requests (counted here)
    hang S      sleep S seconds before answering 200
    (anything else or no file)   answer 200
"""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--control", required=True)
args = ap.parse_args()

lock = threading.Lock()
state = {"n": 0, "failed": 0, "fail_seen": None}


def control():
    """The control file's words, or []."""
    try:
        with open(args.control) as f:
            return f.read().split()
    except OSError:
        return []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        words = control()
        status = 200
        with lock:
            state["n"] += 1
            n = state["n"]
            if len(words) == 2 and words[0] == "fail":
                if state["fail_seen"] != words:
                    state["fail_seen"] = words
                    state["failed"] = 0
                if state["failed"] < int(words[1]):
                    state["failed"] += 1
                    status = 500
        if len(words) == 2 and words[0] == "hang":
            time.sleep(float(words[1]))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        rec = {"n": n, "method": "POST", "path": self.path,
               "status": status, "time": time.time(),
               "content_type": self.headers.get("Content-Type"),
               "body": body, "raw": raw.decode("utf-8", "replace")}
        with lock:
            with open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, args.port_file)
srv.serve_forever()
