/**
 * The audit log page: the service's hash-chained audit rows (logins, plan
 * decisions, deployments, refused calls), filtered by actor and action prefix,
 * oldest first, paged by sequence number. Operators and supervisors only (the
 * API refuses viewers).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type AuditRow } from '../api.js';
import type { T } from '../i18n.js';

export function AuditPage(props: { t: T }) {
  const { t } = props;
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [rows, setRows] = useState<AuditRow[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const search = async (more: boolean): Promise<void> => {
    setError(undefined);
    try {
      const afterSeq = more && rows && rows.length > 0 ? rows[rows.length - 1]!.seq : 0;
      const r = await api.audit({ actor, action, afterSeq });
      setRows(more && rows ? [...rows, ...r.rows] : r.rows);
    } catch (e: unknown) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  // The first search only; later ones follow the form.
  useEffect(() => void search(false), []);

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">{t('auditTitle')}</h1>
      <form
        class="actions"
        onSubmit={(e) => {
          e.preventDefault();
          void search(false);
        }}
      >
        <label>
          {t('actor')} <input type="text" value={actor} onInput={(e) => setActor((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t('action')} <input type="text" value={action} onInput={(e) => setAction((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">{t('search')}</button>
      </form>
      {error && (
        <p role="alert" class="error">
          {t('error', { message: error })}
        </p>
      )}
      {rows && rows.length === 0 && <p>{t('noRows')}</p>}
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">{t('seq')}</th>
                <th scope="col">{t('time')}</th>
                <th scope="col">{t('actor')}</th>
                <th scope="col">{t('action')}</th>
                <th scope="col">{t('detail')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td>{r.seq}</td>
                  <td>{new Date(r.atMs).toLocaleString()}</td>
                  <td>
                    {r.actor} <span class="muted">{r.peer ?? ''}</span>
                  </td>
                  <td>{r.action}</td>
                  <td>
                    <code>{JSON.stringify(r.detail)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => void search(true)}>
            {t('more')}
          </button>
        </div>
      )}
    </section>
  );
}
