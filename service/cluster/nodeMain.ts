/**
 * One cluster node as a process, for trying the cluster on loopback (docs/cluster.md) and for
 * the drive test (drive.test.ts), which kills it with SIGKILL:
 *
 *   node dist/service/cluster/nodeMain.js --id a --nats nats://127.0.0.1:4222,… \
 *     (--network city.json [--max-signals 300] | --regions 36) [--ttl-ms 3000] [--replicas 3] [--write-ms 100] [--inbox [--ack-wait-ms 5000]]
 *     [--controllers controllers.json (--db node.db | --pg URL) [--parallel 8] [--poll-ms 200]]
 *     [--grpc-port 0 --tokens tokens.json [--grpc-host 127.0.0.1] [--forward-ms 1000]]
 *     [--ingest] [--no-write-lines]
 *
 * Regions come from the network file (regions.ts) or are `--regions` synthetic ids. Every
 * event is one JSON line on stdout: {"e":"ready"}, {"e":"acquire","r":…,"token":…},
 * {"e":"lost","r":…,"why":…}, and with --write-ms a {"e":"write","r":…} every so often for
 * each region held, written only after `holds` said yes: the place where a driving node would
 * write to the region's controllers (this slice writes to none). Each line carries "t", the
 * wall clock in ms. With --inbox the node reads each held region's inbox (regionBus.ts) and
 * prints {"e":"msg","r":…,"seq":…} for each message before acknowledging it.
 *
 * With --controllers (and --network) the node drives the controllers of the regions it holds
 * (regionDriver.ts): it keeps them on each region's committed plan (regionPlans.ts) with the
 * Deployer, recording deployments in its own SQLite file (--db). The file lists every
 * controller: [{"intersection": id, "host": …, "port": …, "unitId": …}, …] (unit ids distinct
 * within a region). Then {"e":"write","r":…} is printed at every fencing check that let a write
 * to a region's controllers (or a poll of a deployment) go ahead, and
 * {"e":"rollout","r":…,"revision":…,"wire":…,"ms":…,"confirmed":…,"failed":…,"fenced":…} when a
 * rollout ends (fenced: deployments it left to the region's next owner).
 *
 * With --pg URL instead of --db the record is the cluster's PostgreSQL (docs/cluster.md, "The
 * shared record"): plans, deployments, priority journal and audit, every write of a region
 * fenced by the holding's lease token (service/storage/regionFence.ts).
 *
 * With --grpc-port (and --network, --tokens) the node serves BusPriorityService's
 * RequestPriority, UpdatePriority and CancelPriority (front.ts, plaintext): decided here for the
 * regions it holds, forwarded to the holder for the others; it prints {"e":"grpc","port":…}.
 * With --controllers too, a held region's decisions are sent to its controllers as priority
 * overrides (fenced by the lease); with --pg they are journaled in the record.
 * With --ingest (and --network) the node keeps each held region's latest detector counts from
 * its inbox and re-plans the regions it holds on a message on `gw.cluster.replan`
 * (regionReplan.ts), printing {"e":"ingest","msgs":…,"counts":…} every 250 ms while they
 * change and {"e":"replan",…} with each answer; a coordinated re-plan coordinates its regions
 * across their borders through the bucket `greenwave-borders` (borderStates.ts). --no-write-lines leaves out the write lines
 * of --controllers (one per fencing check: hundreds of thousands for 20,000 controllers).
 * Every region's plan, Modbus client and priority state work on the region's own network
 * (engine/cluster/regionNetwork.ts).
 * SIGTERM or SIGINT gives the leases back and exits.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../../engine/network/compile.js';
import { regionNetwork } from '../../engine/cluster/regionNetwork.js';
import { partitionRegions } from '../../engine/cluster/regions.js';
import { connect, type JsMsg, type KV } from 'nats';
import { ControllerClient, type ControllerEndpoint } from '../../controllers-adapter/modbus/client.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { PostgresStorage } from '../storage/postgres.js';
import type { SqlStorage } from '../storage/sqlStorage.js';
import { FENCED_REASON } from '../deployer.js';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { TokenStore } from '../auth.js';
import { ClusterNode, retrying } from './node.js';
import { NodeFront } from './front.js';
import { RegionDriver } from './regionDriver.js';
import { openPlanBucket } from './regionPlans.js';
import { regionSubject } from './regionBus.js';
import { BorderMemory, RegionCounts, serveReplans } from './regionReplan.js';
import { openBorderBucket } from './borderStates.js';
import { regionBorders, type RegionBorders } from '../../engine/cluster/borders.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    network: { type: 'string' },
    'max-signals': { type: 'string', default: '300' },
    regions: { type: 'string' },
    'ttl-ms': { type: 'string', default: '3000' },
    replicas: { type: 'string', default: '1' },
    'write-ms': { type: 'string', default: '0' },
    inbox: { type: 'boolean', default: false },
    ingest: { type: 'boolean', default: false },
    'no-write-lines': { type: 'boolean', default: false },
    'ack-wait-ms': { type: 'string', default: '5000' },
    controllers: { type: 'string' },
    db: { type: 'string' },
    pg: { type: 'string' },
    parallel: { type: 'string', default: '8' },
    'poll-ms': { type: 'string', default: '200' },
    'grpc-port': { type: 'string' },
    'grpc-host': { type: 'string', default: '127.0.0.1' },
    tokens: { type: 'string' },
    'forward-ms': { type: 'string', default: '1000' },
  },
});

function fail(message: string): never {
  process.stderr.write(`nodeMain: ${message}\n`);
  process.exit(2);
}

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, n: values.id, t: Date.now() })}\n`);
};

if (!values.id) fail('--id is required');
let regionIds: string[];
/** With --controllers: each region's network, controllers (indices in that network) and a client for them. */
let driven: Map<string, { c: CompiledNetwork; client: ControllerClient; endpoints: ControllerEndpoint[] }> | undefined;
/** With --network: each region's own network (regionNetwork.ts), compiled. */
const networks = new Map<string, CompiledNetwork>();
if (values.controllers !== undefined && (values.network === undefined || (values.db === undefined) === (values.pg === undefined))) fail('--controllers needs --network (the regions) and one of --db (the node\'s own record) or --pg (the cluster\'s record)');
if (values['grpc-port'] !== undefined && (values.network === undefined || values.tokens === undefined)) fail('--grpc-port needs --network (the regions) and --tokens (who may call)');
if (values.ingest && values.network === undefined) fail('--ingest needs --network (the regions\' detectors)');
/** With --ingest: each region's border links and component (engine/cluster/borders.ts), for coordinated re-plans. */
let borders: Map<string, RegionBorders> | undefined;
/** With --grpc-port: intersection id → region id. */
const regionOf = new Map<string, string>();
if (values.network) {
  const net = loadNetwork(readFileSync(values.network, 'utf8'), values.network);
  const plan = partitionRegions(net, Number(values['max-signals']));
  regionIds = plan.regions.map((r) => r.id);
  for (const r of plan.regions) for (const id of r.signalIds) regionOf.set(id, r.id);
  if (values['grpc-port'] !== undefined || values.controllers !== undefined || values.ingest) {
    for (const r of plan.regions) networks.set(r.id, compileNetwork(regionNetwork(net, r)));
  }
  if (values.ingest) borders = regionBorders(net, plan);
  if (values.controllers !== undefined) {
    const listed = JSON.parse(readFileSync(values.controllers, 'utf8')) as { intersection: string; host: string; port: number; unitId: number }[];
    if (!Array.isArray(listed)) fail(`${values.controllers}: must be an array of {intersection, host, port, unitId}`);
    const byId = new Map<string, { host: string; port: number; unitId: number }>();
    listed.forEach((e, k) => {
      if (!regionOf.has(e.intersection)) fail(`${values.controllers}: [${k}].intersection: ${JSON.stringify(e.intersection)} is not in ${values.network}`);
      byId.set(e.intersection, { host: e.host, port: e.port, unitId: e.unitId });
    });
    driven = new Map();
    for (const r of plan.regions) {
      const c = networks.get(r.id)!;
      const endpoints = c.intersectionIds.flatMap((id, i) => {
        const e = byId.get(id);
        return e ? [{ ...e, intersection: i }] : [];
      });
      // The client checks the endpoints (unit ids 1..247, distinct within the region).
      driven.set(r.id, { c, client: new ControllerClient(c, endpoints), endpoints });
    }
  }
} else if (values.regions) {
  const n = Number(values.regions);
  if (!Number.isInteger(n) || n < 1) fail(`--regions must be an integer >= 1, got ${values.regions}`);
  regionIds = Array.from({ length: n }, (_, k) => `r${String(k).padStart(4, '0')}`);
} else {
  fail('give --network <file> or --regions <count>');
}

