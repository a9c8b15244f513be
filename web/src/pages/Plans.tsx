/**
 * The plans page: every version of the network's plan with its review state,
 * and for one version its timing side by side with the plan in force, the
 * supervisor's approve / reject, deploy (each controller's confirmation
 * arriving live over server-sent events) and roll back to it. Buttons follow
 * the user's roles; the server checks them again whatever the page shows.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type Deployment, type IntersectionTiming, type PlanVersion } from '../api.js';
import type { MessageKey, T } from '../i18n.js';

const r1 = (x: number): string => String(Math.round(x * 10) / 10);

export function PlansPage(props: { t: T; planId: number | undefined; roles: readonly string[] }) {
  const { t } = props;
  const [plans, setPlans] = useState<PlanVersion[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [tick, setTick] = useState(0);
  const reload = (): void => setTick((k) => k + 1);

  useEffect(() => {
    api.plans().then(
      (r) => setPlans(r.plans),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [tick]);

  return (
    <section aria-labelledby="plans-title">
      <h1 id="plans-title">{t('plansTitle')}</h1>
      {error && (
        <p role="alert" class="error">
          {t('error', { message: error })}
        </p>
      )}
      {!plans ? (
        <p aria-busy="true">{t('loading')}</p>
      ) : (
        <div class="table-wrap">
          <table class="plans">
            <thead>
              <tr>
                <th scope="col">{t('version')}</th>
                <th scope="col">{t('state')}</th>
                <th scope="col">{t('author')}</th>
                <th scope="col">{t('source')}</th>
                <th scope="col">{t('reason')}</th>
                <th scope="col">{t('created')}</th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {plans.map((p) => (
                <tr data-plan={p.planId} aria-current={props.planId === p.planId ? 'true' : undefined}>
                  <td>
                    v{p.version} <span class="muted">#{p.planId}</span> {p.inForce && <strong class="badge">{t('inForce')}</strong>}
                  </td>
                  <td data-state={p.state}>{t(`st_${p.state}` as MessageKey)}</td>
                  <td>{p.author}</td>
                  <td>{p.source}</td>
                  <td>{p.reason}</td>
                  <td>{new Date(p.createdAtMs).toLocaleString()}</td>
                  <td>
                    <a href={`#/plans/${p.planId}`}>{t('open')}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.planId !== undefined && <PlanDetail key={props.planId} t={t} planId={props.planId} roles={props.roles} onChange={reload} />}
    </section>
  );
}

interface Row {
  readonly where: string;
  readonly field: string;
  readonly before: number | undefined;
  readonly after: number | undefined;
}

/** The rows where `after` differs from `before` by the controllers' 0.1 s or more. */
function diffRows(before: readonly IntersectionTiming[], after: readonly IntersectionTiming[]): Row[] {
  const rows: Row[] = [];
  const push = (where: string, field: string, b: number | undefined, a: number | undefined): void => {
    if (b === undefined || a === undefined || Math.abs(a - b) >= 0.05) rows.push({ where, field, before: b, after: a });
  };
  for (const a of after) {
    const b = before.find((x) => x.intersectionId === a.intersectionId);
    push(a.intersectionId, 'cycleS', b?.cycleS, a.cycleS);
    push(a.intersectionId, 'offsetS', b?.offsetS, a.offsetS);
    for (const p of a.phases) {
      const q = b?.phases.find((x) => x.phaseId === p.phaseId);
      push(`${a.intersectionId} · ${p.phaseId}`, 'greenS', q?.greenS, p.greenS);
      push(`${a.intersectionId} · ${p.phaseId}`, 'startS', q?.startS, p.startS);
    }
  }
  return rows;
}

