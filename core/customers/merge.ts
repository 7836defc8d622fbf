import type { Queryable, Tx } from '../db/client.ts';
import { conflict, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { audit } from '../audit.ts';

export interface MergeRow {
  id: string;
  survivorId: string;
  mergedId: string;
  reason: string;
  identityIds: string[];
  conversationIds: string[];
  orderIds: string[];
  ticketIds: string[];
  cartIds: string[];
  eventIds: number[];
  tagsAdded: string[];
  pointsMoved: number;
  createdBy: string | null;
  createdAt: Date;
  splitAt: Date | null;
  splitBy: string | null;
}

/** Follows merged_into to the customer that holds everything now. */
export async function rootCustomer(tx: Tx, id: string): Promise<{ id: string; createdAt: Date }> {
  let [c] = await tx<{ id: string; mergedInto: string | null; createdAt: Date }[]>`select id, merged_into, created_at from customers where id = ${id}`;
  for (let hops = 0; c?.mergedInto && hops < 10; hops++)
    [c] = await tx<{ id: string; mergedInto: string | null; createdAt: Date }[]>`select id, merged_into, created_at from customers where id = ${c.mergedInto}`;
  if (!c) throw notFound('客户');
  return c;
}

/**
 * Moves everything of `mergedId` to `survivorId` and records exactly what moved, so a supervisor can split them
 * again. Conversations keep their identity, so replies still go to the channel the customer wrote from.
 */
export async function mergeCustomers(
  tx: Tx,
  input: { survivorId: string; mergedId: string; reason: string; actorId?: string | null },
): Promise<MergeRow> {
  const { survivorId, mergedId } = input;
  if (survivorId === mergedId) throw conflict('same_customer', '不能把客户与自己合并');
  const locked = await tx<{ id: string; mergedInto: string | null; points: number }[]>`
    select id, merged_into, points from customers where id in (${survivorId}, ${mergedId}) order by id for update`;
  if (locked.length !== 2) throw notFound('客户');
  if (locked.some((c) => c.mergedInto)) throw conflict('already_merged', '其中一位客户已被合并到他人，请对合并后的客户操作');
  const points = locked.find((c) => c.id === mergedId)!.points;
  const ids = async <T>(q: Promise<{ id: T }[]>) => (await q).map((r) => r.id);
  const identityIds = await ids(tx<{ id: string }[]>`update identities set customer_id = ${survivorId} where customer_id = ${mergedId} returning id`);
  const conversationIds = await ids(tx<{ id: string }[]>`update conversations set customer_id = ${survivorId} where customer_id = ${mergedId} returning id`);
  const orderIds = await ids(tx<{ id: string }[]>`update orders set customer_id = ${survivorId} where customer_id = ${mergedId} returning id`);
  const ticketIds = await ids(tx<{ id: string }[]>`update tickets set customer_id = ${survivorId} where customer_id = ${mergedId} returning id`);
  const cartIds = await ids(tx<{ id: string }[]>`update carts set customer_id = ${survivorId} where customer_id = ${mergedId} returning id`);
  const eventIds = await ids(tx<{ id: number }[]>`update commerce_events set customer_id = ${survivorId} where customer_id = ${mergedId} returning id`);
  const tagsAdded = (
    await tx<{ tag: string }[]>`
      insert into customer_tags (customer_id, tag, source, created_by)
      select ${survivorId}, tag, source, created_by from customer_tags where customer_id = ${mergedId}
      on conflict do nothing returning tag`
  ).map((r) => r.tag);
  await tx`update customers set points = points + ${points} where id = ${survivorId}`;
  await tx`update customers set points = 0, merged_into = ${survivorId} where id = ${mergedId}`;
  const [merge] = await tx<MergeRow[]>`
    insert into customer_merges (survivor_id, merged_id, reason, identity_ids, conversation_ids, order_ids, ticket_ids, cart_ids, event_ids, tags_added, points_moved, created_by)
    values (${survivorId}, ${mergedId}, ${input.reason}, ${identityIds}, ${conversationIds}, ${orderIds}, ${ticketIds}, ${cartIds}, ${eventIds}, ${tagsAdded}, ${points}, ${input.actorId ?? null})
    returning *`;
  await audit(tx, { actorId: input.actorId ?? null, action: 'customer.merge', targetType: 'customer', targetId: survivorId, details: { mergedId, reason: input.reason, mergeId: merge.id } });
  return merge;
}

/** Undoes a merge: what moved goes back, points and tags too. Later merges of the survivor must be split first. */
export async function splitMerge(tx: Tx, mergeId: string, actorId: string): Promise<MergeRow> {
  if (!isUuid(mergeId)) throw notFound('合并记录');
  const [m] = await tx<MergeRow[]>`select * from customer_merges where id = ${mergeId} for update`;
  if (!m) throw notFound('合并记录');
  if (m.splitAt) throw conflict('already_split', '这次合并已经拆分过了');
  const [survivor] = await tx<{ mergedInto: string | null }[]>`select merged_into from customers where id = ${m.survivorId} for update`;
  if (survivor.mergedInto) throw conflict('split_later_first', '保留的客户后来又被合并了，请先拆分那次合并');
  await tx`update identities set customer_id = ${m.mergedId} where id = any(${m.identityIds}::uuid[])`;
  await tx`update conversations set customer_id = ${m.mergedId} where id = any(${m.conversationIds}::uuid[])`;
  await tx`update orders set customer_id = ${m.mergedId} where id = any(${m.orderIds}::uuid[])`;
  await tx`update tickets set customer_id = ${m.mergedId} where id = any(${m.ticketIds}::uuid[])`;
  await tx`update carts set customer_id = ${m.mergedId} where id = any(${m.cartIds}::uuid[])`;
  await tx`update commerce_events set customer_id = ${m.mergedId} where id = any(${m.eventIds}::bigint[])`;
  await tx`delete from customer_tags where customer_id = ${m.survivorId} and tag = any(${m.tagsAdded}::text[])`;
  await tx`update customers set points = greatest(0, points - ${m.pointsMoved}) where id = ${m.survivorId}`;
  await tx`update customers set points = points + ${m.pointsMoved}, merged_into = null where id = ${m.mergedId}`;
  const [split] = await tx<MergeRow[]>`update customer_merges set split_at = now(), split_by = ${actorId} where id = ${mergeId} returning *`;
  await audit(tx, { actorId, action: 'customer.split', targetType: 'customer', targetId: m.survivorId, details: { mergedId: m.mergedId, mergeId } });
  return split;
}

/**
 * Several customers proven to be one person by a strong identity: the oldest keeps everything. A pair that a
 * supervisor split once is never merged again automatically.
 */
export async function mergeByStrongIdentity(tx: Tx, customerIds: string[], reason: string): Promise<string> {
  const roots = new Map<string, { id: string; createdAt: Date }>();
  for (const id of customerIds) {
    const r = await rootCustomer(tx, id);
    roots.set(r.id, r);
  }
  const [survivor, ...others] = [...roots.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  for (const other of others) {
    const [wasSplit] = await tx`
      select 1 from customer_merges where split_at is not null
         and ((survivor_id = ${survivor.id} and merged_id = ${other.id}) or (survivor_id = ${other.id} and merged_id = ${survivor.id}))`;
    if (!wasSplit) await mergeCustomers(tx, { survivorId: survivor.id, mergedId: other.id, reason });
  }
  return survivor.id;
}

export async function mergesOf(q: Queryable, customerId: string): Promise<MergeRow[]> {
  return q<MergeRow[]>`
    select * from customer_merges where survivor_id = ${customerId} or merged_id = ${customerId} order by created_at desc`;
}
