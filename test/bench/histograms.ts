/**
 * The gateway's own view of a stretch of load, read off two scrapes of its /metrics: how long the callbacks took
 * inside it and how long its write batches ran. Set beside what the load measured, it tells the time spent
 * inside the node from the time spent getting to it and back.
 */
export async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const rows = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!/^huike_(batch_seconds|http_request_duration_seconds)_bucket/.test(line)) continue;
    const at = line.lastIndexOf(' ');
    rows.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return rows;
}

/** `name{labels}` histogram between two scrapes: its count and the bucket bounds holding its p50 and p99. */
export function between(before: Map<string, number>, after: Map<string, number>, metric: string, label: string): string {
  const buckets = [...after]
    .filter(([k]) => k.startsWith(`${metric}_bucket{`) && k.includes(label))
    .map(([k, v]) => ({ le: k.match(/le="([^"]+)"/)![1], n: v - (before.get(k) ?? 0) }));
  const count = buckets.find((b) => b.le === '+Inf')?.n ?? 0;
  if (!count) return 'none';
  const at = (q: number) => {
    const b = buckets.find((x) => x.n >= count * q)!;
    return b.le === '+Inf' ? '> last bucket' : `≤ ${Number(b.le) * 1000} ms`;
  };
  return `${count}, p50 ${at(0.5)}, p99 ${at(0.99)}`;
}
