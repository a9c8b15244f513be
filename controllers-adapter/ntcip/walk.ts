/**
 * GETNEXT and GETBULK for the NTCIP agent (./agent.ts), replacing net-snmp
 * 3.29's own, which break SNMPv2c (RFC 3416) in three ways:
 *  - a GETNEXT past the last object answers noSuchObject with the requested
 *    OID (the end-of-MIB varbind is looked up again as if it were a GET);
 *    RFC 3416 §4.2.2 says endOfMibView. Over SNMPv1, which has no exceptions,
 *    the answer is now error noSuchName at that varbind (RFC 1157 §4.1.3);
 *  - GETBULK counts max-repetitions against the total number of varbinds
 *    (non-repeaters included), not per repeater, so `-Cn1 -Cr5` with two
 *    repeaters returned 5 varbinds instead of 1 + 5 × 2;
 *  - past the end it keeps adding endOfMibView varbinds up to max-repetitions,
 *    and never checks the message size: a large max-repetitions builds a
 *    response bigger than a UDP datagram, the send fails (EMSGSIZE) and the
 *    manager gets no answer at all.
 * Here GETBULK follows RFC 3416 §4.2.3: N non-repeaters get one GETNEXT each,
 * then up to M rounds of one GETNEXT per repeater; it stops early once every
 * repeater is at endOfMibView, and the response is cut, from the end, to the
 * largest prefix whose encoded message fits `maxMessageBytes` (default 1472,
 * an Ethernet MTU less the IP and UDP headers, so no response is fragmented).
 * Only when even the non-repeaters do not fit is the answer tooBig (empty
 * varbinds). Work per request is bounded: at most maxMessageBytes / 6
 * varbinds (the smallest encoded varbind is 6 bytes) are ever computed.
 *
 * Successors come from a sorted index of the MIB's instance OIDs, built once
 * after the agent's tables are registered (their rows never change: SETs
 * change values only). Values still come from the agent's provider handlers,
 * through net-snmp's own request path, so GETNEXT reads the same live state
 * as GET.
 */
import snmp, { type Agent } from 'net-snmp';
import { OptionError } from '../../engine/errors.js';

/** The largest UDP payload over IPv4; above it nothing can be sent. */
export const MAX_UDP_PAYLOAD = 65507;
export const DEFAULT_MAX_MESSAGE_BYTES = 1472;
/** Smallest encoded varbind: SEQUENCE header 2 + OID 2 + shortest OID body 1 + NULL 2 … rounded down to 6. */
const MIN_VARBIND_BYTES = 6;

// net-snmp internals used here (index.js 3.29): Agent.prototype.getNextRequest / getBulkRequest /
// request / sendResponse, Message.prototype.createResponseForRequest, Mib.root and MibNode.
interface RawVarbind {
  oid: string;
  type?: number;
  value?: unknown;
}
interface RawPdu {
  type: number;
  varbinds: RawVarbind[];
  nonRepeaters?: number;
  maxRepetitions?: number;
  errorStatus?: number;
  errorIndex?: number;
}
interface RawMessage {
  version: number;
  pdu: RawPdu;
  createResponseForRequest(pdu: RawPdu): { toBuffer(): Buffer };
}
interface RawNode {
  address: number[];
  children: Record<string, RawNode>;
  value?: unknown;
}
type Handler = (socket: unknown, message: RawMessage, rinfo: unknown) => void;
interface RawAgent {
  getMib(): { root: RawNode };
  getNextRequest: Handler;
  getBulkRequest: Handler;
  request: Handler;
  sendResponse(socket: unknown, rinfo: unknown, message: RawMessage, pdu: RawPdu): void;
}

/** How a computed request must be finished before it is sent. */
interface Finish {
  /** The request's own varbinds, in order. */
  readonly requested: RawVarbind[];
  /** Response positions that are endOfMibView, with the OID to report there. */
  readonly ends: Map<number, string>;
  readonly bulk: boolean;
  readonly nonRepeaters: number;
}

export interface WalkOptions {
  /** Largest response message, bytes (484..65507; default 1472). */
  readonly maxMessageBytes?: number;
}

/** Sorted instance OIDs of a MIB and successor lookup. */
export class InstanceIndex {
  private readonly oids: string[] = [];
  private readonly addrs: number[][] = [];

  constructor(root: RawNode) {
    const visit = (node: RawNode): void => {
      const keys = Object.keys(node.children);
      if (keys.length === 0) {
        if (node.value !== undefined) {
          this.addrs.push(node.address);
          this.oids.push(node.address.join('.'));
        }
        return;
      }
      keys.sort((a, b) => Number(a) - Number(b));
      for (const k of keys) visit(node.children[k]!);
    };
    visit(root);
  }

  get size(): number {
    return this.oids.length;
  }