const driving = new Set<string>();
const servers = values.nats.split(',');
const replicas = Number(values.replicas);
// The driver first (its plan watch and storage), so that the first region taken is driven.
const holder: { node?: ClusterNode } = {};
const taken: string[] = [];
let driver: RegionDriver | undefined;
let storage: SqlStorage | undefined;
/** The lease token of each region's current (or last) holding: what its record writes are fenced by. */
const tokens = new Map<string, number>();
/** With --pg: the record for region r, fenced by the current holding's token (or, once lost, the last one's: refused after a takeover). */
const fencedFor = (r: string): SqlStorage => {
  const token = holder.node?.leases.token(r) ?? tokens.get(r);
  if (!storage || token === undefined) throw new GreenwaveError(ErrorCode.Fenced, `region ${r}: this node never held it: nothing may be recorded for it`);
  return storage.fenced({ regionId: r, token, nodeId: values.id! });
};
let plansNc: Awaited<ReturnType<typeof connect>> | undefined;
let front: NodeFront | undefined;
let plansKv: KV | undefined;
let borderKv: KV | undefined;
const borderMemory = new BorderMemory();
const counts = values.ingest ? new RegionCounts(networks) : undefined;
if (driven || values['grpc-port'] !== undefined || values.ingest) {
  plansNc = await connect({ servers, name: `greenwave-${values.id}-plans`, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
  const plans = await retrying(30_000, () => openPlanBucket(plansNc!, { replicas, timeoutMs: 30_000 }));
  plansKv = plans;
  if (values.ingest) borderKv = await retrying(30_000, () => openBorderBucket(plansNc!, { replicas, timeoutMs: 30_000 }));
  if (values.pg !== undefined) storage = await PostgresStorage.open({ url: values.pg });
  else if (driven) storage = await SqliteStorage.open({ path: values.db! });
  if (values['grpc-port'] !== undefined) {
    const drivenNow = driven;
    front = await NodeFront.start({
      nodeId: values.id,
      nc: plansNc,
      networkOf: (r) => networks.get(r)!,
      regionOf,
      plans,
      holds: (r) => holder.node?.holds(r) ?? false,
      tokens: TokenStore.fromFile(values.tokens!),
      host: values['grpc-host'],
      port: Number(values['grpc-port']),
      forwardTimeoutMs: Number(values['forward-ms']),
      ...(drivenNow ? { field: (r: string) => drivenNow.get(r) } : {}),
      ...(values.pg !== undefined ? { journalFor: (r: string) => (holder.node?.holds(r) ? fencedFor(r) : undefined) } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
    });
  }
}
if (driven && storage && plansNc) {
  const plans = await openPlanBucket(plansNc, { replicas, timeoutMs: 30_000 });
  driver = await RegionDriver.start({
    nodeId: values.id,
    storage,
    ...(values.pg !== undefined ? { storageFor: fencedFor } : {}),
    regions: driven,
    plans,
    holds: (r) => holder.node?.holds(r) ?? false,
    deployer: { parallel: Number(values.parallel), pollMs: Number(values['poll-ms']) },
    ...(values['no-write-lines'] ? {} : { onAllowed: (r: string) => emit({ e: 'write', r }) }),
    onRollout: (r, p, rep) => {
      const fenced = rep.failed.filter((f) => f.reason.startsWith(FENCED_REASON)).length;
      emit({ e: 'rollout', r, revision: p.revision, wire: p.wirePlanId, ms: Date.now() - p.startedAtMs, confirmed: rep.confirmed, failed: rep.failed.length - fenced, fenced, reasons: [...new Set(rep.failed.map((f) => f.reason))].slice(0, 3) });
    },
    log: (line) => process.stderr.write(`${line}\n`),
  });
}
const node = await ClusterNode.start({
  nodeId: values.id,
  servers,
  regionIds,
  ttlMs: Number(values['ttl-ms']),
  replicas,
  onAcquire: (r, token) => {
    tokens.set(r, token);
    driving.add(r);
    emit({ e: 'acquire', r, token });
    front?.acquired(r);
    // Regions taken by the first round, inside start, are driven once `start` returned the node (holds needs it).
    if (holder.node) driver?.acquired(r);
    else taken.push(r);
  },
  onLost: (r, why) => {
    driving.delete(r);
    borderMemory.forget(r);
    front?.lost(r);
    emit({ e: 'lost', r, why });
    driver?.lost(r);
  },
  ...(values.inbox || values.ingest
    ? {
        inboxAckWaitMs: Number(values['ack-wait-ms']),
        onMessage: (r: string, m: JsMsg) => {
          if (counts && m.subject.startsWith(regionSubject(r, 'detector'))) counts.ingest(r, m.data);
          if (values.inbox) emit({ e: 'msg', r, seq: m.seq, redelivered: m.redelivered });
          m.ack();
        },
      }
    : {}),
}).catch((e: unknown) => fail(`cannot start: ${e instanceof Error ? e.message : String(e)}`));
holder.node = node;
for (const r of taken) driver?.acquired(r);
if (front) emit({ e: 'grpc', port: front.port });
emit({ e: 'ready', regions: regionIds.length });

const writeMs = Number(values['write-ms']);
const writer =
  writeMs > 0
    ? setInterval(() => {
        for (const r of driving) if (node.holds(r)) emit({ e: 'write', r });
      }, writeMs)
    : undefined;

// --ingest: what the inboxes took, every 250 ms while it changes; re-plans on request.
let seen = -1;
const ingestTimer = counts
  ? setInterval(() => {
      if (counts.messages === seen) return;
      seen = counts.messages;
      emit({ e: 'ingest', msgs: counts.messages, counts: counts.values, ignored: counts.ignored });
    }, 250)
  : undefined;
const replanSub =
  counts && plansNc && plansKv
    ? serveReplans(plansNc, {
        nodeId: values.id,
        regions: () => [...driving],
        networks,
        counts,
        plans: plansKv,
        holds: (r) => node.holds(r),
        ...(borderKv && borders ? { borders: { of: borders, kv: borderKv, memory: borderMemory } } : {}),
        onReply: (reply) => emit({ e: 'replan', ...reply }),
      })
    : undefined;

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  clearInterval(writer);
  clearInterval(ingestTimer);
  replanSub?.unsubscribe();
  await front?.close();
  await node.stop();
  await driver?.stop();
  await Promise.all([...(driven?.values() ?? [])].map((d) => d.client.close()));
  await plansNc?.drain().catch(() => {});
  await storage?.close();
  emit({ e: 'stopped' });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

