/**
 * Pieces the live pages share (bus priority, parking, traffic): the stream's
 * status ("Live" / "Reconnecting…", announced as a status) and a table's
 * column heads from message keys.
 */
import type { MessageKey, T } from '../i18n.js';

/** Whether the page's event stream is connected, as a status the screen reader announces. */
export function LiveStatus(props: { t: T; live: boolean }) {
  const { t, live } = props;
  return (
    <span role="status" data-live={live ? '1' : '0'} class={live ? 'ok' : 'muted'}>
      {live ? t('bpLive') : t('bpOffline')}
    </span>
  );
}

/** A table's head: one column header per message key. */
export function ColumnHeads(props: { t: T; keys: readonly MessageKey[] }) {
  return (
    <thead>
      <tr>
        {props.keys.map((k) => (
          <th scope="col">{props.t(k)}</th>
        ))}
      </tr>
    </thead>
  );
}
