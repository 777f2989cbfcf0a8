// fake_exchange.mjs - a local server speaking an exchange's public
// WebSocket protocol, for the engine's adapter tests.
//
//   node tests/integration/fake_exchange.mjs binance|coinbase|kraken PORT
//
// Binance (/ws: SUBSCRIBE / UNSUBSCRIBE with ids, raw miniTicker,
// bookTicker, trade and, when <sym>@kline_1m is subscribed, kline
// payloads), Coinbase Exchange (subscribe / unsubscribe answered with
// subscriptions, ticker, match, heartbeat) and Kraken v2 (status on
// connect, subscribe / unsubscribe replies echoing req_id, ticker and trade
// channels with JSON numbers, ohlc when subscribed).  Every 50 ms each
// subscribed symbol gets a ticker and a trade around its price (and a
// candle).  Control over plain HTTP on the same port:
//   GET /control/drop             close every connection (abruptly)
//   GET /control/silence?on=1|0   stop / resume pushing (connections stay up)
//   GET /control/price?s=SYM&p=N  set a venue symbol's price (BTCUSDT, BTC-USD, BTC/USD);
//                                 &fixed=1: exactly N from now on (no random walk)
//   GET /control/ramp?s=SYM&from=N&step=D&count=K&every=MS
//                                 a market's move on the venue's own clock: fixed at N,
//                                 then every MS (50) ms D (1) higher and pushed at once,
//                                 K times (the bench's stepped phase, no process per step)
//   GET /control/stats            {"connections":n,"subscribes":n,"silent":bool,"ramping":n,
//                                  "unsubscribes":n,"subscribed":[...],"unsubscribed":[...]}
//     subscribed / unsubscribed: every Binance stream ("btcusdt@kline_1m") or
//     Coinbase / Kraken channel ("ohlc") ever named in a (un)subscribe.
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
let unsubscribes = 0;
const subscribed = new Set(); // streams / channels ever subscribed
const unsubscribed = new Set();
let tradeId = 1000;
let ramping = 0; // ramps under way
const prices = new Map(); // venue symbol -> price
const subs = new Map(); // ws -> Set(venue symbol)
const candles = new Map(); // ws -> Set(venue symbol) with a 1m candle stream

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
    if (u.searchParams.get('fixed') === '1') fixed.add(u.searchParams.get('s'));
    else fixed.delete(u.searchParams.get('s'));
    return reply({ ok: true });
  }
  if (u.pathname === '/control/ramp') {
    const sym = u.searchParams.get('s');
    const step = Number(u.searchParams.get('step') || 1);
    let left = Number(u.searchParams.get('count'));
    const every = Number(u.searchParams.get('every') || 50);
    const from = Number(u.searchParams.get('from'));
    let n = 0;
    prices.set(sym, from);
    fixed.add(sym);
    ramping++;
    const t = setInterval(() => {
      // From the start, not added up: 0.01 steps stay exact to 8 places.
      prices.set(sym, Math.round((from + step * ++n) * 1e8) / 1e8);
      const now = Date.now();
      const iso = new Date(now).toISOString();
      for (const [ws, set] of subs)
        if (ws.readyState === 1 && set.has(sym)) pushSymbol(ws, sym, now, iso);
      if (--left <= 0) { clearInterval(t); ramping--; }
    }, every);
    return reply({ ok: true });
  }
  if (u.pathname === '/control/stats')
    return reply({ connections: wss.clients.size, subscribes, silent, unsubscribes, ramping,
      subscribed: [...subscribed].sort(), unsubscribed: [...unsubscribed].sort() });
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server });

const fixed = new Set(); // venue symbols quoted at exactly their set price
const priceOf = (s) => {
  if (!prices.has(s)) prices.set(s, 1000);
  if (fixed.has(s)) return prices.get(s);
  const p = prices.get(s) * (1 + (Math.random() - 0.5) / 10000);
  prices.set(s, p);
  return p;
};

