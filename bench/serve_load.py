"""Load test of `digitcli serve` on 127.0.0.1: throughput, latency, identical answers, memory.

    python bench/serve_load.py [--model M] [--clients 200] [--seconds 10] [--url http://127.0.0.1:PORT]

Without --url it starts `digitcli serve --port 0` itself (the default model) and stops it at the end.
Each request is one single-digit CSV from sample_digits/ (POST /api/predict, text/csv), over
keep-alive HTTP/1.1 connections from an asyncio client in this process, which shares the 2 cores
with the server: the figures are what one machine does serving itself.

1. Sequential: each of the 40 sample digits once, on one connection: the reference answers.
2. Concurrent: --clients connections at once, each sending digits in its own order for --seconds;
   every answer is compared with the sequential one for the same digit.
3. Mixed: the same clients, every 20th request of each a 12-megapixel JPEG photo of a digit (5%),
   the rest single digits: p99 of each apart.
4. Health during a photo: one 12 MP photo posted while another connection asks GET /api/health
   in a loop; the slowest and the median health answer while the photo was being read.
5. The reference in the same run: a minimal Starlette app answering every POST with a constant,
   under uvicorn as `digitcli serve` runs it, loaded by the same clients; ratios printed.
Reported: requests/s, p50 and p99 latency, mismatches, and the server's peak resident memory
(VmHWM from /proc, the server process only, over all phases).
"""

import argparse
import asyncio
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO_EVERY = 20  # the mixed load: one request in 20 (5%) is a photo
# The reference: Starlette's least, served as digitcli serve serves (uvicorn, no access log).
CONSTANT_APP = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def answer(request):
    await request.body()
    return JSONResponse({"records": [{"prediction": 3}]})
app = Starlette(routes=[Route("/api/predict", answer, methods=["POST"])])
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(2048)
print(f"http://127.0.0.1:{sock.getsockname()[1]}/", file=sys.stderr, flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])
"""


async def request(reader, writer, host, body, kind=b"text/csv"):
    if body is None:
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    else:
        writer.write(
            b"POST /api/predict HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: " + kind + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    return status, await reader.readexactly(length)


async def client(host, port, bodies, order, until, results, photo=None):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    while time.perf_counter() < until:
        k = order[i % len(order)]
        start = time.perf_counter()
        if photo is not None and i % PHOTO_EVERY == PHOTO_EVERY - 1:
            k, (status, answer) = "photo", await request(reader, writer, host.encode(), photo, b"image/jpeg")
        else:
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


async def load(host, port, bodies, clients, seconds, photo=None):
    results = []
    until = time.perf_counter() + seconds
    start = time.perf_counter()
    await asyncio.gather(
        *(
            client(host, port, bodies, [(c * 7 + j) % len(bodies) for j in range(len(bodies))], until, results, photo)
            for c in range(clients)
        )
    )
    return results, time.perf_counter() - start


async def health_during_photo(host, port, photo):
    """Health latencies (s) answered while one photo was being read, and the photo's own time."""
    reader, writer = await asyncio.open_connection(host, port)
    preader, pwriter = await asyncio.open_connection(host, port)
    start = time.perf_counter()
    reading = asyncio.create_task(request(preader, pwriter, host.encode(), photo, b"image/jpeg"))
    times = []
    while not reading.done():
        asked = time.perf_counter()
        await request(reader, writer, host.encode(), None)
        times.append(time.perf_counter() - asked)
        await asyncio.sleep(0.005)
    status, _ = await reading
    assert status == 200, status
    writer.close(), pwriter.close()
    return sorted(times), time.perf_counter() - start


