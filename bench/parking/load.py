#!/usr/bin/env python3
"""bench/parking load generator on grpcio (the C-core client, asyncio API), run
by bench/parking/recommend.ts with /usr/bin/python3 (Debian's python3-grpcio):

    load.py BODIES '<job JSON>'

Why it exists: the grpc-js generator allocates ~50 KiB and promotes 8-15 KB per
call, and its own collections (pauses of 8-21 ms) landed on whichever server it
was measuring, so at 500 req/s p99 measured the generator (docs/benchmarks.md,
"Per-call garbage and the collector"). This one sends the same requests as
pre-encoded protobuf bytes (BODIES: each a 4-byte big-endian length then the
message, written by recommend.ts) through a generic unary call, keeps the
answers undecoded, and runs with Python's cyclic collector off during the
measured window (reference counting frees what a call leaves; the collector
runs once between runs), so no collector pause of its own is in the figures.

Open loop: `callers` Poisson callers at `ratePerS` in total; a call's latency
counts from when it was sent, and how late each send was against its schedule
(the event loop's timer granularity, about 1 ms) is reported apart as the send
lag, so a late generator shows instead of hiding. Closed loop (ratePerS 0):
each caller calls back to back. Prints one JSON line.
"""
import asyncio
import gc
import json
import os
import resource
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pyload import run_callers  # noqa: E402  (bench/pyload.py, beside this folder)

METHOD = "/greenwave.v1.ParkingGuidanceService/Recommend"


def read_bodies(path):
    with open(path, "rb") as f:
        data = f.read()
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from(">I", data, i)
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run(job, bodies, grpc):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{job['port']}")
    await asyncio.wait_for(channel.channel_ready(), 5)
    # No serializers: requests go as the bytes given, answers come back as bytes.
    recommend = channel.unary_unary(METHOD)
    md = (("authorization", f"Bearer {job['token']}"),)
    lat = []
    state = {"n": 0, "errors": 0, "total": 0, "first": ""}
    t0 = time.perf_counter()
    w0 = t0 + job["warmupMs"] / 1000
    w1 = w0 + job["durationMs"] / 1000

    async def call():
        body = bodies[state["n"] % len(bodies)]
        state["n"] += 1
        sent = time.perf_counter()
        try:
            await recommend(body, metadata=md, timeout=10)
            err = None
        except grpc.RpcError as e:
            err = f"{e.code().name}: {e.details()}"
        done = time.perf_counter()
        state["total"] += 1
        if w0 <= sent and done <= w1:
            lat.append((done - sent) * 1000)
            if err is not None:
                state["errors"] += 1
                if not state["first"]:
                    state["first"] = err

    gc.collect()
    gc.disable()
    cpu0 = cpu_s()
    lags = await run_callers(job["callers"], job["ratePerS"], t0, w0, w1, lambda k: 1009 * (k + 1), lambda k: call())
    cpu = cpu_s() - cpu0
    gc.enable()
    await channel.close()
    lags.sort()
    return {"latMs": lat, "errors": state["errors"], "total": state["total"], "firstError": state["first"],
            "sendLagP99Ms": lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else 0.0,
            "cpuUsPerCall": cpu * 1e6 / max(1, state["total"])}


def main():
    import grpc
    import grpc.aio  # noqa: F401
    bodies = read_bodies(sys.argv[1])
    job = json.loads(sys.argv[2])
    res = asyncio.run(run(job, bodies, grpc))
    sys.stdout.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
