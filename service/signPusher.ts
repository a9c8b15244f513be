/**
 * Pushes guidance signs' messages to their sign controllers over Modbus
 * (controllers-adapter/modbus/signClient.ts, the register block of
 * docs/modbus-register-map.md "Parking guidance signs", which diversion signs share). What the signs show comes
 * from a `SignSource`: the parking signs' (engine/parking/signs.ts: free
 * spaces per line or 满/FULL, with hysteresis; `SignPusher.forParking`,
 * started by startServer (./server.ts) when the parking file gives some sign
 * an `endpoint` and a `unitId`), or the diversion signs'
 * (./diversionSigns.ts: route travel times or 前方拥堵 请绕行, with
 * hysteresis; `SignPusher.forSource`, started by ./diversionSigns.ts `startDiversion` for
 * `serve --diversion`). Signs without an address are shown
 * nowhere.
 *
 * Every `periodMs` (default 1 s) of wall time the source is asked for the
 * messages at the service clock. A
 * sign is pushed when what it should show differs from what it last confirmed
 * showing, and every `refreshS` (default 60 s) anyway: that keeps its
 * communication-loss timeout (`commLossTimeoutS`, default 180 s, written with
 * every message) from blanking it, and repairs a sign that restarted. Pushes do
 * not wait for each other: one push per sign at a time, and a sign whose push
 * is still in flight (timing out, retrying) is simply looked at again on the
 * next round, with the then current message, so a dead sign never holds up
 * the others and never gets a backlog of stale messages.
 */
import type { ControllerClientOptions } from '../controllers-adapter/modbus/clientOptions.js';
import { SignClient, type SignEndpoint } from '../controllers-adapter/modbus/signClient.js';
import { SIGN_DIRECTION_CODE, SIGN_STATE_CODE, type SignMessageRegisters } from '../controllers-adapter/signBlock.js';
import { LINE_MESSAGE_CODE, SignMessenger, type SignMessage } from '../engine/parking/signs.js';
import type { ParkingGuidance } from './parkingState.js';

/** What one sign should show: its registers (the message id is the client's) and a key: equal keys, equal display. */
export interface SignShow {
  readonly registers: Omit<SignMessageRegisters, 'messageId'>;
  readonly key: string;
}

/** Where a pusher's messages come from: a fixed list of signs, and what each shows at a time. */
export interface SignSource {
  readonly signIds: readonly string[];
  /** One message per sign of `signIds`, in that order, at service time `nowS` (s). */
  messages(nowS: number): readonly SignShow[];
}

export interface SignPusherOptions {
  readonly periodMs?: number;
  readonly refreshS?: number;
  readonly commLossTimeoutS?: number;
  /** The Modbus client's timeouts and retries (default 1 s per request, 2 retries). */
  readonly client?: ControllerClientOptions;
  readonly log?: (line: string) => void;
}

/** Per sign with an address: what it shows as far as we know. */
export interface SignPushState {
  readonly signId: string;
  /** Key of the message last confirmed shown ('' before any). */
  confirmedKey: string;
  /** Service clock, s, of the last confirmed push. */
  confirmedAtS: number;
  messageId: number;
  pushes: number;
  failures: number;
  lastError: string;
  inFlight: boolean;
}

