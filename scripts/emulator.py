#!/usr/bin/env python3
"""Start moto's AWS emulator on a loopback port for stateward's tests and demo.

Usage: emulator.py [--port N] [--watch-stdin] [--latency-control]

Prints the chosen port on the first line of stdout once the server accepts
requests.  With --watch-stdin the server stops when its standard input reaches
end-of-file, so a test process that dies (or forgets to stop it) never leaves an
emulator behind.  Port 0 (the default) picks a free port.

With --latency-control (benchmarks only), `POST /_stateward/latency/MS` sets
a delay slept before every later request is handled: a stand-in for the
network round trip to an AWS region.  The sleep releases the interpreter
lock, so requests in flight at once wait out their delays together, as
network round trips do, while moto still handles them one at a time.
"""
import argparse
import signal
import sys
import threading

import time

from moto.server import ThreadedMotoServer
from moto.moto_server.threaded_moto_server import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
    make_server,
)


def _web_identity_needs_no_signature() -> None:
    """AWS does not sign or authorize AssumeRoleWithWebIdentity (the token
    is the credential), but moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT
    or /moto-api/reset-auth) fails on its missing Authorization header; let it
    through, as AWS does.  No effect while enforcement is off."""
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate(self, iam_request_cls, resource="*"):
        if self._get_action() == "AssumeRoleWithWebIdentity":
            return None
        return original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate


_web_identity_needs_no_signature()


class LatencyMotoServer(ThreadedMotoServer):
    """moto's threaded server with a settable per-request delay."""

    latency_s = 0.0

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)

        def delayed(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path.startswith("/_stateward/latency/"):
                LatencyMotoServer.latency_s = float(path.rsplit("/", 1)[1]) / 1000.0
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok"]
            if LatencyMotoServer.latency_s > 0:
                time.sleep(LatencyMotoServer.latency_s)
            return app(environ, start_response)

        self._server = make_server(
            self._ip_address, self._port, delayed, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true")
    parser.add_argument("--latency-control", action="store_true")
    args = parser.parse_args()

    server_class = LatencyMotoServer if args.latency_control else ThreadedMotoServer
    server = server_class(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.watch_stdin:
        def watch() -> None:
            sys.stdin.read()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
