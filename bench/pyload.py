"""How the Python (grpcio) load generators send: bench/grpc/load.py and
bench/parking/load.py import this from the source tree.

Closed loop (rate 0): `callers` callers each await `start_call(k)` back to
back until the measured window ends. Open loop: each caller is its own Poisson
process at rate / callers (exponential gaps, seeded by `seed(k)`), and starts
`start_call(k)` at each due time without waiting for the previous call, as
independent clients do; how late each send in the measured window was against
its schedule is returned (ms), so a generator that falls behind shows.
"""
import asyncio
import math
import random
import time


async def run_callers(callers, rate_per_s, t0, w0, w1, seed, start_call):
    lags = []
    if rate_per_s <= 0:
        async def closed(k):
            while time.perf_counter() < w1:
                await start_call(k)
        await asyncio.gather(*(closed(k) for k in range(callers)))
        return lags
    mean_gap = callers / rate_per_s
    pending = []

    async def caller(k):
        rand = random.Random(seed(k))
        due = t0 - mean_gap * math.log(1 - rand.random())
        while due < w1:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if due >= w0:
                lags.append((time.perf_counter() - due) * 1000)
            pending.append(asyncio.ensure_future(start_call(k)))
            due -= mean_gap * math.log(1 - rand.random())
    await asyncio.gather(*(caller(k) for k in range(callers)))
    await asyncio.gather(*pending)
    return lags
