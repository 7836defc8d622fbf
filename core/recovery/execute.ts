import type { Tx } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { retryAtOnce } from '../db/unavailable.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import { sendOutboundIn } from '../conversations/outbound.ts';
import type { ConversationRow } from '../conversations/rows.ts';
import { addTag } from '../customers/tags.ts';
import { getCustomer } from '../customers/profile.ts';
import { handoffIn } from '../tickets/tickets.ts';
import { assess, type Verdict } from './assess.ts';
import type { PlaybookRow, Variant } from './playbooks.ts';
import type { Reach } from './reach.ts';
import type { RunContext } from './schedule.ts';
import { loadRecoverySettings } from './settings.ts';
import { greetingName, pickVariant, render, yuan } from './template.ts';

export interface RunRow {
  id: string;
  playbookId: string;
  customerId: string;
  reasonKey: string;
  trigger: string;
  context: RunContext;
  status: string;
  outcome: string | null;
  variant: string | null;
  dueAt: Date;
  conversationId: string | null;
  messageId: string | null;
  ticketId: string | null;
  script: string | null;
  executedAt: Date | null;
  recoveredAt: Date | null;
  recoveredFen: number | null;
  createdAt: Date;
}

const LEASE_S = 60;
const CONCURRENCY = 8;

/**
 * Claims due runs (SKIP LOCKED, with a lease so a node that dies mid-run releases them) and carries each out
 * in its own transaction. Returns how many were claimed, so the loop knows whether to look again at once.
 */
export async function runDueRecovery(deps: Deps, limit = 50): Promise<number> {
  const claimed = await deps.sql<{ id: string }[]>`
    update recovery_runs set claimed_until = now() + ${LEASE_S} * interval '1 second', attempts = attempts + 1
     where id in (select id from recovery_runs
                   where status = 'scheduled' and due_at <= now() and (claimed_until is null or claimed_until < now())
                   order by due_at limit ${limit} for update skip locked)
    returning id`;
  const one = async (id: string) => {
    try {
      // again at once after a lost session: a run is carried out only while still scheduled, so a retry whose
      // first try did commit finds it done and does nothing
      await retryAtOnce(() => executeRun(deps, id), deps, 'recovery run');
    } catch (err) {
      // left scheduled: the lease runs out and another pass retries; a run that keeps failing is given up
      deps.log.error({ err, runId: id }, 'recovery run failed');
      await deps.sql`update recovery_runs set status = case when attempts >= 5 then 'failed' else status end,
                            outcome = case when attempts >= 5 then 'error' else outcome end
                      where id = ${id} and status = 'scheduled'`;
    }
  };
  // a few at a time: runs of one customer serialize on their advisory lock, the rest overlap their round trips
  for (let i = 0; i < claimed.length; i += CONCURRENCY) await Promise.all(claimed.slice(i, i + CONCURRENCY).map((c) => one(c.id)));
  return claimed.length;
}

/** Carries out one run: decides, then sends / suggests / opens a ticket / tags, all in one transaction. */
export async function executeRun(deps: Deps, runId: string): Promise<RunRow | null> {
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const [run] = await tx<RunRow[]>`select * from recovery_runs where id = ${runId} and status = 'scheduled' for update`;
    if (!run) return null;
    const [playbook] = await tx<PlaybookRow[]>`select * from playbooks where id = ${run.playbookId}`;
    if (!playbook?.enabled) return finish(tx, run.id, { status: 'cancelled', outcome: 'playbook_disabled' });
    // one customer's runs one at a time across nodes: the frequency cap counts what the others sent
    await tx`select pg_advisory_xact_lock(hashtext(${`recovery:${run.customerId}`}))`;
    // a customer merged since the run was scheduled is served as the customer they became
    const survivor = (await getCustomer(tx, run.customerId)).id;
    if (survivor !== run.customerId) {
      await tx`update recovery_runs set customer_id = ${survivor} where id = ${run.id}`;
      run.customerId = survivor;
    }
    const settings = await loadRecoverySettings(tx);
    const verdict: Verdict = await assess(tx, playbook, run, settings);
    if (verdict.kind === 'skip') return finish(tx, run.id, { status: verdict.outcome === 'reason_gone' ? 'cancelled' : 'skipped', outcome: verdict.outcome });
    if (verdict.kind === 'wait') {
      const [w] = await tx<RunRow[]>`update recovery_runs set due_at = ${verdict.until}, claimed_until = null, outcome = 'quiet_hours'
                                       where id = ${run.id} returning *`;
      return w;
    }
    return act(tx, emit, playbook, run, verdict.reach, settings.optOutFooter);
  });
}

