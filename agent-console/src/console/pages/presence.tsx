import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Presence } from '../../shared/types.ts';
import { useLiveEvent } from '../live.ts';

const PRESENCE: Record<string, [string, string]> = { online: ['在线', 'green'], away: ['离开', 'orange'], offline: ['离线', 'default'] };

/** An agent's status, and 已断开 while all their consoles are closed and they are still online for the offline grace. */
export function PresenceTag({ status, disconnectedAt }: { status: string; disconnectedAt?: string | null }) {
  const { t } = useTranslation();
  return (
    <span data-testid="presence-tag">
      <Tag color={PRESENCE[status]?.[1]}>{t(PRESENCE[status]?.[0] ?? status)}</Tag>
      {/* they keep their tickets for a short grace, and get no new ones */}
      {disconnectedAt && status !== 'offline' && (
        <Tag color="orange" title={t('控制台已关闭：保留已分配的会话，暂不分配新会话')}>
          {t('已断开')}
        </Tag>
      )}
    </span>
  );
}

/** Keeps the agents of a loaded list as they are now: each `agent:status` updates that agent's row. */
export function usePresenceUpdates<R extends { status: string; disconnectedAt?: string | null }>(
  idOf: (row: R) => string,
  patch: (update: (rows: R[]) => R[]) => void,
) {
  useLiveEvent<Presence>('agent:status', (e) =>
    patch((rows) => rows.map((r) => (idOf(r) === e.agentId ? { ...r, status: e.status, disconnectedAt: e.disconnectedAt } : r))),
  );
}
