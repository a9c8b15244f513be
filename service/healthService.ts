/**
 * The standard grpc.health.v1 service: Check and Watch, unauthenticated,
 * SERVING until close() begins. Watches have a budget of their own
 * (maxHealthWatches), never counted against maxStreams, and are told
 * NOT_SERVING when the server drains (startServer's close, ./server.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { notFound, toGrpcStatus } from './errors.js';
import type { Release } from './governance.js';
import { str, type Obj } from './messages.js';
import type { ServiceContext } from './calls.js';

/** The services a health check may name ('' = the server as a whole): every one startServer registers (./healthService.test.ts checks). */
export const HEALTH_SERVICES: readonly string[] = ['', 'greenwave.v1.BusPriorityService', 'greenwave.v1.SignalStateService', 'greenwave.v1.TimingService', 'greenwave.v1.OperationsService', 'greenwave.v1.EventService', 'greenwave.v1.ParkingGuidanceService', 'greenwave.v1.TrafficStateService'];
const KNOWN = new Set(HEALTH_SERVICES);

/** The handlers of grpc.health.v1.Health. */
export function healthService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const { gate, gov } = ctx;
  const healthStatus = (svc: string): string => (!KNOWN.has(svc) ? 'SERVICE_UNKNOWN' : gate.serving ? 'SERVING' : 'NOT_SERVING');
  return {
    Check: gate.unary(null, (r) => {
      const svc = str(r['service']);
      if (!KNOWN.has(svc)) throw notFound(`service: unknown service "${svc}"`);
      return { status: healthStatus(svc) };
    }),
    Watch: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      let release: Release;
      try {
        gate.admit(call, null);
        release = gov.enterHealthWatch();
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      gate.healthWatchers.add(call);
      const done = (): void => {
        release();
        gate.healthWatchers.delete(call);
      };
      for (const ev of ['cancelled', 'close', 'finish', 'error']) call.on(ev, done);
      call.write({ status: healthStatus(str(call.request['service'])) });
    },
  };
}
