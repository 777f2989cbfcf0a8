#!/usr/bin/env node
// validate-ws.mjs - check recorded WebSocket messages against asyncapi.yaml.
//
//   node tests/contract/validate-ws.mjs [--spec FILE] [--no-coverage] [--verbose] RECORDING.jsonl
//   node tests/contract/validate-ws.mjs [--spec FILE] --examples
//
// RECORDING.jsonl holds one JSON object per line (blank lines are skipped):
//
//   {"from":"client","message":{"op":"subscribe","channels":["prices:BTC-USDT"]}}
//   {"from":"server","message":{"type":"subscribed","channels":["prices:BTC-USDT"]}}
//
//   from     "client" (sent to the server) or "server" (received from it)
//   message  the frame's JSON
//   invalid  optional, client lines only: true when the test sent a bad
//            request on purpose (to see the server's error); the message
//            must then NOT be a valid client message (any JSON value will
//            do: a string stands for a frame that is not JSON)
//   conn     optional: which connection (a string or integer), shown in
//            the output
//
// The spec's messages are sorted by direction from its operations (written
// from the server's side): those of a `receive` operation come from the
// client, those of a `send` operation and the replies to a `receive` from
// the server.  A server message is picked by its `type`, a client one by
// its `op` (the payload's `const`; each is one message's, checked when the
// spec is read), and must validate against that message's payload (Ajv,
// JSON Schema 2020-12, strict, all errors; asyncapi.yaml keeps to what
// draft-07, AsyncAPI's schema dialect, means the same way).  References
// into openapi.yaml are compiled from openapi.yaml (tests/contract/lib.mjs,
// as validate.mjs does), so a push's `data` is checked by the REST schema
// itself.  Then: a push's channel names the symbol (and interval) of its
// data, and a fill's `id` is its `data.id`.
//
// Prints one line per problem and a last line "N passed, N failed".  Exits
// 1 when anything failed, when the file holds no message, or (unless
// --no-coverage) when a server message type was never seen valid (but for
// a message marked `x-contract-coverage: optional`, one not served yet).  Exits 2
// on a usage error or a spec that cannot be read.
//
// --examples checks the spec instead: every message's examples, as a
// recording, and every message must have one.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENAPI_ID, ajvErrors, checkRecording, derefIn, loadSpec, newAjv, openApiSchemas, parseOptions, rewriteRefs } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ASYNCAPI_ID = 'urn:tradedesk:asyncapi';
const SELECTOR = { client: 'op', server: 'type' };

function usage(msg) {
  if (msg) console.error(`validate-ws: ${msg}`);
  console.error('usage: validate-ws.mjs [--spec asyncapi.yaml] [--no-coverage] [--verbose] RECORDING.jsonl');
  console.error('       validate-ws.mjs [--spec asyncapi.yaml] --examples');
  process.exit(2);
}

function fatal(msg) {
  console.error(`validate-ws: ${msg}`);
  process.exit(2);
}

// ------------------------------------------------------------------ options

const {
  spec: specPath,
  coverage,
  verbose,
  examples,
  input,
} = parseOptions(process.argv.slice(2), { spec: resolve(HERE, '../../asyncapi.yaml'), flags: ['--examples'], usage });
if (examples && input !== null) usage('--examples takes no recording');
if (!examples && input === null) usage('no recording given');

// --------------------------------------------------------------------- spec

let spec;
try {
  spec = loadSpec(specPath);
} catch (e) {
  fatal(`cannot read ${specPath}: ${e.message}`);
}
if (!/^3\./.test(String(spec.asyncapi ?? ''))) fatal(`${specPath} is not an AsyncAPI 3 document`);
const deref = derefIn(spec);