wss.on('connection', (ws) => {
  subs.set(ws, new Set());
  candles.set(ws, new Set());
  ws.on('error', (e) => console.error(`client error: ${e.message}`)); // a bad frame ends that client only
  if (venue === 'kraken')
    ws.send(JSON.stringify({ channel: 'status', type: 'update', data: [{ version: '2.0.0', system: 'online', api_version: 'v2', connection_id: 1 }] }));
  ws.on('message', (raw) => {
    let m;
    try { m = JSON.parse(raw); } catch { return; }
    const set = subs.get(ws), kset = candles.get(ws);
    if (venue === 'binance' && m.method === 'SUBSCRIBE') {
      for (const s of m.params) {
        set.add(s.split('@')[0].toUpperCase());
        if (s.endsWith('@kline_1m')) kset.add(s.split('@')[0].toUpperCase());
        subscribed.add(s);
      }
      subscribes++;
      ws.send(JSON.stringify({ result: null, id: m.id }));
    } else if (venue === 'binance' && m.method === 'UNSUBSCRIBE') {
      for (const s of m.params) {
        set.delete(s.split('@')[0].toUpperCase());
        kset.delete(s.split('@')[0].toUpperCase());
        unsubscribed.add(s);
      }
      unsubscribes++;
      ws.send(JSON.stringify({ result: null, id: m.id }));
    } else if (venue === 'coinbase' && m.type === 'subscribe') {
      for (const s of m.product_ids) set.add(s);
      for (const c of m.channels) subscribed.add(c);
      subscribes++;
      ws.send(JSON.stringify({ type: 'subscriptions', channels: m.channels.map((c) => ({ name: c, product_ids: m.product_ids })) }));
    } else if (venue === 'coinbase' && m.type === 'unsubscribe') {
      for (const s of m.product_ids) set.delete(s);
      for (const c of m.channels) unsubscribed.add(c);
      unsubscribes++;
      ws.send(JSON.stringify({ type: 'subscriptions', channels: [] }));
    } else if (venue === 'kraken' && (m.method === 'subscribe' || m.method === 'unsubscribe')) {
      const on = m.method === 'subscribe';
      const ch = m.params.channel;
      for (const s of m.params.symbol) {
        if (ch === 'ohlc') (on ? kset.add(s) : kset.delete(s));
        else if (on) set.add(s);
        else set.delete(s);
      }
      if (on) { subscribes++; subscribed.add(ch); } else { unsubscribes++; unsubscribed.add(ch); }
      for (const s of m.params.symbol)
        ws.send(JSON.stringify({ method: m.method, result: { channel: ch, symbol: s }, success: true, req_id: m.req_id, time_in: new Date().toISOString(), time_out: new Date().toISOString() }));
    }
  });
  ws.on('close', () => { subs.delete(ws); candles.delete(ws); });
});

// One symbol's ticker, top of book and trade to one client.
const pushSymbol = (ws, s, now, iso) => {
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
};

setInterval(() => {
  if (silent) return;
  const now = Date.now();
  const iso = new Date(now).toISOString();
  const minute = now - (now % 60000);
  for (const [ws, set] of subs) {
    if (ws.readyState !== 1) continue; // closing: a send would throw
    for (const s of candles.get(ws) || []) {
      const p = priceOf(s);
      if (venue === 'binance')
        ws.send(JSON.stringify({ e: 'kline', E: now, s, k: { t: minute, T: minute + 59999, s, i: '1m', f: 1, L: 2, o: p.toFixed(2), c: p.toFixed(2), h: (p + 1).toFixed(2), l: (p - 1).toFixed(2), v: '1.5', n: 3, x: false, q: '100', V: '0.5', Q: '50', B: '0' } }));
      else if (venue === 'kraken') {
        const q = Math.round(p * 100) / 100;
        ws.send(JSON.stringify({ channel: 'ohlc', type: 'update', timestamp: iso, data: [{ symbol: s, open: q, high: q + 1, low: q - 1, close: q, trades: 3, volume: 1.5, vwap: q, interval_begin: new Date(minute).toISOString(), interval: 1, timestamp: iso }] }));
      }
    }
    for (const s of set) pushSymbol(ws, s, now, iso);
  }
}, 50);

server.listen(port, '127.0.0.1', () => console.log(`fake ${venue} on ${port}`));
process.on('SIGTERM', () => process.exit(0));
