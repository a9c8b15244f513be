#!/usr/bin/env python3
"""bench/grpc load generator on grpcio (the C-core client, asyncio API): an
independent client implementation beside the grpc-js one (load.ts), in its own
process. Run by bench/grpc/run.ts with /usr/bin/python3 (Debian's python3-grpcio):

    load.py --stubs DIR '<LoadJob JSON>'

DIR holds the stubs grpc_tools.protoc generated from proto/. Sends exactly the
requests of protocol.ts priorityRequest and prints one LoadResult JSON line.
"""
import argparse
import asyncio
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pyload import run_callers  # noqa: E402  (bench/pyload.py, beside this folder)

IDS = ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8"]
TOKEN = "dispatch-secret-1"


def p99(xs):
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run(job, priority_pb2, priority_pb2_grpc, grpc):
    g = job["generator"]

    def request(n):
        # Same fields as protocol.ts priorityRequest (movement EBT, bus class).
        return priority_pb2.PriorityRequest(
            vehicle_id=f"bus-{g}-{n % 997}", route_id="7", intersection_id=IDS[n % 8], movement="EBT",
            eta_s=5 + (n % 40), lateness_s=30 + (n % 200), occupancy=30, priority_class=priority_pb2.PRIORITY_CLASS_BUS)

    # Distinct channel args keep the channels on separate connections (C-core otherwise may share them).
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{job['port']}", options=[("grpc.channel_id", k), ("grpc.use_local_subchannel_pool", 1)]) for k in range(job["channels"])]
    for ch in channels:
        await asyncio.wait_for(ch.channel_ready(), 5)
    stubs = [priority_pb2_grpc.BusPriorityServiceStub(ch) for ch in channels]
    md = (("authorization", f"Bearer {TOKEN}"),)
    lat = []
    state = {"n": 0, "errors": 0, "completed": 0, "first": ""}
    reasons = {}
    t0 = time.perf_counter()
    w0 = t0 + job["warmupMs"] / 1000
    w1 = w0 + job["durationMs"] / 1000
    cpu = {"start": None}

    async def mark_cpu():
        await asyncio.sleep(job["warmupMs"] / 1000)
        cpu["start"] = cpu_s()

    cpu_task = asyncio.ensure_future(mark_cpu())

    async def call(stub):
        n = state["n"]
        state["n"] += 1
        req = request(n)
        sent = time.perf_counter()
        try:
            res = await stub.RequestPriority(req, metadata=md, timeout=5)
            done = time.perf_counter()
            state["completed"] += 1
            if w0 <= sent < w1:
                lat.append((done - sent) * 1000)
                reason = priority_pb2.ReasonCode.Name(res.reason)
                reasons[reason] = reasons.get(reason, 0) + 1
        except grpc.RpcError as e:
            state["completed"] += 1
            if w0 <= sent < w1:
                state["errors"] += 1
                if not state["first"]:
                    state["first"] = f"{e.code().name}: {e.details()}"

    # Open loop: each caller is its own Poisson process (exponential gaps, mean callers / rate).
    rate = 0 if job["mode"] == "closed" else job["ratePerS"]
    lags = await run_callers(job["callers"], rate, t0, w0, w1, lambda k: g * 7919 + k + 1, lambda k: call(stubs[k % len(stubs)]))
    await cpu_task
    elapsed = max(time.perf_counter(), w1) - w0
    used = cpu_s() - cpu["start"]
    for ch in channels:
        await ch.close()
    return {"type": "result", "latenciesMs": lat, "errors": state["errors"], "completed": state["completed"], "reasons": reasons, "firstError": state["first"], "elapsedS": job["durationMs"] / 1000,
            "sendLagP99Ms": p99(lags), "cpuShare": used / elapsed}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("job")
    args = ap.parse_args()
    sys.path.insert(0, args.stubs)
    import grpc
    import grpc.aio  # noqa: F401
    from greenwave.v1 import priority_pb2, priority_pb2_grpc
    job = json.loads(args.job)
    res = asyncio.run(run(job, priority_pb2, priority_pb2_grpc, grpc))
    sys.stdout.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
