import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance, so several instances in one process (tests) never share counters. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'huike_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'huike_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    messagesIngested: new Counter({
      name: 'huike_messages_ingested_total',
      help: 'Customer messages stored, by channel',
      labelNames: ['channel'],
      registers: [registry],
    }),
    channelCallbacks: new Counter({
      name: 'huike_channel_callbacks_total',
      help: 'Channel callbacks by channel and kind (message/event type, verify, or rejected:<code>)',
      labelNames: ['channel', 'kind'],
      registers: [registry],
    }),
    // group commit: how many writes each batch carried and how long it took. Batches growing and slowing
    // together are a node (or its database) near saturation; see README "Scale, faults and security"
    batchSize: new Histogram({
      name: 'huike_batch_size',
      help: 'Writes per group-commit batch: ingest (customer messages), reply (bot and agent replies), delivered',
      labelNames: ['batch'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'huike_batch_seconds',
      help: 'Duration of a group-commit batch, from its start to its commit',
      labelNames: ['batch'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchStalled: new Counter({
      name: 'huike_batch_stalled_total',
      help: 'Group-commit batches still running after 1 s, set aside so the next could start (rows locked by a stuck transaction, or a database far too slow)',
      labelNames: ['batch'],
      registers: [registry],
    }),
    dbRetries: new Counter({
      name: 'huike_db_retries_total',
      help: 'Writes run again at once on a fresh session after a lost one (a failover, a restarted pooler) or a deadlock: each is a failure no caller saw',
      labelNames: ['what', 'code'],
      registers: [registry],
    }),
    socketsConnected: new Gauge({
      name: 'huike_sockets_connected',
      help: 'Connected socket.io clients by namespace',
      labelNames: ['namespace'],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
