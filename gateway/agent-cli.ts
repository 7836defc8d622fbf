import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { addAgent, newAgent, newPassword, resetPassword } from '../core/agents/accounts.ts';
import type { Sql } from '../core/db/client.ts';
import { isAppError } from '../core/errors.ts';
import { EventBus } from '../core/events.ts';
import { createLogger } from './logger.ts';
import { announceSessionsEnded } from '../core/agents/session-notices.ts';

export const AGENT_USAGE = `用法 / usage:
  huike agent add --email EMAIL --name 姓名 [--role agent|supervisor|admin] [--team 客服组名]…
  huike agent passwd EMAIL
密码从环境变量 HUIKE_PASSWORD 读取；未设置时在终端输入（不回显），或从标准输入读第一行
the password comes from HUIKE_PASSWORD, else it is typed (not echoed) or read as stdin's first line`;

/** Thrown for what the operator typed wrong: printed without a stack trace, exit 64 or 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `--name value` pairs; a flag may repeat (`--team`). */
export function parseFlags(args: string[]): { flags: Map<string, string[]>; rest: string[] } {
  const flags = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith('--')) {
      rest.push(args[i]);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new CliError(`${args[i]} 缺少取值 / needs a value\n${AGENT_USAGE}`, 64);
    flags.set(args[i].slice(2), [...(flags.get(args[i].slice(2)) ?? []), value]);
    i++;
  }
  return { flags, rest };
}

async function readPassword(): Promise<string> {
  if (process.env.HUIKE_PASSWORD !== undefined) return process.env.HUIKE_PASSWORD;
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    return text.split(/\r?\n/)[0];
  }
  const ask = async (prompt: string) => {
    process.stdout.write(prompt);
    // typed characters are not echoed
    const muted = new Writable({ write: (_c, _e, done) => done() });
    const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
    const line = await new Promise<string>((resolve) => rl.once('line', resolve));
    rl.close();
    process.stdout.write('\n');
    return line;
  };
  const first = await ask('密码 / password: ');
  if ((await ask('再输入一次 / again: ')) !== first) throw new CliError('两次输入的密码不一致 / the passwords differ');
  return first;
}

function checkPassword(password: string): string {
  const r = newPassword.safeParse(password);
  if (!r.success) throw new CliError(`密码不符合要求 / password refused: ${r.error.issues[0].message}`);
  return password;
}

/** `huike agent add`: the first admin of a new database (before `huike serve`, which then seeds no demo), or anyone after. */
async function add(sql: Sql, args: string[]): Promise<string> {
  const { flags } = parseFlags(args);
  const one = (k: string) => flags.get(k)?.at(-1);
  const teamNames = flags.get('team') ?? [];
  const teams = await sql<{ id: string; name: string }[]>`select id, name from teams`;
  const unknown = teamNames.filter((n) => !teams.some((t) => t.name === n));
  if (unknown.length)
    throw new CliError(`客服组不存在 / no such team: ${unknown.join(', ')}（现有 / existing: ${teams.map((t) => t.name).join('、') || '无 none'}）`);
  const input = newAgent.safeParse({
    email: one('email'),
    name: one('name'),
    role: one('role') ?? 'agent',
    teamIds: teamNames.map((n) => teams.find((t) => t.name === n)!.id),
    password: 'placeholder-1', // checked on its own below, once the rest is known to be right
  });
  if (!input.success) {
    const i = input.error.issues[0];
    throw new CliError(`${i.path.join('.') || '参数'}: ${i.message}\n${AGENT_USAGE}`, 64);
  }
  const password = checkPassword(await readPassword());
  const deps = { sql, bus: new EventBus(), log: createLogger('warn') };
  try {
    const row = await addAgent(deps, null, { ...input.data, password });
    return `已创建 / created: ${row.email}（${row.name}，${row.role}）`;
  } catch (err) {
    if (isAppError(err)) throw new CliError(`${err.message} / ${err.code}`);
    throw err;
  }
}

/**
 * `huike agent passwd`: a new password for any account, for when no admin can sign in (the only admin forgot theirs
 * or is locked out). Also lifts the lockout, and moves the session epoch on: their tokens stop working, and the
 * nodes close their open consoles.
 */
async function passwd(sql: Sql, args: string[]): Promise<string> {
  const email = args[0]?.trim().toLowerCase();
  if (!email) throw new CliError(AGENT_USAGE, 64);
  const [agent] = await sql<{ id: string }[]>`select id from agents where email = ${email}`;
  if (!agent) throw new CliError(`没有这个账号 / no such account: ${email}`);
  const password = checkPassword(await readPassword());
  await resetPassword({ sql, bus: new EventBus(), log: createLogger('warn') }, null, agent.id, { password });
  // the nodes serving this database close the account's open consoles (the embedded one has none running)
  await announceSessionsEnded(sql, agent.id);
  return `已重置密码并解除锁定 / password reset, lockout lifted: ${email}`;
}

export async function agentCommand(sql: Sql, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'add') return add(sql, rest);
  if (sub === 'passwd') return passwd(sql, rest);
  throw new CliError(AGENT_USAGE, 64);
}
