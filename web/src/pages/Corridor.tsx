/**
 * The corridor page: the time-space diagram of the plan in force, and the
 * offsets/splits editor. Each change redraws the diagram at once as a preview
 * (../draft.ts), dimmed and marked as not yet checked, and is sent to the
 * server's validator after a short pause (debounced): a safe edit replaces the
 * preview with the server's data of the edited plan (bands included), a
 * refusal puts the plan in force back and shows the rule it broke. Nothing
 * unchecked is ever shown as accepted, and only a checked edit can be
 * proposed. "Propose" stores the edit as a new plan version; "Simulate" asks
 * the review for before/after delay, stops and bands. Performance marks for
 * the browser test and bench/console: `gw:corridor-ready` once the diagram is
 * drawn and the editor is live; from the edit (`gw:edit`, the input event)
 * `gw:edit-drawn` to the preview drawn and `gw:edit-checked` to the
 * validator's answer drawn; `gw:validate-round-trip` (request to answer) and
 * `gw:validate-drawn` (answer to drawn) split the latter.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Issue, type LiveSignals, type NetworkInfo, type PlanEdit, type PlanReview, type PlanVersion, type TimeSpaceData, watchSignals } from '../api.js';
import type { T } from '../i18n.js';
import { draftOf } from '../draft.js';
import { type DiagramStatus, TimeSpaceChart } from './Chart.js';

/** Pause after the last keystroke before the edit is checked, ms. */
export const VALIDATE_DEBOUNCE_MS = 200;
const SAME_S = 0.05;
const r1 = (x: number): string => String(Math.round(x * 10) / 10);

/** A J2735 movement state as the lamp an operator would see. */
const lamp = (state: string | undefined): 'green' | 'yellow' | 'red' => (state === undefined || state.endsWith('STOP_AND_REMAIN') ? 'red' : state.endsWith('CLEARANCE') ? 'yellow' : 'green');

type Check = { kind: 'idle' } | { kind: 'checking' } | { kind: 'ok'; tsd?: TimeSpaceData | undefined } | { kind: 'refused'; problems: readonly Issue[] } | { kind: 'error'; message: string };
/** A check and the edits it answers (a newer edit makes it stale at once, before its own check starts). */
type Checked = Check & { readonly for?: readonly PlanEdit[] };

/** The newest `gw:edit` mark to now as `name`, if there was an edit. */
function measureFromEdit(name: string): void {
  if (performance.getEntriesByName('gw:edit').length > 0) performance.measure(name, 'gw:edit');
}

/** The edits the inputs make to `base` (only what differs by the controllers' 0.1 s). */
function editsOf(base: TimeSpaceData, values: Readonly<Record<string, string>>): PlanEdit[] {
  const out: PlanEdit[] = [];
  for (const s of base.signals) {
    const off = values[`${s.id}|offset`];
    const offsetS = off !== undefined && off.trim() !== '' && Math.abs(Number(off) - s.offsetS) >= SAME_S ? Number(off) : undefined;
    const phases = s.phases.flatMap((p) => {
      const v = values[`${s.id}|${p.phaseId}`];
      return v !== undefined && v.trim() !== '' && Math.abs(Number(v) - p.greenS) >= SAME_S ? [{ phaseId: p.phaseId, greenS: Number(v) }] : [];
    });
    if (offsetS !== undefined || phases.length > 0) out.push({ intersectionId: s.id, ...(offsetS !== undefined ? { offsetS } : {}), ...(phases.length > 0 ? { phases } : {}) });
  }
  return out;
}

/** "edits[0].phases[1].greenS" → "I3 · phase 2": where in the table the problem is. */
function where(path: string, edits: readonly PlanEdit[]): string {
  const m = /^edits\[(\d+)\](?:\.phases\[(\d+)\])?/.exec(path);
  const e = m ? edits[Number(m[1])] : undefined;
  if (!e) return path;
  const phase = m?.[2] !== undefined ? e.phases?.[Number(m[2])]?.phaseId : /phase (\w+)/.exec(path)?.[1];
  return phase !== undefined ? `${e.intersectionId} · ${phase}` : e.intersectionId;
}

