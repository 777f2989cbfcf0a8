// fake_exchange.mjs - a local server speaking an exchange's public
// WebSocket protocol, for the engine's adapter tests.
//
//   node tests/integration/fake_exchange.mjs binance|coinbase|kraken PORT
//
// Binance (/ws: SUBSCRIBE with ids, raw miniTicker, bookTicker and trade
// payloads), Coinbase Exchange (subscribe / subscriptions, ticker, match,
// heartbeat) and Kraken v2 (status on connect, subscribe replies, ticker and
// trade channels with JSON numbers).  Every 50 ms each subscribed symbol
// gets a ticker and a trade around its price.  Control over plain HTTP on
// the same port:
//   GET /control/drop             close every connection (abruptly)
//   GET /control/silence?on=1|0   stop / resume pushing (connections stay up)
//   GET /control/price?s=SYM&p=N  set a venue symbol's price (BTCUSDT, BTC-USD, BTC/USD)
//   GET /control/stats            {"connections":n,"subscribes":n,"silent":bool}
import http from 'node:http';
import { WebSocketServer } from 'ws';

const venue = process.argv[2];
const port = Number(process.argv[3]);
if (!['binance', 'coinbase', 'kraken'].includes(venue) || !port) {
  console.error('usage: fake_exchange.mjs binance|coinbase|kraken PORT');
  process.exit(2);
}

let silent = false;
let subscribes = 0;
let tradeId = 1000;
const prices = new Map(); // venue symbol -> price
const subs = new Map(); // ws -> Set(venue symbol)

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const reply = (o) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(o)); };
  if (u.pathname === '/control/drop') {
    for (const ws of wss.clients) ws.terminate();
    return reply({ dropped: true });
  }
  if (u.pathname === '/control/silence') {
    silent = u.searchParams.get('on') === '1';
    return reply({ silent });
  }
  if (u.pathname === '/control/price') {
    prices.set(u.searchParams.get('s'), Number(u.searchParams.get('p')));
    return reply({ ok: true });
  }
  if (u.pathname === '/control/stats')
    return reply({ connections: wss.clients.size, subscribes, silent });
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server });

const priceOf = (s) => {
  if (!prices.has(s)) prices.set(s, 1000);
  const p = prices.get(s) * (1 + (Math.random() - 0.5) / 10000);
  prices.set(s, p);
  return p;
};

wss.on('connection', (ws) => {
  subs.set(ws, new Set());
  ws.on('error', (e) => console.error(`client error: ${e.message}`)); // a bad frame ends that client only
  if (venue === 'kraken')
    ws.send(JSON.stringify({ channel: 'status', type: 'update', data: [{ version: '2.0.0', system: 'online', api_version: 'v2', connection_id: 1 }] }));
  ws.on('message', (raw) => {
    let m;
    try { m = JSON.parse(raw); } catch { return; }
    const set = subs.get(ws);
    if (venue === 'binance' && m.method === 'SUBSCRIBE') {
      for (const s of m.params) set.add(s.split('@')[0].toUpperCase());
      subscribes++;
      ws.send(JSON.stringify({ result: null, id: m.id }));
    } else if (venue === 'coinbase' && m.type === 'subscribe') {
      for (const s of m.product_ids) set.add(s);
      subscribes++;
      ws.send(JSON.stringify({ type: 'subscriptions', channels: m.channels.map((c) => ({ name: c, product_ids: m.product_ids })) }));
    } else if (venue === 'kraken' && m.method === 'subscribe') {
      for (const s of m.params.symbol) set.add(s);
      subscribes++;
      for (const s of m.params.symbol)
        ws.send(JSON.stringify({ method: 'subscribe', result: { channel: m.params.channel, symbol: s }, success: true, time_in: new Date().toISOString(), time_out: new Date().toISOString() }));
    }
  });
  ws.on('close', () => subs.delete(ws));
});

setInterval(() => {
  if (silent) return;
  const now = Date.now();
  const iso = new Date(now).toISOString();
  for (const [ws, set] of subs) {
    if (ws.readyState !== 1) continue; // closing: a send would throw
    for (const s of set) {
      const p = priceOf(s);
      const id = tradeId++;
      if (venue === 'binance') {
        ws.send(JSON.stringify({ e: '24hrMiniTicker', E: now, s, c: p.toFixed(2), o: '1.00', h: '2.00', l: '0.50', v: '100.0', q: '100.0' }));
        ws.send(JSON.stringify({ u: id, s, b: (p - 0.01).toFixed(2), B: '1.50000000', a: (p + 0.01).toFixed(2), A: '2.00000000' }));
        ws.send(JSON.stringify({ e: 'trade', E: now, s, t: id, p: p.toFixed(2), q: '0.01000000', T: now, m: id % 2 === 0, M: true }));
      } else if (venue === 'coinbase') {
        ws.send(JSON.stringify({ type: 'ticker', sequence: id, product_id: s, price: p.toFixed(2), best_bid: (p - 0.01).toFixed(2), best_bid_size: '1.5', best_ask: (p + 0.01).toFixed(2), best_ask_size: '2.0', side: 'buy', time: iso, trade_id: id, last_size: '0.01' }));
        ws.send(JSON.stringify({ type: 'match', trade_id: id, sequence: id, maker_order_id: 'a', taker_order_id: 'b', time: iso, product_id: s, size: '0.01', price: p.toFixed(2), side: id % 2 ? 'buy' : 'sell' }));
        if (id % 20 === 0) ws.send(JSON.stringify({ type: 'heartbeat', sequence: id, last_trade_id: id, product_id: s, time: iso }));
      } else {
        const q = Math.round(p * 100) / 100;
        ws.send(JSON.stringify({ channel: 'ticker', type: 'update', data: [{ symbol: s, bid: q - 0.01, bid_qty: 1.5, ask: q + 0.01, ask_qty: 2.0, last: q, volume: 100.5, vwap: q, low: q - 1, high: q + 1, change: 0.1, change_pct: 0.01 }] }));
        ws.send(JSON.stringify({ channel: 'trade', type: 'update', data: [{ symbol: s, side: id % 2 ? 'buy' : 'sell', price: q, qty: 0.01, ord_type: 'market', trade_id: id, timestamp: iso }] }));
        if (id % 20 === 0) ws.send(JSON.stringify({ channel: 'heartbeat' }));
      }
    }
  }
}, 50);

server.listen(port, '127.0.0.1', () => console.log(`fake ${venue} on ${port}`));
process.on('SIGTERM', () => process.exit(0));
