import { loadConfig } from '../core/config.ts';
import { isAppError } from '../core/errors.ts';
import { openDatabase } from '../core/db/client.ts';
import { migrate } from '../core/db/migrate.ts';
import { DEMO_PASSWORD, DEMO_VISITOR_ID, demoLoginsInUse, hasDemoVisitor, isEmpty, seedDemo } from '../core/seed/demo.ts';
import { ensureConsoleBuilt } from './console-build.ts';
import { isDemoChannels, simulateCustomer, startDemoChannels } from './channels/emulator/demo.ts';
import { startHuike } from './huike.ts';
import { botEval } from '../bot/eval/cli.ts';
import { importCsv, printSummary } from './import-cli.ts';
import { printNodes } from './nodes-cli.ts';
import { agentCommand, CliError } from './agent-cli.ts';
import { NODE_GONE_AFTER_MS } from './node-heartbeat.ts';
import { listNodes } from '../core/agents/nodes.ts';
import { createLogger } from './logger.ts';
import { EventBus } from '../core/events.ts';
import path from 'node:path';
import { announceKbChange } from '../bot/kb-sync.ts';

const USAGE = `用法 / usage: huike <command>
  serve     迁移数据库、空库时写入演示数据、启动网关（npm start）
  simulate  wecom|miniprogram "文本" [--from 昵称]：演示模式下模拟一位微信客户发消息
  import    customers|orders FILE.csv：导入客户或订单（可重复执行，坏行单独列出）
  bot-eval  --kb KB.jsonl --cases CASES.jsonl [--mistakes]：评测机器人准确率（同 npm run bot:eval）
  migrate   只执行数据库迁移
  seed      向空数据库写入演示数据
  agent     add --email … --name … [--role …] [--team …]：新建客服账号（新库先建管理员，则不写演示数据）
            passwd EMAIL：重置密码并解除锁定（管理员都登不上时）
  nodes     列出网关节点：在线、失联（未停止就没了心跳）、已停止 [--json]`;

