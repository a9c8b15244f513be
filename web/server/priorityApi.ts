/**
 * The console's bus priority API, registered in the route table of ./api.ts:
 * GET /api/priority, the recent decisions and cancellations and the requests
 * open now; GET /api/priority/events?after=SEQ, the decisions as they are
 * made (server-sent events, batched per flush of service/priorityFeed.ts).
 * Every role may read them. The feed keeps only a bounded window and never
 * waits for a reader: a reader too slow for it, or for its own socket
 * (./sse.ts), gets a `gap` and reads the snapshot again.
 */
import type { ServerResponse } from 'node:http';
import { MAX_WATCHERS, RING_SIZE } from '../../service/priorityFeed.js';
import { HttpError, type ConsoleDeps, type Route } from './api.js';
import { openEventStream } from './sse.js';

/** Open requests listed in a snapshot, soonest arrival first (the count says how many there are in all). */
export const MAX_OPEN_LISTED = 200;

const READERS = ['viewer', 'operator', 'supervisor'] as const;

export function priorityRoutes(deps: ConsoleDeps, streams: Set<ServerResponse>): Route[] {
  const feed = (): NonNullable<ConsoleDeps['priorityFeed']> => {
    if (!deps.priorityFeed) throw new HttpError(409, 'NO_PRIORITY_FEED', 'this console is not attached to a bus priority service');
    return deps.priorityFeed;
  };
  return [
    {
      method: 'GET',
      pattern: /^\/api\/priority$/,
      roles: READERS,
      handle: async () => {
        const f = feed();
        return {
          lastSeq: f.lastSeq,
          recent: f.recent(RING_SIZE),
          open: f.open(deps.state, MAX_OPEN_LISTED),
          openCount: deps.state.tsp.openCount,
          tS: deps.clock(),
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/priority\/events$/,
      roles: READERS,
      handle: async ({ req, res, url }) => {
        const f = feed();
        const afterRaw = url.searchParams.get('after');
        const after = afterRaw === null || afterRaw === '' ? f.lastSeq : Number(afterRaw);
        if (!Number.isSafeInteger(after) || after < 0) throw new HttpError(400, 'INVALID_INPUT', 'after must be a whole number >= 0', [{ path: 'after', message: 'must be a whole number >= 0' }]);
        if (f.watcherCount >= MAX_WATCHERS) throw new HttpError(429, 'RESOURCE_EXHAUSTED', `at most ${MAX_WATCHERS} bus priority pages may watch at once`);
        let stop: (() => void) | undefined;
        const stream = openEventStream(req, res, streams, () => stop?.());
        stop = f.watch((events, missed) => {
          if (missed > 0) stream.send('gap', { dropped: missed });
          stream.send('priority', { events });
        }, after);
        // Tells the page the stream is live (and where the feed stands), so it need not guess.
        stream.send('ready', { lastSeq: f.lastSeq });
        return undefined;
      },
    },
  ];
}
