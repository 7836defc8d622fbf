import type { Namespace } from 'socket.io';
import { z } from 'zod';
import { loadActor, setAgentStatus, getAgent } from '../../core/agents/agents.ts';
import { markConsoleOpened, markDisconnected } from '../../core/agents/presence.ts';
import { authorize, canViewConversation } from '../../core/agents/policies.ts';
import type { Actor } from '../../core/agents/rows.ts';
import type { TokenService } from '../../core/agents/tokens.ts';
import type { Deps } from '../../core/deps.ts';
import { isAppError } from '../../core/errors.ts';
import { valueWithin } from '../../core/time-limit.ts';
import { presentMessage } from '../../core/conversations/presenter.ts';
import { getConversation, listMessages } from '../../core/conversations/queries.ts';
import { drainQueue } from '../../core/tickets/routing.ts';
import type { Metrics } from '../metrics.ts';
import { parse } from '../validate.ts';
import { withAck } from './ack.ts';
import { rooms } from './rooms.ts';

const ASK_NODES_MS = 3000;

const presenceSchema = z.object({ status: z.enum(['online', 'away', 'offline']) });
const syncSchema = z.object({ conversationId: z.string(), afterSeq: z.number().int().min(0) });

/**
 * The console's live channel. Rooms decide who hears what; see rooms.forConversation. `settled()` resolves once the
 * presence bookkeeping of the consoles that closed so far has landed: a stopping node waits for it before it lets
 * go of the database.
 */
export function setupAgentNamespace(ns: Namespace, deps: Deps, tokens: TokenService, metrics: Metrics, node: string): { settled(): Promise<void> } {
  const pending = new Set<Promise<void>>();
  ns.use(async (socket, next) => {
    try {
      const token = socket.handshake.auth?.token;
      if (typeof token !== 'string') throw new Error('missing token');
      const claims = await tokens.verify(token);
      socket.data.actor = await loadActor(deps.sql, claims.sub, claims);
      socket.data.jti = claims.jti;
      socket.data.sv = claims.sv;
      socket.data.exp = claims.exp.getTime();
      next();
    } catch (err) {
      const e = new Error(isAppError(err) ? err.message : '请先登录') as Error & { data?: unknown };
      e.data = { code: 'unauthorized' };
      next(e);
    }
  });

  ns.on('connection', async (socket) => {
    const actor: Actor = socket.data.actor;
    const log = deps.log.child({ ns: 'agent', agentId: actor.id });
    metrics.socketsConnected.inc({ namespace: 'agent' });
    // a recovered session brings back its old rooms: rejoin from the agent as they are now (teams, role)
    if (socket.recovered) for (const room of socket.rooms) if (room !== socket.id) socket.leave(room);
    socket.join([rooms.agent(actor.id), rooms.session(socket.data.jti), ...rooms.forAccess(actor)]);
    // where this console is, for the presence sweep's fetchSockets (a recovered session brings the old node's)
    socket.data.node = node;

    // a session ends when its token does: the console's next connect is refused and it asks for a new login
    const expiry = setTimeout(() => socket.disconnect(true), Math.min(socket.data.exp - Date.now(), 2 ** 31 - 1));
    socket.once('disconnect', () => clearTimeout(expiry));

    const connected = (async () => {
      try {
        // first: a presence sweep about to set them offline finds them back, and routing counts them again
        await markConsoleOpened(deps, actor.id, node);
        // Opening the console puts an offline agent online and hands them what waited in the queue.
        const agent = await getAgent(deps.sql, actor.id);
        if (agent.status === 'offline') await setAgentStatus(deps, actor.id, 'online');
        await drainQueue(deps, actor.id);
        socket.emit('ready', { agentId: actor.id, status: agent.status === 'offline' ? 'online' : agent.status });
      } catch (err) {
        log.error({ err }, 'agent connect bookkeeping failed');
      }
    })();

    socket.on(
      'presence:set',
      withAck(log, async (input: unknown) => {
        const { status } = parse(presenceSchema, input);
        await setAgentStatus(deps, actor.id, status);
        if (status === 'online') await drainQueue(deps, actor.id);
        return { status };
      }),
    );

    socket.on(
      'sync',
      withAck(log, async (input: unknown) => {
        const { conversationId, afterSeq } = parse(syncSchema, input);
        // the agent as they are now: an admin may have changed their role or teams since the socket connected
        const [now, c] = await Promise.all([loadActor(deps.sql, actor.id, { jti: socket.data.jti, sv: socket.data.sv }), getConversation(deps.sql, conversationId)]);
        authorize(canViewConversation(now, c));
        return { conversationId, messages: (await listMessages(deps.sql, c.id, afterSeq, 500)).map(presentMessage) };
      }),
    );

    socket.on('disconnect', (reason) => {
      metrics.socketsConnected.dec({ namespace: 'agent' });
      const done = (async () => {
        // a console closed right after opening: its bookkeeping must land before this, not after
        await connected;
        try {
          // Only the agent's last console on any node counts. One still open here settles it without asking the
          // other nodes: n consoles of one agent closing at once would each list all the others (n² in all). A node
          // shutting down does not ask either (its adapter is closing): the grace starts and the sweep asks later.
          const room = rooms.agent(actor.id);
          if (ns.adapter.rooms.get(room)?.size) return;
          // -1: Redis away or a node not answering, so not known; the grace starts, and the sweep asks again
          const elsewhere =
            reason === 'server shutting down' ? -1 : await valueWithin(ns.in(room).fetchSockets().then((s) => s.length), ASK_NODES_MS, -1);
          if (elsewhere > 0) return;
          // A session ended on purpose (logout, an admin disabling the agent, the token run out, the console's own
          // code) leaves at once; a closed tab, a reload or a lost connection gets the grace.
          const deliberate = reason === 'server namespace disconnect' || reason === 'client namespace disconnect';
          if (deliberate && elsewhere === 0) await setAgentStatus(deps, actor.id, 'offline');
          else await markDisconnected(deps, actor.id);
        } catch (err) {
          log.warn({ err }, 'presence update on disconnect failed');
        }
      })();
      pending.add(done);
      void done.finally(() => pending.delete(done));
    });

    await connected;
  });
  return {
    async settled() {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
