/**
 * One cluster node as a process, for trying the cluster on loopback (docs/cluster.md) and for
 * the failover test, which kills it with SIGKILL:
 *
 *   node dist/service/cluster/nodeMain.js --id a --nats nats://127.0.0.1:4222,… \
 *     (--network city.json [--max-signals 300] | --regions 36) [--ttl-ms 3000] [--replicas 3] [--write-ms 100] [--inbox [--ack-wait-ms 5000]]
 *
 * Regions come from the network file (regions.ts) or are `--regions` synthetic ids. Every
 * event is one JSON line on stdout: {"e":"ready"}, {"e":"acquire","r":…,"token":…},
 * {"e":"lost","r":…,"why":…}, and with --write-ms a {"e":"write","r":…} every so often for
 * each region held, written only after `holds` said yes: the place where a driving node would
 * write to the region's controllers (this slice writes to none). Each line carries "t", the
 * wall clock in ms. With --inbox the node reads each held region's inbox (regionBus.ts) and
 * prints {"e":"msg","r":…,"seq":…} for each message before acknowledging it. SIGTERM or SIGINT gives the leases back and exits.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadNetwork } from '../../engine/network/validate.js';
import { partitionRegions } from '../../engine/cluster/regions.js';
import type { JsMsg } from 'nats';
import { ClusterNode } from './node.js';

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
    'ack-wait-ms': { type: 'string', default: '5000' },
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
if (values.network) {
  const net = loadNetwork(readFileSync(values.network, 'utf8'), values.network);
  regionIds = partitionRegions(net, Number(values['max-signals'])).regions.map((r) => r.id);
} else if (values.regions) {
  const n = Number(values.regions);
  if (!Number.isInteger(n) || n < 1) fail(`--regions must be an integer >= 1, got ${values.regions}`);
  regionIds = Array.from({ length: n }, (_, k) => `r${String(k).padStart(4, '0')}`);
} else {
  fail('give --network <file> or --regions <count>');
}

const driving = new Set<string>();
const node = await ClusterNode.start({
  nodeId: values.id,
  servers: values.nats.split(','),
  regionIds,
  ttlMs: Number(values['ttl-ms']),
  replicas: Number(values.replicas),
  onAcquire: (r, token) => {
    driving.add(r);
    emit({ e: 'acquire', r, token });
  },
  onLost: (r, why) => {
    driving.delete(r);
    emit({ e: 'lost', r, why });
  },
  ...(values.inbox
    ? {
        inboxAckWaitMs: Number(values['ack-wait-ms']),
        onMessage: (r: string, m: JsMsg) => {
          emit({ e: 'msg', r, seq: m.seq, redelivered: m.redelivered });
          m.ack();
        },
      }
    : {}),
}).catch((e: unknown) => fail(`cannot start: ${e instanceof Error ? e.message : String(e)}`));
emit({ e: 'ready', regions: regionIds.length });

const writeMs = Number(values['write-ms']);
const writer =
  writeMs > 0
    ? setInterval(() => {
        for (const r of driving) if (node.holds(r)) emit({ e: 'write', r });
      }, writeMs)
    : undefined;

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  clearInterval(writer);
  await node.stop();
  emit({ e: 'stopped' });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
