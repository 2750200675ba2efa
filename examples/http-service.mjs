#!/usr/bin/env node
/**
 * A minimal recommendation service on Node's own `http` module.
 *
 *   node examples/http-service.mjs <run-dir> [port]
 *
 *   GET  /recommend?history=12,7,99&k=10          -> { items: [{ item, score, title? }, ...] }
 *   POST /recommend  {"history":[12,7,99],"k":10,"unknownItems":"skip"}
 *   GET  /healthz
 *
 * The model is loaded once; each request decodes on the libuv thread pool (the event loop stays
 * free), and concurrent requests are safe. Bad requests get HTTP 400 with the error code
 * (EAGER_UNKNOWN_ITEM, EAGER_EMPTY_HISTORY, EAGER_INVALID).
 */
import { createServer } from 'node:http';
import { Recommender } from '@eager/native';

const [runDir, port = '8080'] = process.argv.slice(2);
if (!runDir) {
  console.error('usage: node examples/http-service.mjs <run-dir> [port]');
  process.exit(2);
}

const model = await Recommender.load(runDir);
const CLIENT_ERRORS = new Set(['EAGER_UNKNOWN_ITEM', 'EAGER_EMPTY_HISTORY', 'EAGER_INVALID']);

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 1 << 20) throw Object.assign(new Error('request body too large'), { code: 'EAGER_INVALID' });
  }
  try {
    return JSON.parse(text || '{}');
  } catch {
    throw Object.assign(new Error('request body is not valid JSON'), { code: 'EAGER_INVALID' });
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    if (url.pathname === '/healthz') return send(res, 200, { ok: true, items: model.numItems, step: model.step });
    if (url.pathname !== '/recommend') return send(res, 404, { error: 'not found' });
    let request;
    if (req.method === 'GET') {
      const history = (url.searchParams.get('history') ?? '').split(',').filter((s) => s.trim() !== '').map(Number);
      request = { history, k: Number(url.searchParams.get('k') ?? 10), unknownItems: url.searchParams.get('unknownItems') ?? 'error' };
    } else if (req.method === 'POST') {
      request = await readJson(req);
    } else {
      return send(res, 405, { error: 'use GET or POST' });
    }
    const t0 = performance.now();
    const items = await model.recommend(request.history ?? [], {
      k: request.k ?? 10,
      unknownItems: request.unknownItems === 'skip' ? 'skip' : 'error',
      excludeHistory: Boolean(request.excludeHistory),
    });
    send(res, 200, { items, ms: +(performance.now() - t0).toFixed(2) });
  } catch (e) {
    if (CLIENT_ERRORS.has(e?.code)) return send(res, 400, { error: e.message, code: e.code });
    console.error(e);
    send(res, 500, { error: 'internal error' });
  }
});

server.listen(Number(port), () => console.log(`serving ${runDir} (step ${model.step}, ${model.numItems} items) on http://localhost:${port}`));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => {
    model.close();
    process.exit(0);
  }));
}
