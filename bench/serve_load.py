"""Load test of `digitcli serve` on 127.0.0.1: throughput, latency, identical answers, memory.

    python bench/serve_load.py [--model M] [--clients 200] [--seconds 10] [--url http://127.0.0.1:PORT]

Without --url it starts `digitcli serve --port 0` itself (the default model) and stops it at the end.
Each request is one single-digit CSV from sample_digits/ (POST /api/predict, text/csv), over
keep-alive HTTP/1.1 connections from an asyncio client in this process, which shares the 2 cores
with the server: the figures are what one machine does serving itself.

1. Sequential: each of the 40 sample digits once, on one connection: the reference answers.
2. Concurrent: --clients connections at once, each sending digits in its own order for --seconds;
   every answer is compared with the sequential one for the same digit.
Reported: requests/s, p50 and p99 latency, mismatches, and the server's peak resident memory
(VmHWM from /proc, the server process only).
"""

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def request(reader, writer, host, body):
    writer.write(
        b"POST /api/predict HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: text/csv\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    return status, await reader.readexactly(length)


async def client(host, port, bodies, order, until, results):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    while time.perf_counter() < until:
        k = order[i % len(order)]
        start = time.perf_counter()
        status, answer = await request(reader, writer, host.encode(), bodies[k])
        results.append((k, status, answer, time.perf_counter() - start))
        i += 1
    writer.close()


async def sequential(host, port, bodies):
    reader, writer = await asyncio.open_connection(host, port)
    answers = []
    for body in bodies:
        status, answer = await request(reader, writer, host.encode(), body)
        assert status == 200, answer
        answers.append(answer)
    writer.close()
    return answers


async def load(host, port, bodies, clients, seconds):
    results = []
    until = time.perf_counter() + seconds
    start = time.perf_counter()
    await asyncio.gather(
        *(
            client(host, port, bodies, [(c * 7 + j) % len(bodies) for j in range(len(bodies))], until, results)
            for c in range(clients)
        )
    )
    return results, time.perf_counter() - start


def start_server(model):
    cmd = [sys.executable, "-m", "digitcli", "serve", "--port", "0"] + (["--model", model] if model else [])
    server = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        found = re.search(r"http://([\d.]+):(\d+)/", line)
        if found:
            return server, found.group(1), int(found.group(2))
    raise SystemExit(f"the server did not start (exit status {server.wait()})")


def peak_memory_mb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--url", default=None, help="a server already running; else one is started")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bodies = [p.read_bytes() for p in sorted((ROOT / "sample_digits").glob("digit*.csv"))]
    server = None
    if args.url:
        host, port = re.match(r"http://([\d.]+):(\d+)", args.url).groups()
        port = int(port)
    else:
        server, host, port = start_server(args.model)
    try:
        reference = asyncio.run(sequential(host, port, bodies))
        results, elapsed = asyncio.run(load(host, port, bodies, args.clients, args.seconds))
        memory = peak_memory_mb(server.pid) if server else None
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    latencies = sorted(r[3] for r in results)
    wrong = sum(
        1 for k, status, answer, _ in results if status != 200 or json.loads(answer) != json.loads(reference[k])
    )
    print(
        f"sequential reference: {len(reference)} digits, predictions "
        f"{''.join(str(json.loads(a)['records'][0]['prediction']) for a in reference)}"
    )
    print(
        f"concurrent: {args.clients} clients, {len(results):,} requests in {elapsed:.1f} s: "
        f"{len(results) / elapsed:,.0f} requests/s"
    )
    print(
        f"latency: p50 {1000 * latencies[len(latencies) // 2]:.1f} ms, "
        f"p99 {1000 * latencies[int(len(latencies) * 0.99)]:.1f} ms"
    )
    print(f"answers differing from the sequential ones: {wrong} of {len(results):,}")
    if memory is not None:
        print(f"server peak resident memory: {memory:.0f} MB")
    if server:
        print(f"server exit status after SIGTERM: {server.returncode}")


if __name__ == "__main__":
    main()
