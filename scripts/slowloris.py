#!/usr/bin/env python3
"""Slowloris check of `srgnn serve`: does the service close slow and stalled connections after its
timeouts, and keep answering real requests meanwhile?

    scripts/slowloris.py --port 18080 [--sockets 1000] [--attack-seconds 40] [--requests 400]

Against a server already listening on 127.0.0.1 (loopback only; nothing else is contacted):

1. Baseline: real `POST /v1/recommendations` requests on the service with no attack, for as long
   as the attack will last and paced as they will be then (a batch every 2 s on one keep-alive
   connection, `--requests` in all): p50 / p99 / max latency. Measured over the same span, because
   on a shared machine the neighbours' load moves the p99 by several times within seconds.
2. Attack: `--sockets` connections held open in three equal groups: idle (connect, send nothing),
   partial head (a request line, then one header byte a second, never the blank line) and partial
   body (a whole head with `Content-Length: 100`, then one body byte a second). While they are
   held, the same real requests are timed again. Every second each held socket that the server
   has not closed gets its next byte: all in one burst, or with `--spread` over the second.
3. Report: per group, how many sockets the server closed and after how long (min / median / max
   seconds from connect), how many were still open when the attack ended; the latency under
   attack next to the baseline, and the ratio of the p99s.

The slow sockets are held by a second process, so that feeding them never delays the timed requests
(one Python process would make them wait on its interpreter lock, not on the server).
Python 3 standard library only; bounded in time (twice `--attack-seconds`, default 40, plus a few seconds)
and count.
Raises the soft limit of open files to the hard limit if it is below what `--sockets` needs.
"""
import argparse
import http.client
import json
import multiprocessing
import resource
import selectors
import socket
import statistics
import time

