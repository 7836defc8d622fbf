import { randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { expect } from 'vitest';
import { emitAck, nextEvent } from './huike.ts';

/**
 * Waits (up to 30 s) until a message the customer sends on one node reaches the agent's console on another as a
 * live event again: what an outage of Redis, the bridge between the nodes, has to give back by itself.
 */
export async function expectLiveAgain(customer: Socket, agent: Socket): Promise<void> {
  await expect
    .poll(
      async () => {
        const got = nextEvent(agent, 'message:new', (e) => e.message.text?.startsWith('恢复后'), 1500).then(() => true, () => false);
        await emitAck(customer, 'message:send', { clientMsgId: `live-${randomBytes(3).toString('hex')}`, text: `恢复后 ${Date.now()}` });
        return got;
      },
      { timeout: 30_000, interval: 500 },
    )
    .toBe(true);
}
