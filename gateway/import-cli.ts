import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse';
import type { Deps } from '../core/deps.ts';
import {
  CUSTOMER_COLUMNS,
  customerRow,
  importCustomers,
  importOrderEvents,
  ORDER_COLUMNS,
  orderRowToEvent,
  type BadRow,
  type CustomerImport,
} from '../core/commerce/import.ts';
import type { CommerceEvent } from '../core/commerce/events.ts';

const BATCH = 1000;

export interface ImportSummary {
  rows: number;
  imported: number;
  bad: BadRow[];
  seconds: number;
  reportFile: string | null;
}

/**
 * `huike import customers|orders FILE.csv`: streams the file, validates every row, imports the good ones in
 * batches of 1000 and lists the bad ones (also written to FILE.errors.csv). Re-running the same file changes
 * nothing: customers are keyed by their identities, orders by platform + order id + status.
 */
export async function importCsv(deps: Deps, what: 'customers' | 'orders', file: string, out: NodeJS.WritableStream = process.stderr): Promise<ImportSummary> {
  if (!existsSync(file)) throw new Error(`找不到文件：${file}`);
  const total = statSync(file).size;
  const started = Date.now();
  const bad: BadRow[] = [];
  let rows = 0;
  let imported = 0;
  let pending: (CommerceEvent | CustomerImport)[] = [];
  const progress = progressBar(out, what === 'orders' ? '导入订单' : '导入客户');

  const input = createReadStream(file);
  const parser = input.pipe(
    parse({ columns: (header: string[]) => checkHeader(header.map((h) => h.trim().replace(/^\uFEFF/, '')), what), bom: true, skip_empty_lines: true, relax_column_count: true, trim: true, info: true }),
  );
  const flush = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    if (what === 'orders') await importOrderEvents(deps, batch as CommerceEvent[]);
    else await importCustomers(deps, batch as CustomerImport[]);
    imported += batch.length;
  };
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    rows++;
    const line = info.lines;
    const parsed = what === 'orders' ? orderRowToEvent(record, line) : customerRow(record, line);
    if ('reason' in parsed) bad.push(parsed);
    else pending.push(parsed);
    if (pending.length >= BATCH) {
      await flush();
      progress(input.bytesRead / total, rows, imported);
    }
  }
  await flush();
  progress(1, rows, imported, true);
  let reportFile: string | null = null;
  if (bad.length) {
    reportFile = `${file}.errors.csv`;
    writeFileSync(reportFile, `line,reason\n${bad.map((b) => `${b.line},"${b.reason.replaceAll('"', '""')}"`).join('\n')}\n`);
  }
  return { rows, imported, bad, seconds: (Date.now() - started) / 1000, reportFile };
}

function checkHeader(header: string[], what: 'customers' | 'orders'): string[] {
  const need = what === 'orders' ? ['platform', 'order_id', 'status', 'total_yuan', 'ordered_at'] : ['name'];
  const missing = need.filter((c) => !header.includes(c));
  if (missing.length)
    throw new Error(`表头缺少列：${missing.join(', ')}；可用的列：${(what === 'orders' ? ORDER_COLUMNS : CUSTOMER_COLUMNS).join(', ')}`);
  return header;
}

/** A one-line progress bar, redrawn in place on a terminal and printed every 10 % elsewhere (CI logs). */
function progressBar(out: NodeJS.WritableStream, label: string) {
  const tty = (out as NodeJS.WriteStream).isTTY;
  const started = Date.now();
  let lastDecile = -1;
  return (fraction: number, rows: number, imported: number, done = false) => {
    const pct = Math.min(100, Math.floor(fraction * 100));
    const rate = Math.round(imported / Math.max(0.001, (Date.now() - started) / 1000));
    const bar = '█'.repeat(Math.floor(pct / 5)).padEnd(20, '░');
    const text = `${label} ${bar} ${String(pct).padStart(3)}%  已读 ${rows} 行，已导入 ${imported} 行，${rate} 行/秒`;
    if (tty) out.write(`\r${text}${done ? '\n' : ''}`);
    else if (done || Math.floor(pct / 10) > lastDecile) {
      lastDecile = Math.floor(pct / 10);
      out.write(`${text}\n`);
    }
  };
}

export function printSummary(s: ImportSummary, log: (line: string) => void = console.log): void {
  log(`共 ${s.rows} 行：导入 ${s.imported} 行，跳过 ${s.bad.length} 行，用时 ${s.seconds.toFixed(1)} 秒`);
  if (!s.bad.length) return;
  log('以下行未导入 / rows not imported:');
  for (const b of s.bad.slice(0, 50)) log(`  第 ${b.line} 行：${b.reason}`);
  if (s.bad.length > 50) log(`  …… 另有 ${s.bad.length - 50} 行`);
  log(`完整清单 / full list: ${s.reportFile}`);
}