BODY = json.dumps({"items": [3, 17, 5], "k": 20})


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def time_requests(host, port, count, body, deadline=None):
    """Latencies in ms of `count` sequential POSTs on one keep-alive connection (reconnects on error)."""
    latencies, errors = [], 0
    connection = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(count):
        if deadline is not None and time.monotonic() > deadline:
            break
        start = time.perf_counter()
        try:
            connection.request("POST", "/v1/recommendations", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
            else:
                latencies.append((time.perf_counter() - start) * 1000)
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.close()
    return latencies, errors


class Attack:
    """Holds the slow sockets; one thread feeds them a byte a second and notes when each closes."""

    def __init__(self, host, port, sockets):
        self.host, self.port = host, port
        self.groups = {"idle": [], "partial head": [], "partial body": []}
        self.closed = {name: [] for name in self.groups}  # seconds from connect to close
        self.open_failures = 0
        names = list(self.groups)
        self.selector = selectors.DefaultSelector()
        for index in range(sockets):
            name = names[index % 3]
            try:
                s = socket.create_connection((host, port), timeout=5)
            except OSError:
                self.open_failures += 1
                continue
            s.setblocking(False)
            opened = time.monotonic()
            if name == "partial head":
                self._send(s, b"POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            elif name == "partial body":
                self._send(s, b"POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            entry = {"socket": s, "group": name, "opened": opened, "open": True}
            self.groups[name].append(entry)
            self.selector.register(s, selectors.EVENT_READ, entry)

    @staticmethod
    def _send(s, data):
        try:
            s.send(data)
            return True
        except OSError:
            return False

    def _close(self, entry):
        if entry["open"]:
            entry["open"] = False
            self.closed[entry["group"]].append(time.monotonic() - entry["opened"])
            self.selector.unregister(entry["socket"])
            entry["socket"].close()

    def run(self, seconds, spread=False):
        """Feeds every open slow socket a byte a second: all at once (a burst each second, the
        harsher case), or with `spread` in slices of 50 ms each, as unsynchronised clients would."""
        end = time.monotonic() + seconds
        slow = self.groups["partial head"] + self.groups["partial body"]
        slices = 20 if spread else 1
        next_trickle = time.monotonic() + 1 / slices
        turn = 0
        while time.monotonic() < end:
            for key, _ in self.selector.select(timeout=0.05):
                entry = key.data
                try:
                    data = entry["socket"].recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # EOF or reset: the server closed it
                    self._close(entry)
            if time.monotonic() >= next_trickle:
                next_trickle += 1 / slices
                for entry in slow[turn % slices::slices]:
                    byte = b"a" if entry["group"] == "partial head" else b" "
                    if entry["open"] and not self._send(entry["socket"], byte):
                        self._close(entry)
                turn += 1

    def report(self):
        rows = []
        for name, entries in self.groups.items():
            closed = self.closed[name]
            still_open = sum(1 for entry in entries if entry["open"])
            if closed:
                rows.append(f"  {name:13} {len(entries):5} held, {len(closed):5} closed by the server after "
                            f"{min(closed):.1f} / {statistics.median(closed):.1f} / {max(closed):.1f} s "
                            f"(min / median / max), {still_open} still open")
            else:
                rows.append(f"  {name:13} {len(entries):5} held, none closed, {still_open} still open")
        return "\n".join(rows)

    def close_all(self):
        for entries in self.groups.values():
            for entry in entries:
                if entry["open"]:
                    entry["open"] = False
                    entry["socket"].close()


def summary(latencies, errors):
    if not latencies:
        return f"no successful requests, {errors} errors"
    return (f"{len(latencies)} requests, p50 / p99 / max {percentile(latencies, 50):.2f} / "
            f"{percentile(latencies, 99):.2f} / {max(latencies):.2f} ms, {errors} errors")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"],
                        help="loopback only")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--attack-seconds", type=float, default=40)
    parser.add_argument("--requests", type=int, default=400, help="real requests, before and during the attack")
    parser.add_argument("--body", default=BODY, help="the real requests' JSON body")
    parser.add_argument("--spread", action="store_true",
                        help="feed the slow sockets spread over each second instead of in one burst")
    args = parser.parse_args()
    if not 1 <= args.sockets <= 5000 or not 1 <= args.attack_seconds <= 300:
        parser.error("--sockets must be in 1...5000 and --attack-seconds in 1...300")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.sockets + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.sockets + 64), hard))

    time_requests(args.host, args.port, 50, args.body)  # warm-up
    baseline, baseline_errors = paced_requests(args, time.monotonic() + args.attack_seconds)
    print("idle service:  " + summary(baseline, baseline_errors))

    started = time.monotonic()
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=hold, args=(args.host, args.port, args.sockets, args.attack_seconds, args.spread, child))
    process.start()
    print(parent.recv())  # the sockets are open
    time.sleep(1)  # every slow socket has its first trickled byte
    loaded, loaded_errors = paced_requests(args, started + args.attack_seconds)
    report = parent.recv()
    process.join(timeout=30)
    print("under attack:  " + summary(loaded, loaded_errors))
    if baseline and loaded:
        print(f"p99 under attack / idle p99: {percentile(loaded, 99) / percentile(baseline, 99):.2f}")
    print(f"slow sockets after {args.attack_seconds:.0f} s:")
    print(report)


def paced_requests(args, end):
    """Real requests until `end`: a batch every 2 s, `args.requests` over the attack's length."""
    latencies, errors = [], 0
    per_batch = max(1, args.requests // max(1, int(args.attack_seconds / 2)))
    while time.monotonic() < end - 1:
        batch_start = time.monotonic()
        batch, batch_errors = time_requests(args.host, args.port, per_batch, args.body, end - 1)
        latencies += batch
        errors += batch_errors
        time.sleep(max(0, min(2 - (time.monotonic() - batch_start), end - time.monotonic())))
    return latencies, errors


def hold(host, port, sockets, seconds, spread, pipe):
    """The attack, in its own process: opens the sockets, feeds them for `seconds`, sends the report."""
    started = time.monotonic()
    attack = Attack(host, port, sockets)
    pipe.send(f"opened {sum(len(g) for g in attack.groups.values())} slow sockets in "
              f"{time.monotonic() - started:.1f} s ({attack.open_failures} failed to connect)")
    attack.run(seconds - (time.monotonic() - started), spread)
    pipe.send(attack.report())
    attack.close_all()


if __name__ == "__main__":
    main()
