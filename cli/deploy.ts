/**
 * `greenwave deploy --network net.json --counts counts.csv [--at HH:MM]
 *   --controllers HOST:PORT [--db PATH | --pg URL] [--recover]`: plans the
 * network, stores the plan (with the exact buffer to send) and rolls it out to
 * every intersection's controller over Modbus TCP (unit id = intersection
 * index + 1), tracking each deployment in the storage (service/deployer.ts).
 * It first finishes or reports whatever a killed earlier run left in flight;
 * `--recover` does only that. Prints the rollout and exits 0 when every
 * controller confirmed, 1 when some failed (each named with its reason), 2 for
 * usage and input errors. Run by cli/main.ts (runAsync).
 */
import { parseArgs } from 'node:util';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { DEFAULT_SQLITE_PATH } from '../service/storage/location.js';


/** Options of `greenwave deploy` (also listed by its --help). */
export const DEPLOY_OPTIONS = {
  network: { type: 'string' },
  counts: { type: 'string' },
  at: { type: 'string' },
  controllers: { type: 'string' },
  db: { type: 'string' },
  pg: { type: 'string' },
  recover: { type: 'boolean', default: false },
} as const;

export const DEPLOY_USAGE = `usage: greenwave deploy --network <net.json> --counts <counts.csv> [--at HH:MM] --controllers HOST:PORT
                        [--db var/greenwave.db | --pg postgres://…] [--recover]
  Plans the network, stores the plan and rolls it out to every intersection's
  controller (Modbus TCP, unit id = intersection index + 1), each deployment
  tracked staged → committed → confirmed or failed (docs/storage.md). Finishes
  first whatever a killed earlier run left in flight. Exit 0 when every
  controller confirmed, 1 when some failed.
  --network, --counts, --at   what to plan (as greenwave plan)
  --controllers H:P           the controllers' Modbus TCP address
  --db PATH, --pg URL         where deployments are kept (default ${DEFAULT_SQLITE_PATH})
  --recover                   only finish or report deployments left in flight
`;

const usage = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, `${message}\n\n${DEPLOY_USAGE}`);

export async function cmdDeploy(args: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: DEPLOY_OPTIONS });
  if (!values.network) throw usage('deploy: --network is required');
  if (!values.recover && !values.counts) throw usage('deploy: --counts is required (or --recover)');
  const m = values.controllers === undefined ? null : /^(.+):(\d{1,5})$/.exec(values.controllers);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw usage(`deploy: --controllers "${values.controllers ?? ''}" must be HOST:PORT (a Modbus TCP address)`);
  if (values.db !== undefined && values.pg !== undefined) throw usage('deploy: give --db or --pg, not both');
  const [{ readText }, { loadCompiledNetwork }, { demandFor, prepareCounts }, { planNetwork }, { ControllerClient }, { Deployer, deployableBody }, { openStorage }] = await Promise.all([
    import('./io.js'),
    import('../engine/network/load.js'),
    import('../engine/demand.js'),
    import('../engine/plan.js'),
    import('../controllers-adapter/modbus/client.js'),
    import('../service/deployer.js'),
    import('../service/storage/open.js'),
  ]);
  const c = loadCompiledNetwork(values.network);
  const endpoints = c.intersectionIds.slice(0, 247).map((_, i) => ({ unitId: i + 1, intersection: i, host: m[1]!, port }));
  const storage = await openStorage({ db: values.pg === undefined ? (values.db ?? DEFAULT_SQLITE_PATH) : undefined, pg: values.pg });
  const client = new ControllerClient(c, endpoints, { timeoutMs: 1000, connectTimeoutMs: 1000, retries: 2 });
  const actor = { user: process.env['USER'] ?? 'operator' };
  try {
    const deployer = new Deployer(storage, client, c, endpoints, (line) => out(`${line}\n`));
    const recovered = await deployer.recover(actor);
    if (values.recover) {
      out(`recovered ${recovered.finished} deployment${recovered.finished === 1 ? '' : 's'} left in flight; ${recovered.failed.length} failed\n`);
      for (const f of recovered.failed) out(`  ${f.controllerId}: ${f.reason}\n`);
      return recovered.failed.length === 0 ? 0 : 1;
    }
    const demand = demandFor(prepareCounts(c, readText(values.counts!, 'counts file'), values.counts!), values.at);
    const plan = planNetwork(c, demand.volumeVeh, demand.intervalS);
    const stored = await storage.saveTimingPlan(actor, { scope: { kind: 'network', id: c.network.name || values.network }, body: deployableBody(c, plan.buffer, plan.corridors, demand.forInterval, plan.plans), reason: `deploy: plan for ${demand.forInterval}`, source: 'optimizer' });
    const rolloutId = `rollout-${stored.planId}-${Date.now()}`;
    const report = await deployer.rollout(actor, stored.planId, rolloutId);
    out(`plan ${stored.planId} (version ${stored.version}, for ${demand.forInterval}) rolled out as ${rolloutId}: ${report.confirmed} of ${endpoints.length} controllers confirmed\n`);
    for (const f of report.failed) out(`  FAILED ${f.controllerId}: ${f.reason}\n`);
    return report.failed.length === 0 ? 0 : 1;
  } finally {
    await client.close();
    await storage.close();
  }
}
