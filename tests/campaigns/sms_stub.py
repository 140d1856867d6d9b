"""A stand-in SMS provider on 127.0.0.1 (a thread of the test process): it records every
request, answers as told, and deduplicates by ``Idempotency-Key`` as a real provider does.
Nothing ever leaves the machine."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SmsStub:
    def __init__(self, *, answers: list[int] | None = None, delay: float = 0.0):
        self.answers = list(answers or [])  # statuses to answer first, then 200
        self.delay = delay
        self.requests: list[dict] = []  # every call, repeats included
        self.delivered: dict[str, dict] = {}  # idempotency key -> the message delivered
        self.lock = threading.Lock()
        self.first_calls = threading.Event()
        self.wait_for = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                if stub.delay:
                    time.sleep(stub.delay)
                with stub.lock:
                    stub.requests.append(
                        {"key": key, "auth": self.headers.get("Authorization"), **body}
                    )
                    status = stub.answers.pop(0) if stub.answers else 200
                    if status == 200:
                        stub.delivered.setdefault(key, body)
                    if stub.wait_for and len(stub.requests) >= stub.wait_for:
                        stub.first_calls.set()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
