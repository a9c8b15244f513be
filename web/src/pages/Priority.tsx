/**
 * The bus priority page: the requests open now and every decision as it is
 * made (vehicle, route, intersection, class, lateness, strategy, granted or
 * refused with the reason), live over server-sent events
 * (web/server/priorityApi.ts). The page reads a snapshot, then the events after
 * it; when the server says it dropped some (a slow page), and every
 * REFRESH_MS (open requests also close by timing out), it reads the snapshot
 * again. Every role may read it.
 */
import { useEffect, useState } from 'preact/hooks';
import { liveApi, type OpenPriorityRequest, type PriorityEvent, watchPriority } from '../api.js';
import type { MessageKey, T } from '../i18n.js';
import { LiveStatus } from './LiveParts.js';

/** Decisions kept on the page (the server keeps 256). */
const MAX_ROWS = 200;
/** The snapshot is read again this often, ms. */
const REFRESH_MS = 15_000;

const keyOf = (vehicleId: string, intersectionId: string): string => `${vehicleId}\u0000${intersectionId}`;
const time = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toLocaleTimeString());
const r1 = (x: number | null): string => (x === null ? '—' : String(Math.round(x * 10) / 10));
/** The columns of a request, the same in the open-requests table and the decision log (after time and kind). */
const REQUEST_COLUMNS: readonly MessageKey[] = ['bpVehicle', 'bpRoute', 'bpIntersection', 'bpClass', 'bpLateness', 'bpArrival', 'bpStrategy', 'bpOutcome', 'bpClient'];

