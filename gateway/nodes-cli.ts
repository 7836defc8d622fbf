import type { NodeRow } from '../core/agents/nodes.ts';

const STATE: Record<NodeRow['state'], string> = { alive: '在线 alive', lost: '失联 lost', stopped: '已停止 stopped' };

const ago = (d: Date, now: number) => {
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  return s < 120 ? `${s} 秒前` : s < 7200 ? `${Math.round(s / 60)} 分钟前` : `${Math.round(s / 3600)} 小时前`;
};

/**
 * `huike nodes`: the gateway nodes of this database, as the presence sweep sees them (gateway/node-heartbeat.ts).
 * A lost node fell silent without stopping: killed, crashed or frozen; its agents' offline grace has started.
 */
export function printNodes(rows: NodeRow[], log: (line: string) => void = console.log, now = Date.now()): void {
  if (!rows.length) return log('没有网关节点记录 / no gateway node has run on this database yet');
  const table = [
    ['状态 state', '节点 node', '主机 host', '进程 pid', '启动 started', '最近心跳 last beat', '坐席 agents'],
    ...rows.map((r) => [STATE[r.state], r.id.slice(0, 8), r.host, String(r.pid), r.startedAt.toISOString(), ago(r.seenAt, now), String(r.agents)]),
  ];
  // CJK characters take two columns in a terminal
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u3000-\u9fff\uff00-\uffef]/.test(ch) ? 2 : 1), 0);
  const cols = table[0].map((_, i) => Math.max(...table.map((row) => width(row[i]))));
  for (const row of table) log(row.map((cell, i) => cell + ' '.repeat(cols[i] - width(cell))).join('  ').trimEnd());
  const count = (state: NodeRow['state']) => rows.filter((r) => r.state === state).length;
  log(`在线 ${count('alive')} 个，失联 ${count('lost')} 个，已停止 ${count('stopped')} 个 / alive ${count('alive')}, lost ${count('lost')}, stopped ${count('stopped')}`);
}
