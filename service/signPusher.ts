/**
 * Pushes each guidance sign's message (engine/parking/signs.ts: free spaces
 * per line or 满/FULL, with hysteresis) to its sign controller over Modbus
 * (controllers-adapter/modbus/signClient.ts, the register block of
 * docs/modbus-register-map.md "Parking guidance signs"). Started by
 * startServer (./server.ts) when the parking file gives some sign an
 * `endpoint` and a `unitId`; signs without one are shown nowhere.
 *
 * Every `periodMs` (default 1 s) of wall time the car parks' states are read
 * from the occupancy feed at the service clock and the messages recomputed. A
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
  private readonly messenger: SignMessenger;
  /** For each of the file's signs, its push state (undefined: no address). */
  private readonly bySign: (SignPushState | undefined)[];
  private readonly periodMs: number;
  private readonly refreshS: number;
  private readonly timeoutS: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly guidance: ParkingGuidance,
    endpoints: readonly SignEndpoint[],
    private readonly clock: () => number,
    private readonly opts: SignPusherOptions,
  ) {
    this.client = new SignClient(endpoints, opts.client);
    this.messenger = new SignMessenger(guidance.parking.file);
    const byId = new Set(endpoints.map((e) => e.signId));
    this.bySign = guidance.parking.file.signs.map((s) => (byId.has(s.id) ? { signId: s.id, confirmedKey: '', confirmedAtS: Number.NEGATIVE_INFINITY, messageId: 0, pushes: 0, failures: 0, lastError: '', inFlight: false } : undefined));
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
    return endpoints.length === 0 ? undefined : new SignPusher(guidance, endpoints, clock, opts);
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
    const nowMs = Math.round(nowS * 1000);
    const feed = this.guidance.feed;
    const states = this.guidance.parking.carParkIds.map((_, k) => feed.state(k, nowMs));
    const messages = this.messenger.update(states);
    const started: Promise<unknown>[] = [];
    messages.forEach((m, s) => {
      const st = this.bySign[s];
      if (!st || st.inFlight) return;
      const key = messageKey(m);
      if (key === st.confirmedKey && nowS - st.confirmedAtS < this.refreshS) return;
      started.push(this.push(st, s, m, key, nowS));
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

  private push(st: SignPushState, s: number, m: SignMessage, key: string, nowS: number): Promise<void> {
    st.inFlight = true;
    const lines = this.guidance.parking.file.signs[s]!.lines;
    const regs: Omit<SignMessageRegisters, 'messageId'> = {
      state: SIGN_STATE_CODE[m.state],
      lines: m.lines.map((l, k) => ({ kind: LINE_MESSAGE_CODE[l.kind], freeSpaces: l.kind === 'spaces' || l.kind === 'full' ? l.freeSpaces : Number.NaN, direction: SIGN_DIRECTION_CODE[lines[k]!.direction], partial: l.partial })),
    };
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

/**
 * What a sign shows, as a string: equal keys, equal display. The number under a FULL line is
 * sent for the record but not shown, so a change of it alone is no reason to push.
 */
function messageKey(m: SignMessage): string {
  return `${m.state}|${m.lines.map((l) => `${l.kind}:${l.kind === 'spaces' ? l.freeSpaces : ''}:${l.partial ? 1 : 0}`).join(',')}`;
}
