/**
 * One server-sent event stream of the console's live pages (./priorityApi.ts,
 * ./parkingApi.ts and ./trafficApi.ts through streamChanges, and the signal state
 * of ./api.ts and ./networkApi.ts through streamPeriodic): the headers, the stream registered with the server's set
 * (so closing the server ends it), and a writer that never lets a slow reader
 * pile up memory: while more than MAX_BUFFERED_BYTES wait in the socket, events
 * are dropped and counted, and the reader is sent a `gap` with that count when
 * it has caught up (the page then reads its snapshot again).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bytes an event stream may have waiting in its socket before events are dropped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;

export interface EventStream {
  /** Sends one event; false when it was dropped (the reader is behind) or the stream is closed. */
  send(event: string, data: unknown): boolean;
  /** Whether the stream is still open. */
  readonly open: boolean;
  /** Events dropped for this reader so far. */
  readonly dropped: number;
  end(): void;
}

/** Starts the stream; `onClose` runs once, when the reader goes or the server closes it. */
export function openEventStream(req: IncomingMessage, res: ServerResponse, streams: Set<ServerResponse>, onClose: () => void, maxBufferedBytes = MAX_BUFFERED_BYTES): EventStream {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  // The reader learns the stream is open now, not at the first event (a quiet feed may have none for long).
  res.flushHeaders();
  streams.add(res);
  let open = true;
  let dropped = 0;
  let unreported = 0;
  const close = (): void => {
    if (!open) return;
    open = false;
    streams.delete(res);
    onClose();
  };
  req.on('close', close);
  res.on('close', close);
  const write = (event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  return {
    send(event, data) {
      // The server's close() ends the responses in `streams` without telling us.
      if (!open || !streams.has(res) || res.writableEnded) {
        close();
        return false;
      }
      if (res.writableLength > maxBufferedBytes) {
        dropped++;
        unreported++;
        return false;
      }
      if (unreported > 0) {
        write('gap', { dropped: unreported });
        unreported = 0;
      }
      write(event, data);
      return true;
    },
    get open() {
      return open;
    },
    get dropped() {
      return dropped;
    },
    end() {
      close();
      res.end();
    },
  };
}

/**
 * A stream of whole states: `event` with `payload()` now and every `periodMs` until the reader
 * goes or the server closes (the live signal state of the corridor, network and intersection
 * pages). Each event carries the whole state, so one dropped for a slow reader needs no repair.
 */
export function streamPeriodic(req: IncomingMessage, res: ServerResponse, streams: Set<ServerResponse>, event: string, periodMs: number, payload: () => unknown): void {
  const timer = setInterval(() => {
    if (!stream.send(event, payload())) {
      if (!stream.open) clearInterval(timer);
    }
  }, periodMs);
  const stream = openEventStream(req, res, streams, () => clearInterval(timer));
  stream.send(event, payload());
}

/**
 * A stream of whole states that change now and then (the parking and traffic pages): `event`
 * with `snapshot()` now and, while `poll`, every `periodMs` when it changed apart from its clock
 * (`tMs`), and at least every `keepalivePeriods` periods anyway (the page shows its age).
 */
export function streamChanges(req: IncomingMessage, res: ServerResponse, streams: Set<ServerResponse>, event: string, periodMs: number, keepalivePeriods: number, poll: boolean, snapshot: () => Record<string, unknown>): void {
  let timer: NodeJS.Timeout | undefined;
  const stream = openEventStream(req, res, streams, () => clearInterval(timer));
  let last = '';
  let quiet = 0;
  const tick = (): void => {
    const snap = snapshot();
    const key = JSON.stringify({ ...snap, tMs: 0 });
    if (key === last && ++quiet < keepalivePeriods) return;
    last = key;
    quiet = 0;
    stream.send(event, snap);
  };
  tick();
  if (poll) timer = setInterval(tick, periodMs);
}