// Every $ref of the spec's schemas: local ones into components/schemas, or
// FILE#/components/schemas/... into one OpenAPI document beside the spec.
const LOCAL = '#/components/schemas/';
let openapiRef = null; // "FILE#/components/schemas/" as the spec writes it
(function findExternal(node) {
  if (Array.isArray(node)) return node.forEach(findExternal);
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) {
      const m = /^([^#]+)#\/components\/schemas\//.exec(v);
      if (!m) fatal(`$ref ${v}: only FILE#/components/schemas/... is supported`);
      if (openapiRef !== null && openapiRef !== m[0]) fatal(`$ref ${v}: all external refs must name one file (${openapiRef})`);
      openapiRef = m[0];
    } else findExternal(v);
  }
})(spec.components);

const ajv = newAjv();
const prefixes = (local) => [[LOCAL, local], ...(openapiRef ? [[openapiRef, `${OPENAPI_ID}#/$defs/`]] : [])];
try {
  if (openapiRef) {
    const file = resolve(dirname(specPath), openapiRef.slice(0, openapiRef.indexOf('#')));
    let openapi;
    try {
      openapi = loadSpec(file);
    } catch (e) {
      throw new Error(`cannot read ${file}: ${e.message}`);
    }
    openApiSchemas(ajv, openapi);
  }
  const schemas = spec.components?.schemas ?? {};
  ajv.addSchema({ $id: ASYNCAPI_ID, $defs: rewriteRefs(schemas, prefixes('#/$defs/')) });
  for (const name of Object.keys(schemas)) {
    if (!ajv.getSchema(`${ASYNCAPI_ID}#/$defs/${name}`)) throw new Error(`cannot compile schema ${name}`);
  }
} catch (e) {
  fatal(`schemas of ${specPath} do not compile: ${e.message}`);
}

// direction -> selector value -> { name, validate, examples }
const messages = { client: new Map(), server: new Map() };
const known = new Map(); // message object -> direction
function addMessage(dir, ref, where) {
  const msg = deref(ref);
  if (!msg || typeof msg !== 'object') fatal(`${where}: not a message`);
  const name = msg.name ?? msg.title ?? '?';
  if (known.has(msg)) {
    if (known.get(msg) !== dir) fatal(`${where}: message ${name} is sent by both client and server`);
    return;
  }
  known.set(msg, dir);
  if (msg.schemaFormat && !/^application\/(vnd\.aai\.asyncapi|schema)\+(json|yaml)/.test(msg.schemaFormat))
    fatal(`${where}: message ${name}: schemaFormat ${msg.schemaFormat} is not JSON Schema`);
  const sel = SELECTOR[dir];
  const value = deref(deref(msg.payload)?.properties?.[sel])?.const;
  if (typeof value !== 'string') fatal(`${where}: message ${name} (${dir}) has no const "${sel}"`);
  if (messages[dir].has(value)) fatal(`${where}: two ${dir} messages with ${sel} "${value}"`);
  let validate;
  try {
    validate = ajv.compile(rewriteRefs(msg.payload, prefixes(`${ASYNCAPI_ID}#/$defs/`)));
  } catch (e) {
    fatal(`message ${name}: payload does not compile: ${e.message}`);
  }
  messages[dir].set(value, { name, validate, examples: msg.examples ?? [],
    optional: msg['x-contract-coverage'] === 'optional' });
}
try {
  for (const [id, op] of Object.entries(spec.operations ?? {})) {
    const dir = { receive: 'client', send: 'server' }[op.action];
    if (!dir) fatal(`operations.${id}: action must be send or receive`);
    for (const m of op.messages ?? []) addMessage(dir, m, `operations.${id}`);
    for (const m of deref(op.reply)?.messages ?? []) addMessage(dir === 'client' ? 'server' : 'client', m, `operations.${id}.reply`);
  }
} catch (e) {
  fatal(`${specPath}: ${e.message}`);
}
if (messages.client.size === 0 || messages.server.size === 0) fatal(`${specPath} has no client or no server messages`);

// ----------------------------------------------------------------- checking

const covered = new Set(); // server selector values seen valid