export function PriorityPage(props: { t: T }) {
  const { t } = props;
  // A fresh set for each table: Preact must not mount one VNode in two places.
  const requestHeads = () =>
    REQUEST_COLUMNS.map((k) => (
      <th key={k} scope="col">
        {t(k)}
      </th>
    ));
  const [events, setEvents] = useState<PriorityEvent[] | undefined>();
  const [open, setOpen] = useState<Map<string, OpenPriorityRequest>>(new Map());
  const [openCount, setOpenCount] = useState(0);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [filter, setFilter] = useState('');
  // Each new generation reads the snapshot and opens a stream after it.
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    let seen = 0;
    // This generation's open requests and their count in all (the snapshot lists at most 200).
    let openMap = new Map<string, OpenPriorityRequest>();
    let count = 0;
    liveApi.priority().then(
      (snap) => {
        if (cancelled) return;
        seen = snap.lastSeq;
        setEvents([...snap.recent].reverse().slice(0, MAX_ROWS));
        openMap = new Map(snap.open.map((o) => [keyOf(o.vehicleId, o.intersectionId), o]));
        count = snap.openCount;
        setOpen(new Map(openMap));
        setOpenCount(count);
        setError(undefined);
        stop = watchPriority(
          snap.lastSeq,
          (batch) => {
            // A reconnecting EventSource asks again from the first `after`: what was seen is skipped.
            const fresh = batch.filter((e) => e.seq > seen);
            if (fresh.length === 0) return;
            seen = fresh[fresh.length - 1]!.seq;
            setEvents((prev) => [...fresh].reverse().concat(prev ?? []).slice(0, MAX_ROWS));
            for (const e of fresh) {
              const k = keyOf(e.vehicleId, e.intersectionId);
              const had = openMap.has(k);
              if (e.kind === 'cancel') {
                if (openMap.delete(k)) count--;
              } else {
                openMap.set(k, { vehicleId: e.vehicleId, intersectionId: e.intersectionId, client: e.client, arrivalMs: e.arrivalMs ?? 0, granted: e.granted, strategy: e.strategy, reason: e.reason, routeId: e.routeId, priorityClass: e.priorityClass, latenessS: e.latenessS });
                if (!had) count++;
              }
            }
            setOpen(new Map(openMap));
            setOpenCount(count);
          },
          () => setGeneration((g) => g + 1),
          setLive,
        );
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
    const refresh = setTimeout(() => setGeneration((g) => g + 1), REFRESH_MS);
    return () => {
      cancelled = true;
      clearTimeout(refresh);
      stop?.();
    };
  }, [generation]);

  const f = filter.trim().toLowerCase();
  const matches = (x: { vehicleId: string; routeId: string; intersectionId: string }): boolean => f === '' || [x.vehicleId, x.routeId, x.intersectionId].some((s) => s.toLowerCase().includes(f));
  const outcome = (granted: boolean, reason: string): string => (granted ? t('bpGranted') : t('bpRefused', { reason: t(`pr_${reason}` as MessageKey) }));
  const openRows = [...open.values()].filter(matches).sort((a, b) => a.arrivalMs - b.arrivalMs);

  return (
    <section aria-labelledby="priority-title">
      <h1 id="priority-title">{t('bpTitle')}</h1>
      <p class="summary">
        {t('bpHelp')}{' '}
        <LiveStatus t={t} live={live} />
      </p>
      {error && (
        <p role="alert" class="error">
          {t('error', { message: error })}
        </p>
      )}
      <div class="actions">
        <label>
          {t('bpFilter')} <input type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {!events ? (
        <p aria-busy="true">{t('loading')}</p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="priority-open">
              <caption>
                {t('bpOpenTitle', { n: openCount })} {openCount > open.size && <span class="muted">{t('bpOpenShown', { shown: open.size, n: openCount })}</span>}
              </caption>
              <thead>
                <tr>
                  {requestHeads()}
                </tr>
              </thead>
              <tbody>
                {openRows.length === 0 ? (
                  <tr>
                    <td colSpan={REQUEST_COLUMNS.length}>{t('bpNoOpen')}</td>
                  </tr>
                ) : (
                  openRows.map((o) => (
                    <tr data-vehicle={o.vehicleId} data-outcome={o.granted ? 'granted' : 'refused'}>
                      <th scope="row">{o.vehicleId}</th>
                      <td>{o.routeId || '—'}</td>
                      <td>{o.intersectionId}</td>
                      <td>{t(`pc_${o.priorityClass}` as MessageKey)}</td>
                      <td>{r1(o.latenessS)}</td>
                      <td>{time(o.arrivalMs)}</td>
                      <td>{o.granted ? t(`ps_${o.strategy}` as MessageKey) : '—'}</td>
                      <td class={o.granted ? 'ok' : 'refused-text'}>{outcome(o.granted, o.reason)}</td>
                      <td>{o.client}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
          <div class="table-wrap">
            <table class="priority-log" aria-live="polite" aria-relevant="additions">
              <caption>{t('bpDecisionsTitle')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('bpTime')}</th>
                  <th scope="col">{t('bpKind')}</th>
                  {requestHeads()}
                </tr>
              </thead>
              <tbody>
                {events.length === 0 ? (
                  <tr>
                    <td colSpan={REQUEST_COLUMNS.length + 2}>{t('bpNoDecisions')}</td>
                  </tr>
                ) : (
                  events.filter(matches).map((e) => (
                    <tr key={e.seq} data-seq={e.seq} data-vehicle={e.vehicleId} data-outcome={e.kind === 'cancel' ? 'cancel' : e.granted ? 'granted' : 'refused'}>
                      <td>{time(e.atMs)}</td>
                      <td>{t(`bk_${e.kind}` as MessageKey)}</td>
                      <th scope="row">{e.vehicleId}</th>
                      <td>{e.routeId || '—'}</td>
                      <td>{e.intersectionId}</td>
                      <td>{t(`pc_${e.priorityClass}` as MessageKey)}</td>
                      <td>{r1(e.latenessS)}</td>
                      <td>{time(e.arrivalMs)}</td>
                      <td>{e.granted ? t(`ps_${e.strategy}` as MessageKey) : '—'}</td>
                      <td class={e.kind === 'cancel' ? '' : e.granted ? 'ok' : 'refused-text'} title={e.detail || undefined}>
                        {e.kind === 'cancel' ? t(`pr_${e.reason}` as MessageKey) : outcome(e.granted, e.reason)}
                        {e.granted && e.savedS > 0 && <span class="muted"> ({t('bpSaved', { s: r1(e.savedS) })})</span>}
                      </td>
                      <td>{e.client}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