async function serve() {
  let config = loadConfig();
  await ensureConsoleBuilt((m) => console.log(m));
  const demo = isDemoChannels(config) ? await startDemoChannels(config) : null;
  if (demo) config = demo.config;
  const huike = await startHuike({ config });
  if (demo) demo.emulator.callbackBase = huike.url;
  let seeded = false;
  if ((await isEmpty(huike.deps.sql)) && (await seedDemo(huike.deps.sql, new Date(), { onlyIfEmpty: true }))) {
    await huike.bot.reload();
    seeded = true;
  }
  const [demoLogins, demoVisitor] = [await demoLoginsInUse(huike.deps.sql), await hasDemoVisitor(huike.deps.sql)];
  const base = `http://localhost:${new URL(huike.url).port}`;
  console.log(
    [
      '',
      `回客 Huike 已启动 (${huike.database.kind === 'pglite' ? `内置 PGlite：${path.resolve(config.DATA_DIR, 'pg')}` : 'PostgreSQL'}${config.REDIS_URL ? ' + Redis' : ''})`,
      `  客服控制台 / agent console : ${base}/`,
      `  客户聊天页 / customer chat : ${base}/chat`,
      ...(demoVisitor ? [`  老客户演示 / returning customer : ${base}/chat?visitorId=${DEMO_VISITOR_ID}`] : []),
      `  健康检查 / health : ${base}/healthz    指标 / metrics : ${base}/metrics`,
      ...(seeded ? ['  已写入演示数据 / demo data seeded'] : []),
      ...(demo
        ? [
            `  微信渠道演示 / WeChat channels (emulated at ${demo.emulator.url}):`,
            '    npx huike simulate wecom "我的快递到哪了" --from 小王',
            '    npx huike simulate miniprogram "多久发货"',
          ]
        : []),
      ...(demoLogins.length
        ? [
            `  演示账号 / demo logins (密码 password: ${DEMO_PASSWORD}):`,
            ...demoLogins.map((a) => `    ${a.email.padEnd(22)} ${a.name}（${a.role}，${a.teams.join('、')}）`),
            ...(huike.database.kind === 'pglite'
              ? []
              : ['  ⚠ 演示账号仍使用默认密码：正式使用前请在「团队与客服」重置或停用 / demo accounts still use the demo password: reset or disable them']),
          ]
        : []),
      '',
    ].join('\n'),
  );
  const shutdown = async (signal: string) => {
    console.log(`收到 ${signal}，正在停止… / stopping`);
    await huike.stop();
    await demo?.emulator.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function withDatabase(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<void>) {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, pgliteDir: path.join(config.DATA_DIR, 'pg') });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

async function simulate() {
  const args = process.argv.slice(3);
  const fromAt = args.indexOf('--from');
  const from = fromAt >= 0 ? args.splice(fromAt, 2)[1] : undefined;
  const [channel, ...words] = args;
  if (!channel || !words.length) {
    console.error('用法 / usage: huike simulate wecom|miniprogram "文本" [--from 昵称]');
    process.exitCode = 64;
    return;
  }
  const config = loadConfig();
  console.log(await simulateCustomer(config.DATA_DIR, channel, words.join(' '), from));
}

async function importCommand() {
  const [what, file] = process.argv.slice(3);
  if ((what !== 'customers' && what !== 'orders') || !file) {
    console.error('用法 / usage: huike import customers|orders FILE.csv');
    process.exitCode = 64;
    return;
  }
  await withDatabase(async (db) => {
    await migrate(db.sql);
    const deps = { sql: db.sql, bus: new EventBus(), log: createLogger('warn') };
    let summary;
    try {
      summary = await importCsv(deps, what, file);
    } catch (err) {
      // a missing file or a wrong header is the user's to fix: say so without a stack trace
      console.error(`导入失败 / import failed: ${(err as Error).message}`);
      process.exitCode = 1;
      return;
    }
    printSummary(summary);
    // 2 = imported, but some rows were refused: scripts can tell a partial import from a clean one
    if (summary.bad.length) process.exitCode = 2;
  });
}

const commands: Record<string, () => Promise<void>> = {
  serve,
  simulate,
  import: importCommand,
  'bot-eval': async () => {
    process.exitCode = botEval(process.argv.slice(3));
  },
  agent: () =>
    withDatabase(async (db) => {
      await migrate(db.sql);
      try {
        console.log(await agentCommand(db.sql, process.argv.slice(3)));
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        console.error(err.message);
        process.exitCode = err.exitCode;
      }
    }),
  nodes: () =>
    withDatabase(async (db) => {
      const rows = await listNodes(db.sql, NODE_GONE_AFTER_MS).catch((err: { code?: string }) => {
        if (err.code !== '42P01') throw err;
        return null; // no gateway_nodes table: a database from before the heartbeat, or never migrated
      });
      if (!rows) {
        console.error('数据库尚未迁移到当前版本，请先运行 huike migrate / the database is not migrated: run huike migrate');
        process.exitCode = 1;
      } else if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
      else printNodes(rows);
    }),
  migrate: () =>
    withDatabase(async (db) => {
      const applied = await migrate(db.sql);
      console.log(applied.length ? `已执行迁移 / applied: ${applied.join(', ')}` : '数据库已是最新 / up to date');
    }),
  seed: () =>
    withDatabase(async (db) => {
      await migrate(db.sql);
      const r = await seedDemo(db.sql, new Date(), { onlyIfEmpty: true });
      if (!r) {
        console.error('数据库非空，未写入演示数据 / database not empty, demo data not seeded');
        process.exitCode = 1;
        return;
      }
      // nodes already serving this database answer from the new FAQ at once
      await announceKbChange(db.sql);
      console.log(`演示数据已写入 / seeded: ${r.customers} customers, ${r.orders} orders, ${r.kb} FAQ entries`);
    }),
};

const [cmd] = process.argv.slice(2);
const run = cmd ? commands[cmd] : undefined;
if (!run) {
  console.error(USAGE);
  process.exit(cmd ? 64 : 0);
}
run().catch((err) => {
  // the operator's to fix (another process holds the embedded database): the reason, not a stack trace
  if (isAppError(err)) console.error(err.message);
  else console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