function isObject(x) {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

// What a message that passed its schema must also hold.
function checkConsistency(sel, m, problems) {
  const data = m.data;
  if (typeof m.channel === 'string' && isObject(data)) {
    const parts = m.channel.split(':');
    if (typeof data.symbol === 'string' && parts.length > 1 && parts[1] !== data.symbol)
      problems.push(`channel ${m.channel} is not data/symbol ${data.symbol}'s`);
    if (typeof data.interval === 'string' && parts.length > 2 && parts[2] !== data.interval)
      problems.push(`channel ${m.channel} is not data/interval ${data.interval}'s`);
  }
  if (sel === 'fill' && isObject(data) && m.id !== data.id) problems.push(`id ${JSON.stringify(m.id)} differs from data/id ${JSON.stringify(data.id)}`);
}

function checkLine(line) {
  const problems = [];
  if (!isObject(line)) return { label: '(not an object)', problems: ['a line must be a JSON object {"from":...,"message":...}'] };
  const conn = line.conn === undefined ? '' : `[${line.conn}] `;
  const dir = line.from;
  for (const k of Object.keys(line))
    if (!['from', 'message', 'invalid', 'conn'].includes(k)) problems.push(`unknown field "${k}" in the line`);
  if (dir !== 'client' && dir !== 'server') problems.push('"from" must be "client" or "server"');
  if (!('message' in line)) problems.push('"message" is missing');
  if (line.invalid !== undefined && (line.invalid !== true || dir !== 'client')) problems.push('"invalid" may only be true, on a client line');
  if (line.conn !== undefined && typeof line.conn !== 'string' && !Number.isInteger(line.conn)) problems.push('"conn" must be a string or an integer');
  if (problems.length) return { label: `${conn}${dir ?? '?'}`, problems };

  const m = line.message;
  const sel = SELECTOR[dir];
  const value = isObject(m) ? m[sel] : undefined;
  const entry = typeof value === 'string' ? messages[dir].get(value) : undefined;
  const label = `${conn}${dir} ${entry ? entry.name : typeof value === 'string' ? JSON.stringify(value) : '?'}`;
  const own = [];
  if (!isObject(m)) own.push(`a ${dir} message must be a JSON object`);
  else if (typeof value !== 'string') own.push(`"${sel}" must be a string (one of: ${[...messages[dir].keys()].join(', ')})`);
  else if (!entry) own.push(`unknown ${sel} "${value}" (the spec's ${dir} messages: ${[...messages[dir].keys()].join(', ')})`);
  else if (!entry.validate(m)) own.push(...ajvErrors(entry.validate.errors, 'message'));
  else checkConsistency(value, m, own);

  if (line.invalid) {
    if (own.length === 0) problems.push(`marked invalid, but it is a valid ${entry.name} message`);
  } else {
    problems.push(...own);
    if (own.length === 0 && dir === 'server') covered.add(value);
  }
  return { label, problems };
}

// --------------------------------------------------------------------- main

let passed = 0;
let failed = 0;
if (examples) {
  for (const dir of ['client', 'server']) {
    for (const [value, entry] of messages[dir]) {
      if (entry.examples.length === 0) {
        failed++;
        console.log(`FAIL ${specPath}: message ${entry.name} has no example`);
      }
      entry.examples.forEach((ex, i) => {
        const { problems } = checkLine({ from: dir, message: ex.payload });
        if (ex.payload?.[SELECTOR[dir]] !== value) problems.push(`its ${SELECTOR[dir]} is not "${value}"`);
        const at = `${specPath}: message ${entry.name} example ${ex.name ?? i + 1}`;
        if (problems.length === 0) {
          passed++;
          if (verbose) console.log(`ok   ${at}`);
        } else {
          failed++;
          for (const p of problems) console.log(`FAIL ${at}: ${p}`);
        }
      });
    }
  }
} else {
  ({ passed, failed } = checkRecording(input, checkLine, { verbose, noun: 'message', label: (l) => `${l?.from} ?` }));
}
if (coverage) {
  for (const [value, entry] of messages.server) {
    if (covered.has(value) || entry.optional) continue;
    failed++;
    console.log(`FAIL coverage: server message "${value}" (${entry.name}) was never seen valid`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
