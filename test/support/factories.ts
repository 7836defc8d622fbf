import { randomBytes } from 'node:crypto';
import { transaction, type Sql } from '../../core/db/client.ts';
import { createAgent } from '../../core/agents/agents.ts';
import type { AgentRow, Role } from '../../core/agents/rows.ts';
import { addIdentity, type IdentityInput } from '../../core/customers/identities.ts';
import { upsertOrder, type NewOrder } from '../../core/commerce/orders.ts';

const uid = () => randomBytes(4).toString('hex');
export const TEST_PASSWORD = 'test-password-1';

export async function buildTeam(sql: Sql, o: { name?: string; categories?: string[]; isDefault?: boolean } = {}) {
  const [row] = await sql<{ id: string; name: string }[]>`
    insert into teams (name, categories, is_default)
    values (${o.name ?? `组-${uid()}`}, ${o.categories ?? []}, ${o.isDefault ?? false}) returning id, name`;
  return row;
}

export async function buildAgent(
  sql: Sql,
  o: { name?: string; email?: string; role?: Role; teamIds?: string[]; status?: AgentRow['status']; maxConcurrent?: number } = {},
): Promise<AgentRow> {
  const agent = await createAgent(sql, {
    email: o.email ?? `agent-${uid()}@test.huike`,
    name: o.name ?? `客服${uid()}`,
    password: TEST_PASSWORD,
    role: o.role ?? 'agent',
    teamIds: o.teamIds,
    maxConcurrent: o.maxConcurrent,
  });
  if (o.status && o.status !== agent.status) {
    await sql`update agents set status = ${o.status} where id = ${agent.id}`;
    agent.status = o.status;
  }
  return agent;
}

export async function buildCustomer(
  sql: Sql,
  o: { name?: string; phone?: string | null; tier?: string; identities?: IdentityInput[]; orders?: Partial<NewOrder>[] } = {},
) {
  const [c] = await sql<{ id: string; displayName: string }[]>`
    insert into customers (display_name, phone, tier)
    values (${o.name ?? `客户${uid()}`}, ${o.phone === undefined ? '13812345678' : o.phone}, ${o.tier ?? 'normal'})
    returning id, display_name`;
  await transaction(sql, async (tx) => {
    for (const i of o.identities ?? [{ kind: 'web_visitor' as const, value: `visitor-${uid()}` }]) await addIdentity(tx, c.id, i);
  });
  for (const [k, order] of (o.orders ?? []).entries()) {
    await upsertOrder(sql, {
      customerId: c.id,
      platform: 'taobao',
      platformOrderId: `T${uid()}${k}`,
      status: 'delivered',
      totalFen: 10000,
      items: [{ sku: 'S1', name: '测试商品', category: '连衣裙', qty: 1, priceFen: 10000 }],
      orderedAt: new Date(Date.now() - (k + 1) * 86_400_000),
      ...order,
    });
  }
  return c;
}

export async function buildKb(sql: Sql, entries: { id: string; category: string; question: string; similar?: string[]; answer: string }[]) {
  for (const e of entries) {
    await sql`insert into kb_entries (id, category, question, similar_questions, answer)
              values (${e.id}, ${e.category}, ${e.question}, ${e.similar ?? []}, ${e.answer})`;
  }
}

/** A conversation of a new customer, in a team's queue or with an agent: for tests of who sees what. */
export async function buildConversation(sql: Sql, o: { teamId: string | null; assigneeId?: string | null }) {
  const customer = await buildCustomer(sql);
  const [idn] = await sql<{ id: string }[]>`select id from identities where customer_id = ${customer.id}`;
  const [c] = await sql<{ id: string }[]>`
    insert into conversations (customer_id, identity_id, channel, status, team_id, assignee_id)
    values (${customer.id}, ${idn.id}, 'web', ${o.assigneeId ? 'open' : 'queued'}, ${o.teamId}, ${o.assigneeId ?? null}) returning id`;
  return { id: c.id, customerId: customer.id };
}
