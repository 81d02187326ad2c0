#!/usr/bin/env python3
"""Start moto's AWS emulator on a loopback port for stateward's tests and demo.

Usage: emulator.py [--port N] [--watch-stdin]

Prints the chosen port on the first line of stdout once the server accepts
requests.  With --watch-stdin the server stops when its standard input reaches
end-of-file, so a test process that dies (or forgets to stop it) never leaves an
emulator behind.  Port 0 (the default) picks a free port.
"""
import argparse
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
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