async function act(
  tx: Tx,
  emit: (e: DomainEvent) => void,
  playbook: PlaybookRow,
  run: RunRow,
  reach: Reach | null,
  footer: string,
): Promise<RunRow> {
  const variant = pickVariant(playbook.variants, playbook.id, run.customerId);
  const [customer] = await tx<{ displayName: string }[]>`select display_name from customers where id = ${run.customerId}`;
  const vars = {
    name: greetingName(customer?.displayName),
    product: run.context.product,
    amount: run.context.amountFen ? yuan(run.context.amountFen) : undefined,
    coupon: playbook.coupon ?? undefined,
    link: playbook.link ?? undefined,
    tier: run.context.tier,
  };
  const script = variant ? render(variant.text, vars) : null;
  const fields: Partial<Record<'status' | 'outcome' | 'variant' | 'conversationId' | 'messageId' | 'ticketId' | 'script', string | null>> = {
    variant: variant?.id ?? null,
    script,
  };
  let status = 'done';
  let conversation: ConversationRow | null = reach?.conversation ?? null;
  for (const action of playbook.actions) {
    if (action.type === 'tag') await addTag(tx, run.customerId, action.tag, null);
    if (action.type === 'suggest' && status === 'done') status = 'suggested';
    if (action.type === 'send' && variant && script) {
      if (reach && !reach.blocked && reach.conversation) {
        const { message } = await sendOutboundIn(tx, emit, {
          conversationId: reach.conversation.id,
          senderType: 'bot',
          type: variant.kind,
          text: footer ? `${script}\n${footer}` : script,
          payload: { ...cardOf(variant, vars), recovery: { runId: run.id, playbookId: playbook.id, variant: variant.id } },
        });
        fields.messageId = message.id;
        status = 'sent';
      } else {
        // WeChat's window is closed, or a human has the conversation: a person follows up instead of silence
        status = 'fallback';
        fields.outcome = reach?.blocked ?? 'no_conversation';
      }
    }
  }
  const wantsTicket = playbook.actions.find((a) => a.type === 'ticket');
  conversation ??= await latestConversation(tx, run.customerId);
  if ((wantsTicket || status === 'fallback') && conversation) {
    const ticket = await handoffIn(tx, emit, {
      conversationId: conversation.id,
      category: wantsTicket && 'category' in wantsTicket ? (wantsTicket.category ?? null) : null,
      reason: 'recovery',
    });
    fields.ticketId = ticket.id;
  }
  fields.conversationId = conversation?.id ?? null;
  fields.status = status;
  const row = await finish(tx, run.id, fields);
  if (conversation && (status === 'suggested' || status === 'fallback')) {
    // read again: a ticket opened above may have given the conversation to an agent, whose console must hear it
    const [now] = await tx<ConversationRow[]>`select * from conversations where id = ${conversation.id}`;
    emit({ type: 'recovery.script', run: row, conversation: now });
  }
  return row;
}

function cardOf(v: Variant, vars: Parameters<typeof render>[1]): Record<string, unknown> {
  if (v.kind === 'link') return { title: render(v.title ?? '', vars), desc: render(v.desc ?? '', vars), url: v.url, thumbMediaId: v.thumbMediaId };
  if (v.kind === 'miniprogram') return { title: render(v.title ?? '', vars), appId: v.appId, pagePath: v.pagePath, thumbMediaId: v.thumbMediaId };
  return {};
}

async function latestConversation(tx: Tx, customerId: string): Promise<ConversationRow | null> {
  const [c] = await tx<ConversationRow[]>`
    select * from conversations where customer_id = ${customerId} order by coalesce(last_customer_message_at, created_at) desc limit 1`;
  return c ?? null;
}

async function finish(tx: Tx, id: string, f: Record<string, string | null | undefined>): Promise<RunRow> {
  const [row] = await tx<RunRow[]>`
    update recovery_runs set status = ${f.status ?? 'done'}, outcome = coalesce(${f.outcome ?? null}, case when outcome = 'quiet_hours' then null else outcome end),
           variant = ${f.variant ?? null}, conversation_id = ${f.conversationId ?? null}, message_id = ${f.messageId ?? null},
           ticket_id = ${f.ticketId ?? null}, script = ${f.script ?? null}, executed_at = now(), claimed_until = null
     where id = ${id} returning *`;
  return row;
}
