// The HTTP client of the calls to WeChat and WeCom, on a thread of its own (started by http-thread.ts). Plain
// JavaScript, so the thread loads it as it is: under vitest, tsx and the compiled bundle alike.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { workerData } from 'node:worker_threads';
import { serveBatches } from '../../threads/serve-batches.mjs';

const sockets = workerData.sockets;
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: sockets }), https: new HttpsAgent({ keepAlive: true, maxSockets: sockets }) };

serveBatches(
  (r) => send(r.url, r.body, r.timeoutMs),
  (err) => ({ message: err.message, code: err.code }),
);

// never throws: a call the client refuses at once (a bad URL, a protocol it does not speak) fails alone, where an
// exception here would end the thread and every call in flight with it
function send(url, body, timeoutMs, retried = false) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(
      u,
      {
        method: body === undefined ? 'GET' : 'POST',
        agent: secure ? agents.https : agents.http,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    // from the start, a wait for a connection included: the outbox's lease (at least twice the timeout) must outlast
    // a token fetch and then the send
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(err) {
      clearTimeout(timer);
      // the server closed an idle kept-alive connection just as we reused it: the request never arrived
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') send(url, body, timeoutMs, true).then(resolve, reject);
      else reject(err);
    }
    req.on('error', fail);
    req.end(body);
  });
}
