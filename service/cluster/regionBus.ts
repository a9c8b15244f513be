/**
 * Per-region subjects on NATS JetStream, and each region's durable inbox. Detector data,
 * plans and priority requests for a region are published on `gw.region.<region>.<kind>[.<signal>]`;
 * one stream keeps them all; each region has one durable pull consumer (its inbox) filtered
 * to its subjects. Whoever owns the region's lease (lease.ts) reads the inbox and acknowledges
 * what it handled; a node that took the region over binds to the same durable consumer and
 * gets everything published while no one owned it, plus what the old owner received but did
 * not acknowledge (redelivered once `ackWaitMs` passed). Delivery is at least once: a message
 * handled but not yet acknowledged when its owner died comes again, and the receiver tells
 * repeats by the stream sequence. Called by the cluster tests; ClusterNode does not open
 * inboxes yet (docs/cluster.md).
 *
 * Limits, set here on purpose rather than left at the server's unlimited defaults:
 *  - retention by limits, not work queue: acknowledged messages stay until their age or the
 *    byte cap removes them, so that an audit or a second reader can replay a region;
 *  - max age 1 h by default: older detector data and requests are of no use to a plan;
 *  - max 1 GiB by default, discard old: a region left unowned for long loses its oldest
 *    messages first, never blocks publishers; each limit is an option;
 *  - duplicate window 2 min: a publisher retrying with the same message id is stored once.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type JsMsg, type NatsConnection, nanos } from 'nats';
import { OptionError } from '../../engine/errors.js';

export const REGION_STREAM = 'GW_REGIONS';
export const REGION_SUBJECT_ROOT = 'gw.region';

export type RegionMessageKind = 'detector' | 'plan' | 'priority' | 'deployment';

const TOKEN = /^[-\w]+$/;

/** The subject of one kind of message for a region, and for one of its signals where given. */
export function regionSubject(regionId: string, kind: RegionMessageKind, signalId?: string): string {
  if (!TOKEN.test(regionId)) throw new OptionError('regionId', `must be letters, digits, - or _, got ${JSON.stringify(regionId)}`);
  if (signalId !== undefined && !TOKEN.test(signalId)) throw new OptionError('signalId', `must be letters, digits, - or _, got ${JSON.stringify(signalId)}`);
  return `${REGION_SUBJECT_ROOT}.${regionId}.${kind}${signalId === undefined ? '' : `.${signalId}`}`;
}

export interface RegionStreamOptions {
  readonly replicas?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
}

/** Creates the regions' stream if it is missing (its limits as above). */
export async function ensureRegionStream(jsm: JetStreamManager, opts: RegionStreamOptions = {}): Promise<void> {
  const config = {
    name: REGION_STREAM,
    subjects: [`${REGION_SUBJECT_ROOT}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(opts.maxAgeMs ?? 3_600_000),
    max_bytes: opts.maxBytes ?? 2 ** 30,
    duplicate_window: nanos(120_000),
    num_replicas: opts.replicas ?? 1,
  };
  try {
    await jsm.streams.info(REGION_STREAM);
  } catch {
    await jsm.streams.add(config);
  }
}

/** The durable name of a region's inbox. */
export const inboxName = (regionId: string): string => `region-${regionId}`;

/**
 * Creates a region's durable inbox if it is missing: explicit acks, from the stream's start,
 * redelivery after `ackWaitMs` (default 5 s) without limit on attempts.
 */
export async function ensureRegionInbox(jsm: JetStreamManager, regionId: string, opts: { ackWaitMs?: number } = {}): Promise<void> {
  const name = inboxName(regionId);
  try {
    await jsm.consumers.info(REGION_STREAM, name);
  } catch {
    await jsm.consumers.add(REGION_STREAM, {
      durable_name: name,
      filter_subject: `${REGION_SUBJECT_ROOT}.${regionId}.>`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs ?? 5000),
      max_ack_pending: 10_000,
    });
  }
}

/**
 * Reads a region's inbox while its owner holds the region: `handle` gets each message and
 * acknowledges it (msg.ack()) once handled. `stop` ends the reading at once (call it from the
 * lease's onLost); what was not acknowledged goes to the next owner.
 */
export class RegionInbox {
  private stopped = false;
  private messages: { stop(): void } | undefined;
  private constructor(private readonly done: Promise<void>) {}

  static async open(nc: NatsConnection, regionId: string, handle: (msg: JsMsg) => void): Promise<RegionInbox> {
    const consumer = await nc.jetstream().consumers.get(REGION_STREAM, inboxName(regionId));
    // Pull requests that expire in 2 s, not the client's default 30 s: the server may still hold
    // the pulls of an inbox that stopped (or of a node that died) and hand them messages that
    // then wait for the ack wait; short pulls bound how long a new owner waits for them.
    const messages = await consumer.consume({ max_messages: 256, expires: 2000 });
    let inbox: RegionInbox | undefined;
    const done = (async () => {
      for await (const m of messages) {
        if (inbox?.stopped) break;
        handle(m);
      }
    })();
    inbox = new RegionInbox(done);
    inbox.messages = messages;
    return inbox;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.done.catch(() => {});
  }
}
