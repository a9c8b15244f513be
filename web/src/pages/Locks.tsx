/**
 * The locks and schedule page, read-only: the plan and cycle locks in force and
 * the time-of-day schedule running, with the period due now
 * (web/server/locksApi.ts). Setting them stays with greenwave ops. Every role
 * may read it.
 */
import { useEffect, useState } from 'preact/hooks';
import { liveApi, type LocksView } from '../api.js';
import type { MessageKey, T } from '../i18n.js';

const hhmm = (min: number): string => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

export function LocksPage(props: { t: T }) {
  const { t } = props;
  const [view, setView] = useState<LocksView | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    liveApi.locks().then(setView, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  const schedule = view?.schedule && view.schedule.entries.length > 0 ? view.schedule : undefined;
  return (
    <section aria-labelledby="locks-title">
      <h1 id="locks-title">{t('lkTitle')}</h1>
      <p class="summary">{t('lkHelp')}</p>
      {error && (
        <p role="alert" class="error">
          {t('error', { message: error })}
        </p>
      )}
      {!view ? (
        !error && <p aria-busy="true">{t('loading')}</p>
      ) : !view.configured ? (
        <p role="status">{t('lkNoDb')}</p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="locks">
              <caption>{t('lkLocks')}</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">{t('lkScope')}</th>
                  <th scope="col">{t('lkWhat')}</th>
                  <th scope="col">{t('lkValue')}</th>
                  <th scope="col">{t('lkWhy')}</th>
                  <th scope="col">{t('lkBy')}</th>
                  <th scope="col">{t('lkSince')}</th>
                </tr>
              </thead>
              <tbody>
                {view.locks.length === 0 ? (
                  <tr>
                    <td colSpan={7}>{t('lkNoLocks')}</td>
                  </tr>
                ) : (
                  view.locks.map((l) => (
                    <tr data-lock={l.id}>
                      <td>{l.id}</td>
                      <td>
                        {t(`lks_${l.scope.kind}` as MessageKey)} {l.scope.id}
                      </td>
                      <td>{t(`lkw_${l.what}` as MessageKey)}</td>
                      <td>
                        <code>{JSON.stringify(l.value)}</code>
                      </td>
                      <td>{l.reason}</td>
                      <td>{l.author}</td>
                      <td>{new Date(l.createdAtMs).toLocaleString()}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
          <h2>{t('lkSchedule')}</h2>
          {!schedule ? (
            <p>{t('lkNoSchedule')}</p>
          ) : (
            <div class="table-wrap">
              <table class="schedule">
                <caption>{t('lkScheduleOf', { version: schedule.version, id: schedule.planId, author: schedule.author })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('lkFrom')}</th>
                    <th scope="col">{t('lkPlan')}</th>
                  </tr>
                </thead>
                <tbody>
                  {schedule.entries.map((e) => {
                    const due = schedule.due?.startMin === e.startMin;
                    return (
                      <tr aria-current={due ? 'true' : undefined}>
                        <td>{hhmm(e.startMin)}</td>
                        <td>
                          <a href={`#/plans/${e.planId}`}>#{e.planId}</a> {due && <strong class="badge">{t('lkDue')}</strong>}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