def make_photo():
    """A 4000 x 3000 JPEG: a sample digit enlarged, dark on uneven light paper, with noise."""
    import numpy as np
    from PIL import Image

    digit = np.loadtxt(ROOT / "sample_digits/digit3_1.csv", delimiter=",").astype(np.uint8)
    ink = np.asarray(Image.fromarray(digit).resize((1500, 1500), Image.BILINEAR), dtype=np.float32) / 255
    page = np.zeros((3000, 4000), np.float32)
    page[700:2200, 1200:2700] = ink
    light = 0.85 - 0.1 * np.linspace(0, 1, 4000)[None, :]
    noise = np.random.default_rng(0).normal(0, 4, page.shape)
    pixels = np.clip((light * (1 - page) + 0.15 * page) * 255 + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def start_server(model):
    cmd = [sys.executable, "-m", "digitcli", "serve", "--port", "0"] + (["--model", model] if model else [])
    if model == "constant":
        cmd = [sys.executable, "-c", CONSTANT_APP]
    server = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        found = re.search(r"http://([\d.]+):(\d+)/", line)
        if found:
            return server, found.group(1), int(found.group(2))
    raise SystemExit(f"the server did not start (exit status {server.wait()})")


def peak_memory_mb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def pct(values, q):
    return 1000 * values[min(len(values) - 1, int(len(values) * q))]


def rate(results, elapsed):
    return len(results) / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--url", default=None, help="a server already running; else one is started")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bodies = [p.read_bytes() for p in sorted((ROOT / "sample_digits").glob("digit*.csv"))]
    photo = make_photo()
    server = None
    if args.url:
        host, port = re.match(r"http://([\d.]+):(\d+)", args.url).groups()
        port = int(port)
    else:
        server, host, port = start_server(args.model)
    try:
        reference = asyncio.run(sequential(host, port, bodies))
        results, elapsed = asyncio.run(load(host, port, bodies, args.clients, args.seconds))
        mixed, mixed_elapsed = asyncio.run(load(host, port, bodies, args.clients, args.seconds, photo))
        health, photo_time = asyncio.run(health_during_photo(host, port, photo))
        memory = peak_memory_mb(server.pid) if server else None
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    constant, host, port = start_server("constant")
    try:
        plain, plain_elapsed = asyncio.run(load(host, port, bodies, args.clients, args.seconds))
    finally:
        constant.terminate()
        constant.wait(timeout=30)
    report(args, reference, results, elapsed, mixed, mixed_elapsed, health, photo_time, memory, server)
    latencies = sorted(r[3] for r in plain)
    print(
        f"reference, a Starlette app answering a constant: {rate(plain, plain_elapsed):,.0f} requests/s, "
        f"p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms"
    )
    print(
        f"ratio to the reference: requests/s {rate(results, elapsed) / rate(plain, plain_elapsed):.3f}, "
        f"p99 {pct(sorted(r[3] for r in results), 0.99) / pct(latencies, 0.99):.2f}x"
    )


def report(args, reference, results, elapsed, mixed, mixed_elapsed, health, photo_time, memory, server):
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
        f"{rate(results, elapsed):,.0f} requests/s"
    )
    print(f"latency: p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms")
    print(f"answers differing from the sequential ones: {wrong} of {len(results):,}")
    digits = sorted(r[3] for r in mixed if r[0] != "photo")
    photos = sorted(r[3] for r in mixed if r[0] == "photo")
    bad = sum(1 for r in mixed if r[1] != 200)
    print(
        f"mixed, 1 in {PHOTO_EVERY} a 12 MP photo: {rate(mixed, mixed_elapsed):,.0f} requests/s, digits p50 "
        f"{pct(digits, 0.5):.1f} ms p99 {pct(digits, 0.99):.1f} ms, {len(photos)} photos p50 "
        f"{pct(photos, 0.5) if photos else 0:.0f} ms p99 {pct(photos, 0.99) if photos else 0:.0f} ms, {bad} not 200"
    )
    print(
        f"health while a 12 MP photo was read ({photo_time:.2f} s): {len(health)} answers, "
        f"slowest {pct(health, 1.0):.1f} ms, median {pct(health, 0.5):.1f} ms"
    )
    if memory is not None:
        print(f"server peak resident memory: {memory:.0f} MB")
    if server:
        print(f"server exit status after SIGTERM: {server.returncode}")


if __name__ == "__main__":
    main()
