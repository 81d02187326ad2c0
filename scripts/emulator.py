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

Conditional writes (S3 If-None-Match / If-Match, DynamoDB item writes) are
handled one at a time, so they are atomic as they are on AWS.  Listing the
node groups or Fargate profiles of a missing EKS cluster is answered with
ResourceNotFoundException, as EKS answers it (moto fails with a 500).
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


def _listing_a_missing_clusters_children_is_not_found() -> None:
    """EKS answers ListNodegroups / ListFargateProfiles on a cluster that does
    not exist (or was deleted since ListClusters) with ResourceNotFoundException;
    moto raises a KeyError, which its server turns into a 500.  Answer as EKS
    does, so a scan racing a deletion sees what it would see on AWS."""
    from moto.eks.exceptions import ResourceNotFoundException
    from moto.eks.models import CLUSTER_NOT_FOUND_MSG, EKSBackend

    for name in ("list_nodegroups", "list_fargate_profiles"):
        original = getattr(EKSBackend, name)

        def listing(self, cluster_name, *args, __original=original, **kwargs):
            if cluster_name not in self.clusters:
                raise ResourceNotFoundException(
                    clusterName=None,
                    nodegroupName=None,
                    fargateProfileName=None,
                    addonName=None,
                    message=CLUSTER_NOT_FOUND_MSG.format(clusterName=cluster_name),
                )
            return __original(self, cluster_name, *args, **kwargs)

        setattr(EKSBackend, name, listing)


_listing_a_missing_clusters_children_is_not_found()


# Requests whose check and write S3 and DynamoDB perform atomically: a
# conditional object write or delete (If-None-Match / If-Match, how lock
# files are taken and released) and every DynamoDB item write (conditions
# travel in the body).  moto checks and writes in separate steps on
# separate threads, so two racing lock acquisitions could both succeed;
# AWS never lets them.  These requests are handled one at a time.
_ATOMIC = threading.Lock()
_DYNAMODB_WRITES = {
    "DynamoDB_20120810.PutItem",
    "DynamoDB_20120810.DeleteItem",
    "DynamoDB_20120810.UpdateItem",
    "DynamoDB_20120810.TransactWriteItems",
    "DynamoDB_20120810.BatchWriteItem",
}


def _needs_atomicity(environ) -> bool:
    if environ.get("HTTP_X_AMZ_TARGET") in _DYNAMODB_WRITES:
        return True
    return environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE") and (
        "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ
    )


class StatewardMotoServer(ThreadedMotoServer):
    """moto's threaded server with atomic conditional writes and, for
    benchmarks, a settable per-request delay."""

    latency_s = 0.0
    latency_control = False

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)

        def handle(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if self.latency_control and path.startswith("/_stateward/latency/"):
                StatewardMotoServer.latency_s = float(path.rsplit("/", 1)[1]) / 1000.0
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok"]
            if StatewardMotoServer.latency_s > 0:
                time.sleep(StatewardMotoServer.latency_s)
            if _needs_atomicity(environ):
                with _ATOMIC:
                    # Materialise the body inside the lock: the write
                    # happens while it is produced.
                    return list(app(environ, start_response))
            return app(environ, start_response)

        self._server = make_server(
            self._ip_address, self._port, handle, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true")
    parser.add_argument("--latency-control", action="store_true")
    args = parser.parse_args()

    StatewardMotoServer.latency_control = args.latency_control
    server = StatewardMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
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
