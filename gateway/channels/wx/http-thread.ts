import { BatchThread } from '../../threads/batch-thread.ts';

/**
 * The calls to WeChat and WeCom leave from a thread of their own (http-thread.mjs). A busy gateway sends one
 * answer for every customer message, and node:http's client with its sockets cost the main thread about 0.2 ms
 * of CPU a call: as much again as receiving the customer's callback. On its own thread that work runs on the
 * second core, beside the callbacks, the database and the agents' sockets.
 */
export interface HttpAnswer {
  status: number;
  text: string;
}

interface HttpCall {
  url: string;
  body: string | undefined;
  timeoutMs: number;
}

export class HttpThread {
  private readonly thread: BatchThread<HttpCall, HttpAnswer>;

  constructor(sockets: number) {
    this.thread = new BatchThread(new URL('./http-thread.mjs', import.meta.url), {
      name: 'HTTP thread',
      workerData: { sockets },
      // what a call leaves behind dies young and is small: 8 MB semi-spaces, not the main thread's 32
      resourceLimits: { maxYoungGenerationSizeMb: 24 },
      revive: (e) => Object.assign(new Error((e as { message: string }).message), { code: (e as { code?: string }).code }),
    });
  }

  /** Rejects on network trouble and timeouts (with node's error `code`); any HTTP status resolves. */
  request(url: string, body: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
    return this.thread.call({ url, body, timeoutMs });
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
