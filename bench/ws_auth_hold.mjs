// bench/ws_auth_hold.mjs - how long tradedesk-stream's loop is held while
// many sockets authenticate at once (the clients' side of
// bench/ws_auth_hold.sh).
//
//   node bench/ws_auth_hold.mjs ws://127.0.0.1:PORT/ TOKEN N [STALL_CMD]
//
// Opens N sockets and one probe, all straight on the stream's port.  The
// probe pings, one ping in flight at a time, for the whole run; once
// every socket is open, all N send {"op":"auth"} with TOKEN at once
// (after STALL_CMD, a shell command run first, e.g. one that stops Redis
// for a while in the background).  Prints one line:
//
//   AUTH n=... authed=... errors=... all_ms=... probe_pings=... probe_p50_ms=...
//        probe_p99_ms=... probe_max_ms=...
//
// all_ms: from the auths' send to the last answer.  probe_*: the ping ->
// pong round trips of the probe while auths were outstanding (a loop held
// by one auth holds the probe's pong as long).  Exits 1 when an answer is
// missing after 60 s.
import { execSync } from 'node:child_process';
import WebSocket from 'ws';

const [url, token, nArg, stall] = process.argv.slice(2);
if (!url || !token || !nArg) {
    console.error('usage: ws_auth_hold.mjs URL TOKEN N [STALL_CMD]');
    process.exit(2);
}
const n = Number(nArg);
const socks = [];
let open = 0;
let answered = 0;
let authed = 0;
let errors = 0;
let t0 = 0;
let allMs = -1;
const rtts = [];

function open1(onOpen) {
    const ws = new WebSocket(url, 'td-stream');
    ws.on('open', onOpen);
    ws.on('error', (e) => {
        console.error(`ws error: ${e.message}`);
        process.exit(1);
    });
    return ws;
}

const probe = open1(() => {
    for (let i = 0; i < n; i++) socks.push(open1(opened));
});
let pingAt = 0;
probe.on('message', () => {
    if (allMs < 0 && t0) rtts.push(performance.now() - pingAt);
    ping();
});
function ping() {
    pingAt = performance.now();
    probe.send('{"op":"ping"}');
}

function opened() {
    if (++open < n) return;
    for (const ws of socks)
        ws.on('message', (m) => {
            const type = JSON.parse(m.toString()).type;
            if (type === 'authed') authed++;
            else errors++;
            if (++answered === n) done();
        });
    if (stall) execSync(stall, { stdio: 'inherit' });
    t0 = performance.now();
    ping();
    const msg = JSON.stringify({ op: 'auth', token });
    for (const ws of socks) ws.send(msg);
}

function done() {
    allMs = performance.now() - t0;
    rtts.sort((a, b) => a - b);
    const pct = (p) => (rtts.length ? rtts[Math.max(0, Math.ceil((rtts.length * p) / 100) - 1)] : -1);
    const f = (v) => v.toFixed(1);
    console.log(
        `AUTH n=${n} authed=${authed} errors=${errors} all_ms=${f(allMs)} probe_pings=${rtts.length} ` +
            `probe_p50_ms=${f(pct(50))} probe_p99_ms=${f(pct(99))} probe_max_ms=${f(pct(100))}`,
    );
    process.exit(0);
}

setTimeout(() => {
    console.error(`only ${answered} of ${n} answered in 60 s`);
    process.exit(1);
}, 60000);
