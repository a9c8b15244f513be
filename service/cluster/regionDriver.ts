/**
 * What a cluster node does with the regions it holds: keeps each held region's controllers on
 * the region's committed plan (regionPlans.ts), with the one deploy path there is
 * (service/deployer.ts over controllers-adapter's Modbus client). Called by nodeMain.ts from
 * ClusterNode's onAcquire and onLost (node.ts).
 *
 * - On taking a region, and on every plan committed for a region it holds, the node reads the
 *   committed plan (the bucket itself on taking it, not only its watch, which may lag) and
 *   rolls it out to the region's controllers under the plan's cluster-wide wire id. The
 *   Deployer reads each controller's active and pending plan id first and pushes only where
 *   neither is that id: a controller that the previous owner already gave the plan gets no
 *   second deployment, one it never reached gets it now.
 * - Fencing: every write to a controller (each block, CRC and commit of a push, and each poll
 *   while a plan waits for its cycle zero) first asks `holds(region)`, the lease's synchronous
 *   check (lease.ts); once it says no, the rollout ends with its deployments failed as
 *   "fenced" and nothing more is written. The next owner finishes them from the controllers'
 *   own state.
 * - One rollout at a time per region (the storage refuses a second deployment in flight to a
 *   controller); a plan committed meanwhile is rolled out after it, only the latest.
 *
 * The record: each committed plan rolled out is stored once per plan bucket revision
 * (`recordRegionPlan`), and each controller's deployment follows the storage's state machine
 * (staged → committed → confirmed or failed). With a node's own SQLite file (--db) a region's
 * history is spread over the nodes that held it; with the cluster's PostgreSQL (--pg) every
 * record write goes through `storageFor(region)`, a view fenced by the holding's lease token
 * (service/storage/regionFence.ts), so a node that lost the region can record nothing more for
 * it. A new holding first ends the previous holder's deployments still in flight to the
 * region's controllers (`supersedeDeployments`): the controllers' own state tells the rollout
 * what is left to do.
 */
import type { KV } from 'nats';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { ControllerClient, ControllerEndpoint } from '../../controllers-adapter/modbus/client.js';
import { Deployer, type DeployerOptions, type RolloutReport } from '../deployer.js';
import type { Actor, Storage } from '../storage/storage.js';
import { parsePlanBody, readRegionPlan, regionWirePlanId, type CommittedRegionPlan } from './regionPlans.js';

export interface RegionDriverOptions {
  readonly nodeId: string;
  readonly storage: Storage;
  /**
   * The record to write a region's rollout to, asked at each rollout: the cluster's fenced view
   * for the current holding (nodeMain.ts, --pg). Default: `storage`.
   */
  readonly storageFor?: (regionId: string) => Storage;
  /**
   * Each region's own network (engine/cluster/regionNetwork.ts: its committed plan is sized by
   * it), its controllers (intersection indices in that network) and the client that talks to
   * them (unit ids distinct within a region).
   */
  readonly regions: ReadonlyMap<string, { readonly c: CompiledNetwork; readonly client: ControllerClient; readonly endpoints: readonly ControllerEndpoint[] }>;
  /** The plan bucket (regionPlans.ts). */
  readonly plans: KV;
  /** The lease check (ClusterNode.holds): synchronous, asked before every write. */
  readonly holds: (regionId: string) => boolean;
  /** Controllers talked to at once per region, status poll period (DeployerOptions). */
  readonly deployer?: Pick<DeployerOptions, 'parallel' | 'pollMs'>;
  /** Each fencing check that let a write (or a poll of a deployment) go ahead: for logs and the drive test. */
  readonly onAllowed?: (regionId: string) => void;
  /** Each rollout that ended (every deployment confirmed, failed or fenced). */
  readonly onRollout?: (regionId: string, plan: { revision: number; wirePlanId: number; startedAtMs: number }, report: RolloutReport) => void;
  readonly log?: (line: string) => void;
}

export class RegionDriver {
  private readonly latest = new Map<string, CommittedRegionPlan>();
  /** The revision rolled out to the end during the current holding of each region. */
  private readonly doneRevision = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly deployers = new Map<string, (storage: Storage) => Deployer>();
  private readonly actor: Actor;
  private watch: { stop(): void } | undefined;
  private stopped = false;