  /** The first instance OID strictly after `oid`, or undefined past the end. */
  next(oid: string): string | undefined {
    const addr = oid.split('.').filter((s) => s !== '').map(Number);
    let lo = 0;
    let hi = this.addrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAddress(this.addrs[mid]!, addr) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.oids[lo];
  }
}

function compareAddress(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return a[k]! - b[k]!;
  return a.length - b.length;
}

/** Replaces the agent's GETNEXT and GETBULK handling; call after every provider and row is registered. */
export function installWalk(agent: Agent, opts: WalkOptions = {}): InstanceIndex {
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!(Number.isInteger(maxBytes) && maxBytes >= 484 && maxBytes <= MAX_UDP_PAYLOAD)) throw new OptionError('maxMessageBytes', `${maxBytes} must be an integer within [484, ${MAX_UDP_PAYLOAD}]`);
  const raw = agent as unknown as RawAgent;
  const index = new InstanceIndex(raw.getMib().root);
  const finishing = new WeakMap<RawMessage, Finish>();
  const maxVarbinds = Math.floor(maxBytes / MIN_VARBIND_BYTES);

  raw.getNextRequest = (socket, message, rinfo) => {
    const requested = message.pdu.varbinds;
    const ends = new Map<number, string>();
    message.pdu.varbinds = requested.map((v, k) => {
      const next = index.next(v.oid);
      if (next !== undefined) return { oid: next };
      ends.set(k, v.oid);
      return { oid: v.oid };
    });
    finishing.set(message, { requested, ends, bulk: false, nonRepeaters: 0 });
    raw.request(socket, message, rinfo);
  };

  raw.getBulkRequest = (socket, message, rinfo) => {
    const pdu = message.pdu;
    const requested = pdu.varbinds;
    // RFC 3416 §4.2.3: N = max(min(non-repeaters, L), 0), M = max(max-repetitions, 0), R = L − N.
    const n = Math.max(Math.min(pdu.nonRepeaters ?? 0, requested.length), 0);
    const r = requested.length - n;
    const m = Math.max(pdu.maxRepetitions ?? 0, 0);
    const out: RawVarbind[] = [];
    const ends = new Map<number, string>();
    const step = (from: string): string => {
      const next = index.next(from);
      if (next === undefined) ends.set(out.length, from);
      out.push({ oid: next ?? from });
      return next ?? from;
    };
    for (let k = 0; k < n && out.length < maxVarbinds; k++) step(requested[k]!.oid);
    const cursor = requested.slice(n).map((v) => v.oid);
    const atEnd = cursor.map(() => false);
    for (let round = 0; round < m && r > 0 && out.length + r <= maxVarbinds; round++) {
      for (let j = 0; j < r; j++) {
        const before = out.length;
        cursor[j] = step(cursor[j]!);
        atEnd[j] = ends.has(before);
      }
      // Every repeater is past the end: further rounds would only repeat endOfMibView.
      if (atEnd.every(Boolean)) break;
    }
    pdu.varbinds = out;
    finishing.set(message, { requested, ends, bulk: true, nonRepeaters: Math.min(n, out.length) });
    raw.request(socket, message, rinfo);
  };

  const send = raw.sendResponse.bind(raw);
  raw.sendResponse = (socket, rinfo, message, pdu) => {
    const f = finishing.get(message);
    if (f) {
      finishing.delete(message);
      for (const [k, oid] of f.ends) pdu.varbinds[k] = { oid, type: snmp.ObjectType.EndOfMibView, value: null };
      if (message.version === snmp.Version1 && f.ends.size > 0) {
        // SNMPv1 has no endOfMibView: the end of the MIB is noSuchName at the first such varbind.
        pdu.errorStatus = snmp.ErrorStatus.NoSuchName;
        pdu.errorIndex = Math.min(...f.ends.keys()) + 1;
        pdu.varbinds = f.requested.map((v) => ({ oid: v.oid, type: snmp.ObjectType.Null, value: null }));
      }
      if (f.bulk) fitBulk(message, pdu, f.nonRepeaters, maxBytes);
    }
    send(socket, rinfo, message, pdu);
  };
  return index;
}

/** Cuts a GETBULK response to the longest prefix that fits; tooBig only when the non-repeaters alone do not fit. */
function fitBulk(message: RawMessage, pdu: RawPdu, nonRepeaters: number, maxBytes: number): void {
  const all = pdu.varbinds;
  const size = (count: number): number => {
    pdu.varbinds = all.slice(0, count);
    return message.createResponseForRequest(pdu).toBuffer().length;
  };
  if (size(all.length) <= maxBytes) {
    pdu.varbinds = all;
    return;
  }
  if (size(nonRepeaters) > maxBytes) {
    pdu.varbinds = [];
    pdu.errorStatus = snmp.ErrorStatus.TooBig;
    pdu.errorIndex = 0;
    return;
  }
  // Largest count in [nonRepeaters, all.length) that fits.
  let lo = nonRepeaters;
  let hi = all.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (size(mid) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  pdu.varbinds = all.slice(0, lo);
}
