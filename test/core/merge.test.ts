import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { inTransaction } from '../../core/events.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { mergeByStrongIdentity, mergeCustomers, splitMerge } from '../../core/customers/merge.ts';
import { assembleProfile } from '../../core/customers/profile.ts';
import { addTag } from '../../core/customers/tags.ts';
import { linkWechatIdentity } from '../../core/customers/wechat-link.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import { buildAgent, buildCustomer } from '../support/factories.ts';

describe('customer merge and split (OneID)', () => {
  let db: Database;
  let deps: Deps;
  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
  });
  afterAll(() => db.close());

  async function snapshot(customerId: string) {
    const [r] = await db.sql`
      select (select count(*)::int from identities where customer_id = ${customerId}) as identities,
             (select count(*)::int from orders where customer_id = ${customerId}) as orders,
             (select count(*)::int from conversations where customer_id = ${customerId}) as conversations,
             (select points from customers where id = ${customerId}) as points,
             (select array_agg(tag order by tag) from customer_tags where customer_id = ${customerId}) as tags,
             (select merged_into from customers where id = ${customerId}) as merged_into`;
    return r;
  }

  it('moves identities, orders, conversations, tags and points to the survivor; a split puts back exactly what moved', async () => {
    const sup = await buildAgent(db.sql, { role: 'supervisor' });
    const a = await buildCustomer(db.sql, { identities: [{ kind: 'taobao_nick', value: 'tb_a' }], orders: [{ totalFen: 100 }, { totalFen: 200 }] });
    const b = await buildCustomer(db.sql, { identities: [{ kind: 'jd_pin', value: 'jd_b' }, { kind: 'email', value: 'b@x.cn' }], orders: [{ platform: 'jd', totalFen: 300 }] });
    await db.sql`update customers set points = 10 where id = ${a.id}`;
    await db.sql`update customers set points = 25 where id = ${b.id}`;
    await addTag(db.sql, a.id, '老客', null);
    await addTag(db.sql, b.id, '老客', null);
    await addTag(db.sql, b.id, '大码', null);
    const conv = await ingestInbound(deps, { channel: 'web', channelMsgId: 'v-b:1', identity: { kind: 'web_visitor', value: 'v-b-visitor' }, type: 'text', text: '在吗' });
    await db.sql`update identities set customer_id = ${b.id} where value = 'v-b-visitor'`;
    await db.sql`update conversations set customer_id = ${b.id} where id = ${conv.conversation.id}`;
    const beforeA = await snapshot(a.id);
    const beforeB = await snapshot(b.id);

    const merge = await inTransaction(db.sql, deps.bus, (tx) => mergeCustomers(tx, { survivorId: a.id, mergedId: b.id, reason: 'manual', actorId: sup.id }));
    expect(await snapshot(a.id)).toEqual({ identities: 4, orders: 3, conversations: 1, points: 35, tags: ['大码', '老客'], mergedInto: null });
    expect(await snapshot(b.id)).toMatchObject({ identities: 0, orders: 0, conversations: 0, points: 0, mergedInto: a.id });
    // asking for the merged customer's profile gives the survivor
    expect((await assembleProfile(db.sql, b.id, { reveal: false })).id).toBe(a.id);
    // the conversation still answers to the identity the customer wrote from
    const [c] = await db.sql`select i.value from conversations c join identities i on i.id = c.identity_id where c.id = ${conv.conversation.id}`;
    expect(c.value).toBe('v-b-visitor');
    const [log] = await db.sql`select action from audit_log where details->>'mergeId' = ${merge.id}`;
    expect(log.action).toBe('customer.merge');

    await inTransaction(db.sql, deps.bus, (tx) => splitMerge(tx, merge.id, sup.id));
    expect(await snapshot(a.id)).toEqual(beforeA);
    expect(await snapshot(b.id)).toEqual(beforeB);
    await expect(inTransaction(db.sql, deps.bus, (tx) => splitMerge(tx, merge.id, sup.id))).rejects.toMatchObject({ code: 'already_split' });

    // the same evidence later does not merge a pair a supervisor split
    const survivor = await inTransaction(db.sql, deps.bus, (tx) => mergeByStrongIdentity(tx, [a.id, b.id], 'shared:wx_unionid'));
    expect((await snapshot(b.id)).mergedInto).toBeNull();
    expect([a.id, b.id]).toContain(survivor);
  });

  it('splits must go newest first', async () => {
    const sup = await buildAgent(db.sql, { role: 'supervisor' });
    const [x, y, z] = [await buildCustomer(db.sql), await buildCustomer(db.sql), await buildCustomer(db.sql)];
    const m1 = await inTransaction(db.sql, deps.bus, (tx) => mergeCustomers(tx, { survivorId: y.id, mergedId: z.id, reason: 'manual' }));
    await inTransaction(db.sql, deps.bus, (tx) => mergeCustomers(tx, { survivorId: x.id, mergedId: y.id, reason: 'manual' }));
    await expect(inTransaction(db.sql, deps.bus, (tx) => splitMerge(tx, m1.id, sup.id))).rejects.toMatchObject({ code: 'split_later_first' });
    await expect(inTransaction(db.sql, deps.bus, (tx) => mergeCustomers(tx, { survivorId: x.id, mergedId: z.id, reason: 'manual' }))).rejects.toMatchObject({
      code: 'already_merged',
    });
  });

  it('a kf customer whose unionid belongs to another customer merges into the older one', async () => {
    const old = await buildCustomer(db.sql, { identities: [{ kind: 'wx_unionid', value: 'union-merge-1' }], orders: [{ totalFen: 500 }] });
    // first seen without a unionid (batchget failed): a stranger
    const stranger = await linkWechatIdentity(deps, { kind: 'wecom_external_userid', value: 'wm-merge-1', nickname: '小周' });
    expect(stranger.customerId).not.toBe(old.id);
    // later the unionid is known: same person
    await linkWechatIdentity(deps, { kind: 'wecom_external_userid', value: 'wm-merge-1', unionid: 'union-merge-1' });
    const [owner] = await db.sql`select customer_id from identities where value = 'wm-merge-1'`;
    expect(owner.customerId).toBe(old.id);
  });
});
