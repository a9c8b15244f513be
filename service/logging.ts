/**
 * Structured JSON logs of `greenwave serve` (pino) and the request ids that
 * tie a call's log line to the client's own logs. cmdServe (cli/serve.ts)
 * makes the logger (`--log-level`, standard error); startServer
 * (./server.ts) gets it, or makes a default one, and hands `lineLog` views of
 * it to the parts that log plain lines (the journal, the controller re-sync),
 * so their messages stay exactly what they were; the call gate (./calls.ts)
 * logs one line per call with the request id.
 *
 * Logs go to standard error, as the service's lines always did: standard
 * output carries the "listening" line that scripts and tests wait for.
 */
import { randomBytes } from 'node:crypto';
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A call slower than this is logged at info level even when it succeeded, ms. */
export const SLOW_CALL_MS = 1000;

/**
 * The service's logger: JSON lines with `time` (ms since 1970), `level` (a label, not pino's
 * number: easier to grep and to filter in a log shipper) and `msg`. Asynchronous writes to
 * `dest` (default standard error), so a burst of error lines does not block the event loop;
 * `flushLogger` before exit.
 */
export function makeLogger(level: LogLevel = 'info', dest?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'greenwave' },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** Writes what the logger holds; never throws (called on the way out). */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // The destination is gone (a closed pipe): nothing more can be said.
  }
}

/** A `(line) => void` view of the logger at one level, for the modules that log plain lines. */
export function lineLog(logger: Logger, level: 'info' | 'warn' | 'error' = 'info'): (line: string) => void {
  return (line) => logger[level](line);
}

/** Request ids a client may choose: short, printable, no spaces or quotes (they go into logs). */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
/** Ids this process makes: a random prefix per process and a counter (no random bytes per call). */
const PREFIX = randomBytes(6).toString('hex');
let seq = 0;

/** The client's `x-request-id` if it is sane, else a new one. */
export function requestId(given: unknown): string {
  if (typeof given === 'string' && SANE_ID.test(given)) return given;
  seq = (seq + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${seq.toString(36)}`;
}
