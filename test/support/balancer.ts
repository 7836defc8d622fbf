import net from 'node:net';

/**
 * The simplest load balancer in front of several nodes: each new TCP connection goes to the first node that
 * accepts it, so when that node dies, clients that reconnect (and WeChat's retries) reach the next. Connections
 * already open are not moved: they break with their node, as behind a real balancer.
 */
export async function startBalancer(backends: { port: number }[]): Promise<{ url: string; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    client.pause();
    const tryFrom = (i: number) => {
      if (i >= backends.length) return void client.destroy();
      const upstream = net.connect(backends[i].port, '127.0.0.1');
      let connected = false;
      // refused: that node is down, the next one gets the connection
      upstream.once('error', () => (connected ? client.destroy() : tryFrom(i + 1)));
      upstream.once('connect', () => {
        connected = true;
        open.add(upstream);
        upstream.on('close', () => (open.delete(upstream), client.destroy()));
        upstream.on('error', () => {});
        client.on('close', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryFrom(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
