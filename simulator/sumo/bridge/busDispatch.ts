/**
 * Buses in SUMO asking greenwave for priority the way a dispatch system does:
 * over gRPC (BusPriorityService), authenticated with a dispatch token. A bus
 * on a signal's approach (its approach edge, or an edge that can only lead
 * into it) sends RequestPriority once its arrival at the stop line is at most
 * `requestEtaS` away, UpdatePriority once within 15 s if the arrival moved by
 * more than 3 s, and CancelPriority once it has crossed. The movement is the through movement of its
 * approach. Called by runInSumo (inSumo.ts) every step.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../../service/server.js';
import type { SumoMapping } from '../importNet.js';
import type { SumoGraph } from '../routes.js';

type Client = grpc.Client & Record<string, unknown>;

export interface BusState {
  readonly id: string;
  readonly edge: string;
  readonly lanePosM: number;
  readonly speedMps: number;
}

export interface BusDispatchOptions {
  readonly address: string;
  readonly token: string;
  /** Seconds behind schedule every bus reports. */
  readonly latenessS: number;
  /** First request this far ahead of the stop line, s (default 60). */
  readonly requestEtaS?: number;
}

export class BusDispatch {
  requests = 0;
  updates = 0;
  cancels = 0;
  granted = 0;
  errors = 0;
  firstError = '';
  private readonly client: Client;
  private readonly approach = new Map<string, { intersectionId: string; movement: string }>();
  /** Per bus: the approach edge it asked on and the arrival it sent (sim s), and whether it updated. */
  private readonly open = new Map<string, { edge: string; intersectionId: string; arrivalS: number; updated: boolean }>();

  /** Edge → distance from its start to the stop line of the signal it leads to, m (approach edges and the edges that can only lead into them). */
  private readonly toLineFromStartM = new Map<string, number>();

  constructor(
    mapping: SumoMapping,
    graph: SumoGraph,
    private readonly o: BusDispatchOptions,
  ) {
    const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
    this.client = new pkg.greenwave.v1['BusPriorityService']!(o.address, grpc.credentials.createInsecure());
    const prev = new Map<string, string[]>();
    for (const [from, tos] of graph.next) for (const to of tos) prev.set(to, [...(prev.get(to) ?? []), from]);
    for (const m of mapping.intersections) {
      for (const ap of m.approaches) {
        // The approach edge, and upstream the edges whose only way on is towards it (a split
        // for a turn bay, a node without a junction): a bus checks in on any of them.
        const target = { intersectionId: m.intersectionId, movement: `${ap.approach}T` };
        let edge = ap.edgeId;
        let dist = graph.edges.get(edge)?.lengthM ?? 0;
        for (;;) {
          this.approach.set(edge, target);
          this.toLineFromStartM.set(edge, dist);
          const up = prev.get(edge) ?? [];
          const single = up.filter((p) => (graph.next.get(p) ?? []).length === 1);
          if (up.length !== 1 || single.length !== 1 || this.approach.has(single[0]!)) break;
          edge = single[0]!;
          dist += graph.edges.get(edge)?.lengthM ?? 0;
        }
      }
    }
  }

  /** Check-ins for the buses now in the network, at simulated time `tS`. */
  async observe(tS: number, buses: readonly BusState[]): Promise<void> {
    const seen = new Set<string>();
    for (const b of buses) {
      seen.add(b.id);
      // Inside a junction (SUMO's internal edges start with ':') nothing changes until it is out.
      if (b.edge.startsWith(':')) continue;
      const prev = this.open.get(b.id);
      if (prev && this.approach.get(b.edge)?.intersectionId !== prev.intersectionId) {
        await this.call('CancelPriority', { vehicle_id: b.id, intersection_id: prev.intersectionId });
        this.cancels++;
        this.open.delete(b.id);
      }
      const ap = this.approach.get(b.edge);
      if (!ap) continue;
      const toLineM = Math.max(0, (this.toLineFromStartM.get(b.edge) ?? 0) - b.lanePosM);
      const etaS = toLineM / Math.max(b.speedMps, 3);
      const current = this.open.get(b.id);
      const req = { vehicle_id: b.id, route_id: 'bus', intersection_id: ap.intersectionId, movement: ap.movement, eta_s: Math.round(etaS * 10) / 10, lateness_s: this.o.latenessS, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' };
      if (!current && etaS <= (this.o.requestEtaS ?? 60)) {
        const res = await this.call('RequestPriority', req);
        this.requests++;
        if (res?.['granted']) this.granted++;
        this.open.set(b.id, { edge: b.edge, intersectionId: ap.intersectionId, arrivalS: tS + etaS, updated: false });
      } else if (current && !current.updated && etaS <= 15 && Math.abs(tS + etaS - current.arrivalS) > 3) {
        const res = await this.call('UpdatePriority', req);
        this.updates++;
        if (res?.['granted']) this.granted++;
        current.updated = true;
        current.arrivalS = tS + etaS;
      }
    }
    // Buses that left the network.
    for (const [id, prev] of this.open) {
      if (seen.has(id)) continue;
      await this.call('CancelPriority', { vehicle_id: id, intersection_id: prev.intersectionId });
      this.cancels++;
      this.open.delete(id);
    }
  }

  private call(method: string, req: object): Promise<Record<string, unknown> | undefined> {
    const meta = new grpc.Metadata();
    meta.set('authorization', `Bearer ${this.o.token}`);
    return new Promise((resolve) =>
      (this.client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (err, res) => {
        if (err) {
          // A refusal (e.g. nothing to cancel after a grant expired) is the service's answer, not a failure of the bridge.
          this.errors++;
          this.firstError ||= `${method}: ${err.details}`;
          resolve(undefined);
        } else resolve(res);
      }),
    );
  }

  close(): void {
    this.client.close();
  }
}
