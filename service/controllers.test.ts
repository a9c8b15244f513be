import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { demo, TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

/** A clock on a 150 s cycle boundary of I1 (offset 0), shared by the service and the controllers. */
const T0 = 150 * 12_000_000;
let now = T0 + 90;
type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };

let srv: RunningServer;
let field: ControllerServer;
let controllers: VirtualController[];

beforeAll(async () => {
  const { c, plan } = demo();
  // Controllers powered up a few cycles ago, running the demo plan in step with the offsets.
  controllers = c.intersectionIds.map((_, i) => new VirtualController(c, i, plan.buffer, { startS: T0 - 600, commLossTimeoutS: 0 }));
  field = await ControllerServer.start(
    controllers.map((controller, i) => ({ unitId: i + 1, controller })),
    { clock: () => now },
  );
  srv = await startServer({
    insecure: true,
    port: 0,
    tokens: TokenStore.fromFile(TOKENS_FILE),
    clock: () => now,
    controllers: controllers.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port: field.port })),
  });
});
afterAll(async () => {
  await srv?.close();
  await field?.close();
});

async function until(ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('priority decisions reach the field controllers (Modbus TCP)', () => {
  test('the base plan is pushed at start; a granted extension is running on the controller right after the answer', async () => {
    // Every controller has the service's plan committed (pending until its next cycle zero, or active).
    await until(() => controllers.every((k) => k.state().pendingPlanId !== 0 || k.state().activePlanId !== 0));
    expect(srv.controllers?.failures).toEqual([]);
    const bus = new pkg.greenwave.v1['BusPriorityService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const meta = new grpc.Metadata();
    meta.set('authorization', 'Bearer dispatch-secret-1');
    const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
      (bus['RequestPriority'] as (r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(
        { vehicle_id: 'field-bus-1', route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 10, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' },
        meta,
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(res).toMatchObject({ granted: true, strategy: 'STRATEGY_GREEN_EXTENSION', adjustment_s: 4.7 });
    const i1 = controllers[0]!;
    await until(() => i1.overridesRun > 0);
    const adjusted = srv.state.tsp.cycleAt(0, now);
    expect(adjusted.adjusted).toBe(true);
    expect(i1.runningCycle().cycleS).toBeCloseTo(adjusted.layout.cycleS, 6);
    expect(i1.runningCycle().startS).toBeCloseTo(adjusted.startS, 6);
    expect(i1.state().faults).toBe(0);
    expect(srv.controllers?.failures).toEqual([]);
    bus.close();
  });
});
