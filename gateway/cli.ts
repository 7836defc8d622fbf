import { loadConfig } from '../core/config.ts';
import { openDatabase } from '../core/db/client.ts';
import { migrate } from '../core/db/migrate.ts';
import { DEMO_LOGINS, DEMO_PASSWORD, DEMO_VISITOR_ID, isEmpty, seedDemo } from '../core/seed/demo.ts';
import { ensureConsoleBuilt } from './console-build.ts';
import { startHuike } from './huike.ts';
import path from 'node:path';

const USAGE = `用法 / usage: huike <command>
  serve     迁移数据库、空库时写入演示数据、启动网关（npm start）
  migrate   只执行数据库迁移
  seed      向空数据库写入演示数据`;

async function serve() {
  const config = loadConfig();
  await ensureConsoleBuilt((m) => console.log(m));
  const huike = await startHuike({ config });
  let seeded = false;
  if (await isEmpty(huike.deps.sql)) {
    await seedDemo(huike.deps.sql);
    await huike.bot.reload();
    seeded = true;
  }
  const base = `http://localhost:${new URL(huike.url).port}`;
  console.log(
    [
      '',
      `回客 Huike 已启动 (${huike.database.kind === 'pglite' ? `内置 PGlite：${path.resolve(config.DATA_DIR, 'pg')}` : 'PostgreSQL'}${config.REDIS_URL ? ' + Redis' : ''})`,
      `  客服控制台 / agent console : ${base}/`,
      `  客户聊天页 / customer chat : ${base}/chat`,
      `  老客户演示 / returning customer : ${base}/chat?visitorId=${DEMO_VISITOR_ID}`,
      `  健康检查 / health : ${base}/healthz    指标 / metrics : ${base}/metrics`,
      ...(seeded ? ['  已写入演示数据 / demo data seeded'] : []),
      `  演示账号 / demo logins (密码 password: ${DEMO_PASSWORD}):`,
      ...DEMO_LOGINS.map((a) => `    ${a.email.padEnd(22)} ${a.name}（${a.role}，${a.teams.join('、')}）`),
      '',
    ].join('\n'),
  );
  const shutdown = async (signal: string) => {
    console.log(`收到 ${signal}，正在停止… / stopping`);
    await huike.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function withDatabase(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<void>) {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL, pgliteDir: path.join(config.DATA_DIR, 'pg') });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

const commands: Record<string, () => Promise<void>> = {
  serve,
  migrate: () =>
    withDatabase(async (db) => {
      const applied = await migrate(db.sql);
      console.log(applied.length ? `已执行迁移 / applied: ${applied.join(', ')}` : '数据库已是最新 / up to date');
    }),
  seed: () =>
    withDatabase(async (db) => {
      await migrate(db.sql);
      if (!(await isEmpty(db.sql))) {
        console.error('数据库非空，未写入演示数据 / database not empty, demo data not seeded');
        process.exitCode = 1;
        return;
      }
      const r = await seedDemo(db.sql);
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
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