export class SignPusher {
  readonly client: SignClient;
  /** For each of the source's signs, its push state (undefined: no address). */
  private readonly bySign: (SignPushState | undefined)[];
  private readonly periodMs: number;
  private readonly refreshS: number;
  private readonly timeoutS: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly source: SignSource,
    endpoints: readonly SignEndpoint[],
    private readonly clock: () => number,
    private readonly opts: SignPusherOptions,
  ) {
    this.client = new SignClient(endpoints, opts.client);
    const byId = new Set(endpoints.map((e) => e.signId));
    this.bySign = source.signIds.map((id) => (byId.has(id) ? { signId: id, confirmedKey: '', confirmedAtS: Number.NEGATIVE_INFINITY, messageId: 0, pushes: 0, failures: 0, lastError: '', inFlight: false } : undefined));
    this.periodMs = opts.periodMs ?? 1000;
    this.refreshS = opts.refreshS ?? 60;
    this.timeoutS = opts.commLossTimeoutS ?? 180;
  }

  /** A pusher for the signs of the parking file that have an endpoint and a unit id; undefined when none has. */
  static forParking(guidance: ParkingGuidance, clock: () => number, opts: SignPusherOptions = {}): SignPusher | undefined {
    const endpoints: SignEndpoint[] = [];
    for (const s of guidance.parking.file.signs) {
      if (s.endpoint && s.unitId !== undefined) endpoints.push({ signId: s.id, unitId: s.unitId, host: s.endpoint.host, port: s.endpoint.port });
    }
    return endpoints.length === 0 ? undefined : new SignPusher(parkingSignSource(guidance), endpoints, clock, opts);
  }

  /** A pusher for the signs of any source (the diversion signs: ./diversionSigns.ts), at these addresses. */
  static forSource(source: SignSource, endpoints: readonly SignEndpoint[], clock: () => number, opts: SignPusherOptions = {}): SignPusher {
    return new SignPusher(source, endpoints, clock, opts);
  }

  start(): this {
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
    this.tick();
    return this;
  }

  /** One round: recompute every message, start a push for each sign that needs one. Resolves when those pushes end. */
  tick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const nowS = this.clock();
    const messages = this.source.messages(nowS);
    const started: Promise<unknown>[] = [];
    messages.forEach((m, s) => {
      const st = this.bySign[s];
      if (!st || st.inFlight) return;
      if (m.key === st.confirmedKey && nowS - st.confirmedAtS < this.refreshS) return;
      started.push(this.push(st, m, nowS));
    });
    return Promise.all(started).then(() => undefined);
  }

  /** Push state of every sign with an address, in file order. */
  states(): SignPushState[] {
    return this.bySign.filter((s): s is SignPushState => s !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.client.close();
    await Promise.allSettled([...this.inFlight]);
  }

  private push(st: SignPushState, m: SignShow, nowS: number): Promise<void> {
    st.inFlight = true;
    const key = m.key;
    const regs = m.registers;
    const p = this.client
      .push(st.signId, regs, this.timeoutS)
      .then((r) => {
        st.confirmedKey = key;
        st.confirmedAtS = nowS;
        st.messageId = r.messageId;
        st.pushes++;
        st.lastError = '';
      })
      .catch((e: unknown) => {
        st.failures++;
        const msg = e instanceof Error ? e.message : String(e);
        // One line per change of error, not one per round while a sign stays down.
        if (msg !== st.lastError && !this.closed) this.opts.log?.(`greenwave serve: sign ${st.signId}: ${msg}`);
        st.lastError = msg;
      })
      .finally(() => {
        st.inFlight = false;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
    return p;
  }
}

/** The parking signs' messages (engine/parking/signs.ts) from the occupancy feed at the service clock. */
function parkingSignSource(guidance: ParkingGuidance): SignSource {
  const messenger = new SignMessenger(guidance.parking.file);
  const signs = guidance.parking.file.signs;
  return {
    signIds: signs.map((s) => s.id),
    messages(nowS: number): SignShow[] {
      const nowMs = Math.round(nowS * 1000);
      const feed = guidance.feed;
      const states = guidance.parking.carParkIds.map((_, k) => feed.state(k, nowMs));
      return messenger.update(states).map((m, s) => ({
        key: messageKey(m),
        registers: {
          state: SIGN_STATE_CODE[m.state],
          lines: m.lines.map((l, k) => ({ kind: LINE_MESSAGE_CODE[l.kind], freeSpaces: l.kind === 'spaces' || l.kind === 'full' ? l.freeSpaces : Number.NaN, direction: SIGN_DIRECTION_CODE[signs[s]!.lines[k]!.direction], partial: l.partial })),
        },
      }));
    },
  };
}

/**
 * What a sign shows, as a string: equal keys, equal display. The number under a FULL line is
 * sent for the record but not shown, so a change of it alone is no reason to push.
 */
function messageKey(m: SignMessage): string {
  return `${m.state}|${m.lines.map((l) => `${l.kind}:${l.kind === 'spaces' ? l.freeSpaces : ''}:${l.partial ? 1 : 0}`).join(',')}`;
}