  private constructor(private readonly opts: RegionDriverOptions) {
    this.actor = { user: `node:${opts.nodeId}` };
    for (const [r, { c, client, endpoints }] of opts.regions) {
      this.deployers.set(
        r,
        (storage) => new Deployer(storage, client, c, endpoints, opts.log, undefined, {
          ...opts.deployer,
          mayWrite: () => {
            if (this.stopped || !opts.holds(r)) return false;
            opts.onAllowed?.(r);
            return true;
          },
        }),
      );
    }
  }

  /** Starts watching the plan bucket; regions are driven once `acquired` says so. */
  static async start(opts: RegionDriverOptions): Promise<RegionDriver> {
    const d = new RegionDriver(opts);
    const w = await opts.plans.watch({ key: '>' });
    d.watch = w;
    void (async () => {
      for await (const e of w) {
        if (e.operation !== 'PUT' || !d.deployers.has(e.key)) continue;
        try {
          d.note({ regionId: e.key, revision: e.revision, body: parsePlanBody(e.key, e.string()) });
        } catch (err) {
          opts.log?.(`greenwave node ${opts.nodeId}: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (opts.holds(e.key)) d.kick(e.key);
      }
    })();
    return d;
  }

  /** The region is now held: roll its committed plan out (again: a new holding starts afresh). */
  acquired(regionId: string): void {
    if (!this.deployers.has(regionId)) return;
    this.doneRevision.delete(regionId);
    this.kick(regionId, true);
  }

  /** The region is lost: its rollout stops at its next write (the fence), nothing else to do. */
  lost(regionId: string): void {
    this.doneRevision.delete(regionId);
  }

  /** Ends the watch; rollouts in flight stop at their next write. Resolves when they ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    await Promise.all([...this.chains.values()]);
  }

  private note(p: CommittedRegionPlan): void {
    const known = this.latest.get(p.regionId);
    if (!known || p.revision > known.revision) this.latest.set(p.regionId, p);
  }

  private kick(regionId: string, reread = false): void {
    const chain = (this.chains.get(regionId) ?? Promise.resolve()).then(() => this.run(regionId, reread));
    this.chains.set(
      regionId,
      chain.catch((err: unknown) => this.opts.log?.(`greenwave node ${this.opts.nodeId}: region ${regionId}: ${err instanceof Error ? err.message : String(err)}`)),
    );
  }

  /** Rolls the latest committed plan out while the region is held and it has not been. */
  private async run(regionId: string, reread: boolean): Promise<void> {
    if (!this.opts.holds(regionId)) return;
    const storage = this.opts.storageFor?.(regionId) ?? this.opts.storage;
    if (reread) {
      // A new holding: what the previous holder left in flight to these controllers is ended in
      // the record (its rollout reads the controllers and finishes the work).
      const { c, endpoints } = this.opts.regions.get(regionId)!;
      const ids = endpoints.map((e) => c.intersectionIds[e.intersection]!);
      const ended = await storage.supersedeDeployments(this.actor, ids, `superseded: region ${regionId} taken over by node ${this.opts.nodeId}, whose rollout reads the controller and finishes it`);
      if (ended > 0) this.opts.log?.(`greenwave node ${this.opts.nodeId}: region ${regionId}: ended ${ended} deployments a previous holder left in flight`);
      const p = await readRegionPlan(this.opts.plans, regionId);
      if (p) this.note(p);
    }
    for (;;) {
      if (this.stopped || !this.opts.holds(regionId)) return;
      const p = this.latest.get(regionId);
      if (!p || this.doneRevision.get(regionId) === p.revision) return;
      const wire = regionWirePlanId(p.revision);
      const startedAtMs = Date.now();
      const stored = await storage.recordRegionPlan(this.actor, { regionId, revision: p.revision, body: p.body, reason: `region ${regionId}: committed plan, revision ${p.revision}` });
      const report = await this.deployers.get(regionId)!(storage).rollout(this.actor, stored.planId, `${this.opts.nodeId}:${regionId}:${p.revision}:${Date.now()}`, { wirePlanId: wire });
      this.opts.onRollout?.(regionId, { revision: p.revision, wirePlanId: wire, startedAtMs }, report);
      // Done for this holding only if it still holds the region: a fenced rollout is the next owner's to finish.
      if (this.opts.holds(regionId)) this.doneRevision.set(regionId, p.revision);
    }
  }
}
