import { iso } from '../time.ts';
import type { RunRow } from './execute.ts';
import type { PlaybookRow } from './playbooks.ts';

export function presentPlaybook(p: PlaybookRow) {
  return {
    id: p.id,
    key: p.key,
    name: p.name,
    enabled: p.enabled,
    trigger: p.trigger,
    conditions: p.conditions,
    actions: p.actions,
    variants: p.variants,
    coupon: p.coupon,
    link: p.link,
    attributionHours: p.attributionHours,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
  };
}

export function presentRun(r: RunRow & { playbookName?: string }) {
  return {
    id: r.id,
    playbookId: r.playbookId,
    playbookName: r.playbookName,
    customerId: r.customerId,
    trigger: r.trigger,
    reasonKey: r.reasonKey,
    context: r.context,
    status: r.status,
    outcome: r.outcome,
    variant: r.variant,
    dueAt: iso(r.dueAt),
    conversationId: r.conversationId,
    messageId: r.messageId,
    ticketId: r.ticketId,
    script: r.script,
    executedAt: iso(r.executedAt),
    recoveredAt: iso(r.recoveredAt),
    recoveredFen: r.recoveredFen === null ? null : Number(r.recoveredFen),
    createdAt: iso(r.createdAt),
  };
}