export function CorridorPage(props: { t: T; corridorId: string | undefined; network: NetworkInfo; roles: readonly string[] }) {
  const { t, network } = props;
  const corridorId = props.corridorId ?? network.corridors[0]?.id ?? '';
  const [base, setBase] = useState<TimeSpaceData | undefined>();
  const [values, setValues] = useState<Record<string, string>>({});
  const [check, setCheck] = useState<Checked>({ kind: 'idle' });
  const [reason, setReason] = useState('');
  const [proposed, setProposed] = useState<PlanVersion | undefined>();
  const [review, setReview] = useState<PlanReview | 'running' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [live, setLive] = useState<LiveSignals | undefined>();
  const seq = useRef(0);
  const ready = useRef(false);
  const canEdit = props.roles.includes('operator');

  useEffect(() => {
    ready.current = false;
    setBase(undefined);
    setValues({});
    setCheck({ kind: 'idle' });
    setProposed(undefined);
    setReview(undefined);
    api.tsd(corridorId).then(setBase, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [corridorId]);

  useEffect(() => watchSignals(corridorId, setLive), [corridorId]);

  const edits = useMemo(() => (base ? editsOf(base, values) : []), [base, values]);
  // The check of these edits; until it answers they are "checking" (a newer edit makes an answer stale).
  const current: Check = edits.length === 0 ? { kind: 'idle' } : check.for === edits ? check : { kind: 'checking' };
  // What the diagram shows: the plan in force, the preview of an unchecked edit, the server's data of a
  // safe one, or the plan in force again for a refused one (unmarked when there is no edit or the check failed).
  const preview = useMemo(() => (base && edits.length > 0 ? draftOf(base, edits) : base), [base, edits]);
  const [shown, status]: [TimeSpaceData | undefined, DiagramStatus] =
    current.kind === 'checking' ? [preview, 'pending'] : current.kind === 'ok' && current.tsd ? [current.tsd, 'valid'] : current.kind === 'refused' ? [base, 'refused'] : [base, 'base'];

  // Live validation, debounced; only the newest answer counts.
  useEffect(() => {
    if (!base || edits.length === 0) return undefined;
    const mine = ++seq.current;
    const timer = setTimeout(() => {
      performance.mark('gw:validate-sent');
      api.validate(corridorId, edits).then(
        (r) => {
          if (mine !== seq.current) return;
          performance.mark('gw:validate-answered');
          performance.measure('gw:validate-round-trip', 'gw:validate-sent', 'gw:validate-answered');
          setCheck(r.ok ? { kind: 'ok', tsd: r.tsd, for: edits } : { kind: 'refused', problems: r.problems, for: edits });
        },
        (e: unknown) => mine === seq.current && setCheck({ kind: 'error', message: e instanceof Error ? e.message : String(e), for: edits }),
      );
    }, VALIDATE_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [edits, base, corridorId]);

  const onRendered = (drawn: DiagramStatus): void => {
    if (!ready.current) {
      ready.current = true;
      performance.mark('gw:corridor-ready');
      document.body.dataset['corridorReady'] = '1';
    } else if (drawn === 'pending') measureFromEdit('gw:edit-drawn');
    else if (drawn === 'valid' || drawn === 'refused') {
      measureFromEdit('gw:edit-checked');
      if (performance.getEntriesByName('gw:validate-answered').length > 0) performance.measure('gw:validate-drawn', 'gw:validate-answered');
      performance.clearMarks('gw:validate-answered');
    }
  };
  const edit = (key: string, value: string): void => {
    performance.clearMarks('gw:edit');
    performance.mark('gw:edit');
    setValues({ ...values, [key]: value });
  };

  const propose = async (): Promise<void> => {
    setError(undefined);
    try {
      const v = await api.propose(edits, reason);
      setProposed(v);
      setReview(undefined);
    } catch (e: unknown) {
      if (e instanceof ApiError && e.issues.length > 0) setCheck({ kind: 'refused', problems: e.issues, for: edits });
      else setError(e instanceof Error ? e.message : String(e));
    }
  };

  const simulate = async (): Promise<void> => {
    if (!proposed) return;
    setReview('running');
    try {
      setReview(await api.review(proposed.planId));
    } catch (e: unknown) {
      setReview(undefined);
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const cor = network.corridors.find((c) => c.id === corridorId);
  const bandsOf = (d: TimeSpaceData) =>
    d.bands && d.bands.cycleS !== null ? `${t('cycle', { s: r1(d.bands.cycleS) })} · ${t('bandOut', { s: r1(d.bands.out.widthS) })} · ${t('bandIn', { s: r1(d.bands.in.widthS) })}` : t('noCommonCycle');
  const inForce = network.current.planId !== null ? t('planNumber', { id: network.current.planId }) : t('serviceOwnPlan', { at: network.current.forInterval });

  return (
    <section aria-labelledby="corridor-title">
      <h1 id="corridor-title">{t('corridorTitle', { name: cor?.name ?? corridorId })}</h1>
      {network.corridors.length > 1 && (
        <label>
          {t('corridorPick')}{' '}
          <select value={corridorId} onChange={(e) => (location.hash = `#/corridor/${(e.target as HTMLSelectElement).value}`)}>
            {network.corridors.map((c) => (
              <option value={c.id}>{c.name}</option>
            ))}
          </select>
        </label>
      )}
      {error && (
        <p role="alert" class="error">
          {t('error', { message: error })}
        </p>
      )}
      {!shown ? (
        <p aria-busy="true">{t('loading')}</p>
      ) : (
        <>
          <p class="summary">
            {t('planInForce', { plan: inForce })} · <span data-testid="bands">{status === 'pending' ? t('bandsPending') : bandsOf(shown)}</span>
          </p>
          {status !== 'base' && (
            <p class={`tsd-status ${status}`} data-status={status}>
              {t(status === 'pending' ? 'diagramPending' : status === 'valid' ? 'diagramValid' : 'diagramRefused')}
            </p>
          )}
          <TimeSpaceChart data={shown} status={status} t={t} live={live} onRendered={onRendered} />
        </>
      )}
      {base && (
        <form
          class="editor"
          aria-labelledby="editor-title"
          onSubmit={(e) => {
            e.preventDefault();
            void propose();
          }}
        >
          <h2 id="editor-title">{t('editorTitle')}</h2>
          <p class="help">{t('editorHelp')}</p>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('signal')}</th>
                  <th scope="col">{t('live')}</th>
                  <th scope="col">{t('offset')}</th>
                  <th scope="col" colSpan={Math.max(...base.signals.map((s) => s.phases.length))}>
                    {t('phaseGreens')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {base.signals.map((s) => (
                  <tr>
                    <th scope="row">
                      {s.id} <span class="muted">{s.name}</span>
                      <br />
                      <span class="muted">{t('cycleOf', { s: r1((shown ?? base).signals.find((x) => x.id === s.id)?.cycleS ?? s.cycleS) })}</span>
                    </th>
                    <LiveCell t={t} id={s.id} live={live} />
                    <td>
                      <input
                        type="number"
                        step="0.1"
                        disabled={!canEdit}
                        aria-label={t('offsetOf', { signal: s.id })}
                        value={values[`${s.id}|offset`] ?? r1(s.offsetS)}
                        onInput={(e) => edit(`${s.id}|offset`, (e.target as HTMLInputElement).value)}
                      />
                    </td>
                    {s.phases.map((p) => (
                      <td>
                        <label class="phase">
                          <span>
                            {p.phaseId} <span class="muted">{p.protected.join(' ')}</span>
                          </span>
                          <input
                            type="number"
                            step="0.1"
                            disabled={!canEdit}
                            aria-label={t('greenOf', { signal: s.id, phase: p.phaseId, movements: p.protected.join(' ') })}
                            value={values[`${s.id}|${p.phaseId}`] ?? r1(p.greenS)}
                            onInput={(e) => edit(`${s.id}|${p.phaseId}`, (e.target as HTMLInputElement).value)}
                          />
                        </label>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="check" aria-live="polite" data-check={current.kind}>
            {current.kind === 'idle' && <p>{t('noChanges')}</p>}
            {current.kind === 'checking' && <p>{t('checking')}</p>}
            {current.kind === 'ok' && <p class="ok">{t('safe')}</p>}
            {current.kind === 'error' && <p class="error">{t('error', { message: current.message })}</p>}
          </div>
          {current.kind === 'refused' && (
            <div role="alert" class="refused">
              <p>{t('refused')}</p>
              <ul>
                {current.problems.map((p) => (
                  <li>
                    <strong>{where(p.path, edits)}</strong>: {p.message.replace(/ \(rule \w+\)$/, '')} {p.code && <code class="rule">{t('rule', { code: p.code })}</code>}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {canEdit && (
            <div class="actions">
              <label>
                {t('reason')} <input type="text" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
              </label>
              <button type="submit" disabled={current.kind !== 'ok' || reason.trim() === ''}>
                {t('propose')}
              </button>
              <button type="button" onClick={() => setValues({})}>
                {t('reset')}
              </button>
            </div>
          )}
          {proposed && (
            <div class="proposed" aria-live="polite">
              <p>
                {t('proposed', { version: proposed.version, id: proposed.planId })} <a href={`#/plans/${proposed.planId}`}>{t('navPlans')}</a>
              </p>
              <button type="button" onClick={() => void simulate()} disabled={review === 'running'}>
                {review === 'running' ? t('reviewing') : t('review')}
              </button>
              {review && review !== 'running' && <ReviewTable t={t} review={review} corridorId={corridorId} />}
            </div>
          )}
        </form>
      )}
    </section>
  );
}

function LiveCell(props: { t: T; id: string; live: LiveSignals | undefined }) {
  const { t } = props;
  const s = props.live?.signals.find((x) => x.id === props.id);
  if (!s) return <td>–</td>;
  const out = lamp(s.out);
  const inb = lamp(s.in);
  return (
    <td class="live" data-live-out={out} data-live-in={inb} title={s.greenPhaseIds.join(' ')}>
      <span class="sr-only">{t('liveState', { signal: s.id, out: t(`ms_${out}`), in: t(`ms_${inb}`), t: Math.floor(s.cycleTimeS) })}</span>
      <span aria-hidden="true">
        <span class={`lamp ${out}`}>▲</span>
        <span class={`lamp ${inb}`}>▼</span> <span class="muted">{Math.floor(s.cycleTimeS)} s</span>
      </span>
    </td>
  );
}

export function ReviewTable(props: { t: T; review: PlanReview; corridorId: string }) {
  const { t, review } = props;
  const sb = review.simulated.before;
  const sa = review.simulated.after;
  const bb = review.bands.before.find((b) => b.corridorId === props.corridorId);
  const ba = review.bands.after.find((b) => b.corridorId === props.corridorId);
  const rows: [string, number | undefined, number | undefined, number][] = [
    [t('delay'), sb.meanDelayS, sa.meanDelayS, 1],
    [t('stops'), sb.stopsPerVeh, sa.stopsPerVeh, 2],
    [t('throughput'), sb.throughputVehPerH, sa.throughputVehPerH, 0],
    [t('bandOutRow'), bb?.bandOutS, ba?.bandOutS, 1],
    [t('bandInRow'), bb?.bandInS, ba?.bandInS, 1],
  ];
  return (
    <table class="review">
      <caption>{t('reviewTitle', { s: review.simulated.durationS, seeds: review.simulated.seeds.join(', ') })}</caption>
      <thead>
        <tr>
          <th scope="col">{t('metric')}</th>
          <th scope="col">{t('before')}</th>
          <th scope="col">{t('after')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, b, a, digits]) => (
          <tr>
            <th scope="row">{name}</th>
            <td>{b?.toFixed(digits) ?? '–'}</td>
            <td>{a?.toFixed(digits) ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