function PlanDetail(props: { t: T; planId: number; roles: readonly string[]; onChange: () => void }) {
  const { t, planId } = props;
  const [plan, setPlan] = useState<PlanVersion | undefined>();
  const [current, setCurrent] = useState<IntersectionTiming[] | undefined>();
  const [comment, setComment] = useState('');
  const [rollout, setRollout] = useState<{ id: string; deployments: Map<string, Deployment>; done?: { confirmed: number; failed: number } } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const supervisor = props.roles.includes('supervisor');

  const load = (): void => {
    Promise.all([api.plan(planId), api.currentTiming()]).then(
      ([p, c]) => {
        setPlan(p);
        setCurrent(c.timing);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };
  useEffect(load, [planId]);

  const act = async (f: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await f();
      load();
      props.onChange();
    } catch (e: unknown) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  /** Follows a rollout's events until the server says it is done. */
  const watch = (id: string, staged: readonly Deployment[]): void => {
    const deployments = new Map(staged.map((d) => [d.controllerId, d]));
    setRollout({ id, deployments });
    const es = new EventSource(`/api/rollouts/${encodeURIComponent(id)}/events`);
    es.addEventListener('deployment', (ev) => {
      const d = JSON.parse((ev as MessageEvent<string>).data) as Deployment;
      deployments.set(d.controllerId, d);
      setRollout({ id, deployments: new Map(deployments) });
    });
    es.addEventListener('done', (ev) => {
      es.close();
      setRollout({ id, deployments: new Map(deployments), done: JSON.parse((ev as MessageEvent<string>).data) as { confirmed: number; failed: number } });
      load();
      props.onChange();
    });
    es.onerror = () => es.close();
  };

  if (!plan || !current) return <p aria-busy="true">{t('loading')}</p>;
  const rows = plan.timing ? diffRows(current, plan.timing) : [];
  const fieldName = (f: string): string => ({ cycleS: t('fieldCycle'), offsetS: t('offset'), greenS: t('fieldGreen'), startS: t('fieldStart') })[f] ?? f;
  const wasApproved = plan.state === 'approved' || plan.deployments.length > 0;

  return (
    <section class="detail" aria-labelledby="plan-title">
      <h2 id="plan-title">{t('versionTitle', { version: plan.version, id: plan.planId })}</h2>
      <p>
        {t(`st_${plan.state}` as MessageKey)} · {plan.author} · {plan.reason}
        {plan.decisions.map((d) => ` · ${d.actor}: ${d.decision}${d.comment ? ` (${d.comment})` : ''}`).join('')}
      </p>
      {error && (
        <p role="alert" class="error">
          {t('error', { message: error })}
        </p>
      )}
      <table class="diff">
        <caption>{t('diffTitle')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('signal')}</th>
            <th scope="col">{t('field')}</th>
            <th scope="col">{t('inForce')}</th>
            <th scope="col">{t('versionTitle', { version: plan.version, id: plan.planId })}</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4}>{t('noDiff')}</td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr>
                <th scope="row">{r.where}</th>
                <td>{fieldName(r.field)}</td>
                <td class="before">{r.before === undefined ? '–' : r1(r.before)}</td>
                <td class="after">{r.after === undefined ? '–' : r1(r.after)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {supervisor && (
        <div class="actions">
          {plan.state === 'proposed' && (
            <>
              <label>
                {t('comment')} <input type="text" value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
              </label>
              <button type="button" disabled={busy} onClick={() => void act(() => api.decide(planId, 'approve', comment))}>
                {t('approve')}
              </button>
              <button type="button" disabled={busy} onClick={() => void act(() => api.decide(planId, 'reject', comment))}>
                {t('reject')}
              </button>
            </>
          )}
          {plan.state === 'approved' && !plan.inForce && (
            <button type="button" disabled={busy} onClick={() => void act(async () => { const d = await api.deploy(planId); watch(d.rolloutId, d.deployments); })}>
              {t('deploy')}
            </button>
          )}
          {wasApproved && !plan.inForce && plan.deployments.length > 0 && (
            <button type="button" disabled={busy} onClick={() => void act(async () => { const d = await api.rollback(plan.version, comment); watch(d.rolloutId, d.deployments); })}>
              {t('rollback')}
            </button>
          )}
        </div>
      )}
      {rollout && <RolloutTable t={t} id={rollout.id} deployments={[...rollout.deployments.values()]} done={rollout.done} />}
    </section>
  );
}

function RolloutTable(props: { t: T; id: string; deployments: readonly Deployment[]; done: { confirmed: number; failed: number } | undefined }) {
  const { t } = props;
  return (
    <div class="rollout" aria-live="polite" data-rollout={props.id} data-done={props.done ? '1' : undefined}>
      <table>
        <caption>{t('rolloutTitle', { id: props.id })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('controller')}</th>
            <th scope="col">{t('state')}</th>
            <th scope="col">{t('wirePlan')}</th>
            <th scope="col">{t('readBack')}</th>
          </tr>
        </thead>
        <tbody>
          {props.deployments.map((d) => (
            <tr data-controller={d.controllerId} data-state={d.state}>
              <th scope="row">{d.controllerId}</th>
              <td>{t(`dep_${d.state}` as MessageKey)}{d.reason ? ` (${d.reason})` : ''}</td>
              <td>{d.wirePlanId}</td>
              <td>{d.readBackPlanId ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.done && <p class="ok">{t('rolloutDone', props.done)}</p>}
    </div>
  );
}
