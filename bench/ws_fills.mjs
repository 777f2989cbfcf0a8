// bench/ws_fills.mjs - the users' side of bench/fills.sh: one WebSocket
// per user through nginx, subscribed to its fills and orders, timing each
// fill from the tick that fired its order to the moment it reaches the
// socket.
//
//   node bench/ws_fills.mjs ws://127.0.0.1:PORT/ws TOKENS N TIMEOUT_S
//
// TOKENS: one access token per line, one socket each (PRODUCT.md's
// protocol: auth, then subscribe to ["fills","orders"]).  Prints "ready"
// once every socket is subscribed, then waits for N fills (or TIMEOUT_S
// seconds) and prints one line:
//
//   SOCKET fills=... orders=... matched=... p50_ms=... p99_ms=... max_ms=...
//          tx_p50_ms=... tx_p99_ms=... dup=...
//
// The tick's time is the order's triggered_at (the engine's receive time of
// the tick that fired it, which fill_orders() stores, milliseconds), taken
// from the order's "filled" push; the fill's arrival is this process'
// clock (the same machine's CLOCK_REALTIME) when its push is read.  A fill
// whose order push has not come yet is matched when it comes.  dup counts
// fills pushed twice (must be 0).  tx_*: from the fill's created_at (the
// start of the transaction that wrote it) to its arrival: the fill
// transaction's own time, the relay, Redis, the stream and nginx.  Exits 1 when fewer than N fills came.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [url, tokenFile, nArg, timeoutArg] = process.argv.slice(2);
if (!url || !tokenFile || !nArg) {
    console.error('usage: ws_fills.mjs URL TOKENS N [TIMEOUT_S]');
    process.exit(2);
}
const want = Number(nArg);
const timeoutMs = Number(timeoutArg || 120) * 1000;
const tokens = readFileSync(tokenFile, 'utf8').split('\n').filter((t) => t.length > 0);

const fillAt = new Map(); // order id -> ms the fill arrived
const sinceTx = []; // ms from the fill's created_at (its transaction's start) to its arrival
const tickAt = new Map(); // order id -> triggered_at, ms
const seen = new Set(); // fill ids
let dup = 0;
let orders = 0;
let subscribed = 0;
const sockets = [];

function finish() {
    const lat = [];
    for (const [oid, at] of fillAt) {
        const tick = tickAt.get(oid);
        if (tick !== undefined) lat.push(at - tick);
    }
    lat.sort((a, b) => a - b);
    sinceTx.sort((a, b) => a - b);
    const pct = (a, p) => (a.length ? a[Math.max(0, Math.ceil((a.length * p) / 100) - 1)] : -1);
    console.log(
        `SOCKET fills=${fillAt.size} orders=${orders} matched=${lat.length} ` +
            `p50_ms=${pct(lat, 50)} p99_ms=${pct(lat, 99)} max_ms=${pct(lat, 100)} ` +
            `tx_p50_ms=${pct(sinceTx, 50)} tx_p99_ms=${pct(sinceTx, 99)} dup=${dup}`,
    );
    for (const ws of sockets) ws.terminate();
    process.exit(fillAt.size >= want ? 0 : 1);
}

function onMessage(ws, raw) {
    const now = Date.now();
    let m;
    try {
        m = JSON.parse(raw);
    } catch {
        console.error('ws_fills: not JSON:', String(raw).slice(0, 200));
        return;
    }
    if (m.type === 'authed') {
        ws.send(JSON.stringify({ op: 'subscribe', channels: ['fills', 'orders'] }));
    } else if (m.type === 'subscribed') {
        if (++subscribed === tokens.length) console.log('ready');
    } else if (m.type === 'fill') {
        if (seen.has(m.data.id)) {
            dup++;
            return;
        }
        seen.add(m.data.id);
        fillAt.set(m.data.order_id, now);
        if (m.data.created_at) sinceTx.push(now - Date.parse(m.data.created_at));
        if (fillAt.size >= want && tickAt.size >= want) finish();
    } else if (m.type === 'order') {
        orders++;
        if (m.data.status === 'filled' && m.data.triggered_at) {
            tickAt.set(m.data.id, Date.parse(m.data.triggered_at));
            if (fillAt.size >= want && tickAt.size >= want) finish();
        }
    } else if (m.type === 'error') {
        console.error('ws_fills: error message:', JSON.stringify(m));
    }
}

for (const token of tokens) {
    const ws = new WebSocket(url);
    sockets.push(ws);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'auth', token })));
    ws.on('message', (raw) => onMessage(ws, raw));
    ws.on('error', (e) => console.error('ws_fills: socket error:', e.message));
    ws.on('close', (code) => {
        if (code !== 1005 && code !== 1006) console.error('ws_fills: closed', code);
    });
}
setTimeout(finish, timeoutMs);
