import { describe, expect, it } from 'vitest';
import { EventBus, type DomainEvent } from '../../core/events.ts';

const status = (agentId: string): DomainEvent => ({ type: 'agent.status', agentId, status: 'online', disconnectedAt: null });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('EventBus', () => {
  it('runs handlers after the publisher, event by event in subscription order', async () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe((e) => void seen.push(`a:${(e as { agentId: string }).agentId}`));
    bus.subscribe((e) => void seen.push(`b:${(e as { agentId: string }).agentId}`));
    bus.publish([status('1'), status('2')]);
    expect(seen).toEqual([]);
    await bus.idle();
    expect(seen).toEqual(['a:1', 'b:1', 'a:2', 'b:2']);
  });

  it('reports a handler that throws or rejects and still runs the others', async () => {
    const errors: string[] = [];
    const bus = new EventBus((err, e) => errors.push(`${(err as Error).message}@${(e as { agentId: string }).agentId}`));
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('sync');
    });
    bus.subscribe(async () => {
      await tick();
      throw new Error('async');
    });
    bus.subscribe((e) => void seen.push((e as { agentId: string }).agentId));
    bus.publish([status('x')]);
    await bus.idle();
    expect(seen).toEqual(['x']);
    expect(errors.sort()).toEqual(['async@x', 'sync@x']);
  });

  it('is busy until async handlers, and the events they publish, are done; idle() waits for all of it', async () => {
    const bus = new EventBus();
    const finished: string[] = [];
    bus.subscribe(async (e) => {
      const id = (e as { agentId: string }).agentId;
      await tick();
      if (id === 'first') bus.publish([status('second')]);
      await tick();
      finished.push(id);
    });
    expect(bus.busy).toBe(false);
    bus.publish([status('first')]);
    expect(bus.busy).toBe(true);
    const waiters = [bus.idle(), bus.idle()];
    await Promise.all(waiters);
    expect(finished).toEqual(['first', 'second']);
    expect(bus.busy).toBe(false);
  });

  it('publishing nothing, or to no handler, leaves it idle', async () => {
    const bus = new EventBus();
    bus.publish([status('a')]);
    expect(bus.busy).toBe(false);
    bus.subscribe(() => {});
    bus.publish([]);
    expect(bus.busy).toBe(false);
    await bus.idle();
  });
});
