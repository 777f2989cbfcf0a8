#!/usr/bin/env node
// validate.mjs - check recorded HTTP exchanges against openapi.yaml.
//
//   node tests/contract/validate.mjs [--spec FILE] [--no-coverage] [--verbose] EXCHANGES.jsonl
//
// EXCHANGES.jsonl holds one JSON object per line (blank lines are skipped):
//
//   {"method":"GET","path":"/api/v1/positions?limit=2","route":"/api/v1/positions",
//    "status":200,"headers":{"x-cache":"MISS","x-request-id":"..."},"body":{...}}
//
//   method   HTTP method (required)
//   path     request target as sent, query string included (required)
//   route    path template of openapi.yaml, e.g. "/api/v1/positions/{id}";
//            optional: without it (or when it is not a template of the spec)
//            the path is matched against the templates
//   status   response status code (required, integer)
//   headers  response headers, names in any case (required; {} when none)
//   body     response body: the parsed JSON, a string for a non-JSON body,
//            null when there is none (required)
//   request_headers  optional: request headers sent; a valid X-Request-ID
//            there must come back in the response's X-Request-ID
//   request_body     optional: the parsed JSON request body; checked
//            against the operation's request schema when the answer is 2xx
//
// For each exchange: find the operation (method + template); the status must
// be documented; the body must validate against the response schema (Ajv,
// JSON Schema 2020-12, strict, all errors); every required response header
// must be present and every documented header that is present must match
// its schema; an error body's request_id must equal X-Request-ID; for 2xx
// answers, path and query parameters must be documented and valid.  A
// request that matches no operation must have one of the spec's
// `x-unmatched-responses` (404 unknown path, 405 known path, wrong method).
//
// Prints one line per problem and a last line "N passed, N failed".  Exits 1
// when anything failed, when the file holds no exchange, or (unless
// --no-coverage) when an operation has no recorded 2xx exchange; operations
// marked `x-contract-coverage: optional` (GET /metrics) are exempt.
// Exits 2 on a usage error or an unreadable spec.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENAPI_ID, ajvErrors, checkRecording, derefIn, loadSpec, newAjv, openApiSchemas, parseOptions, rewriteRefs } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function usage(msg) {
  if (msg) console.error(`validate: ${msg}`);
  console.error('usage: validate.mjs [--spec openapi.yaml] [--no-coverage] [--verbose] EXCHANGES.jsonl');
  process.exit(2);
}

// ------------------------------------------------------------------ options

const {
  spec: specPath,
  coverage,
  verbose,
  input: inputPath,
} = parseOptions(process.argv.slice(2), { spec: resolve(HERE, '../../openapi.yaml'), usage });
if (inputPath === null) usage('no exchanges file given');

// --------------------------------------------------------------------- spec

let spec;
try {
  spec = loadSpec(specPath);
} catch (e) {
  console.error(`validate: cannot read ${specPath}: ${e.message}`);
  process.exit(2);
}
if (!String(spec.openapi ?? '').startsWith('3.1')) {
  console.error(`validate: ${specPath} is not an OpenAPI 3.1 document`);
  process.exit(2);
}
const deref = derefIn(spec);

const ajv = newAjv();
const compiled = new Map();
try {
  openApiSchemas(ajv, spec);
} catch (e) {
  console.error(`validate: schemas in ${specPath} do not compile: ${e.message}`);
  process.exit(2);
}

// Other schemas (parameters, headers, bodies) refer to the named ones.
function validator(schema) {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(rewriteRefs(schema, [['#/components/schemas/', `${OPENAPI_ID}#/$defs/`]]));
    compiled.set(schema, v);
  }
  return v;
}

// The primitive type a parameter or header schema wants (for coercion).
function scalarType(schema) {
  const s = deref(schema);
  if (!s || typeof s !== 'object') return null;
  if (typeof s.type === 'string') return s.type;
  for (const sub of [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])]) {
    const t = scalarType(sub);
    if (t && t !== 'null') return t;
  }
  return null;
}

function coerce(value, schema) {
  const t = scalarType(schema);
  if ((t === 'integer' || t === 'number') && /^-?[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value);
  if (t === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

// Path templates, literal ones first so /a/b wins over /a/{x}.
const templates = Object.keys(spec.paths ?? {})
  .map((tpl) => {
    const names = [];
    const re = tpl
      .split('/')
      .map((seg) => {
        const m = /^\{([^}]+)\}$/.exec(seg);
        if (m) {
          names.push(m[1]);
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    return { tpl, names, re: new RegExp(`^${re}$`) };
  })
  .sort((a, b) => a.names.length - b.names.length);

function matchTemplate(tpl, path) {
  const t = templates.find((x) => x.tpl === tpl);
  const m = t && t.re.exec(path);
  if (!m) return null;
  const args = {};
  t.names.forEach((n, i) => {
    try {
      args[n] = decodeURIComponent(m[i + 1]);
    } catch {
      args[n] = m[i + 1];
    }
  });
  return args;
}

function findTemplate(path) {
  for (const t of templates) if (t.re.test(path)) return t.tpl;
  return null;
}

function lookupResponse(responses, status) {
  const r = responses?.[String(status)] ?? responses?.[`${String(status)[0]}XX`] ?? responses?.default;
  return r === undefined ? null : deref(r);
}

// Every operation, for coverage.
const operations = [];
for (const [tpl, item] of Object.entries(spec.paths ?? {})) {
  for (const m of METHODS) {
    if (item[m]) {
      operations.push({
        key: `${m.toUpperCase()} ${tpl}`,
        id: item[m].operationId ?? '',
        optional: item[m]['x-contract-coverage'] === 'optional',
      });
    }
  }
}
const covered = new Set();

// ----------------------------------------------------------------- checking

function isObject(x) {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function checkHeaders(response, headers, problems) {
  for (const [name, rawDef] of Object.entries(response.headers ?? {})) {
    const lname = name.toLowerCase();
    if (lname === 'content-type') continue; // ignored by OpenAPI
    const def = deref(rawDef);
    const value = headers[lname];
    if (value === undefined) {
      if (def.required) problems.push(`missing required header ${name}`);
      continue;
    }
    if (def.schema) {
      const v = validator(def.schema);
      if (!v(coerce(String(value), def.schema))) problems.push(...ajvErrors(v.errors, `header ${name}`));
    }
  }
}

function checkBody(response, ex, headers, problems) {
  const content = response.content ?? {};
  const types = Object.keys(content);
  const body = ex.body;
  const ctHeader = headers['content-type'];
  const ct = ctHeader ? String(ctHeader).split(';')[0].trim().toLowerCase() : null;
  if (types.length === 0) {
    if (body !== null && body !== undefined && body !== '') problems.push(`documented without a body, but one was recorded`);
    return;
  }
  let mediaType;
  if (ct) {
    mediaType = types.find((t) => t.toLowerCase() === ct);
    if (!mediaType) {
      problems.push(`Content-Type ${ct} is not documented (documented: ${types.join(', ')})`);
      return;
    }
  } else {
    if (types.length > 1) {
      problems.push(`no Content-Type header, and several media types are documented`);
      return;
    }
    mediaType = types[0];
  }
  const media = content[mediaType];
  const isJson = /(^application\/json$)|(\+json$)/i.test(mediaType);
  if (!isJson) {
    // A non-JSON body is recorded as a string, or null when not kept.
    if (body !== null && body !== undefined) {
      if (typeof body !== 'string') problems.push(`body of ${mediaType} must be recorded as a string or null`);
      else if (media.schema) {
        const v = validator(media.schema);
        if (!v(body)) problems.push(...ajvErrors(v.errors, 'body'));
      }
    }
    return;
  }
  if (body === null || body === undefined) {
    problems.push(`a ${mediaType} body is documented but none was recorded`);
    return;
  }
  if (media.schema) {
    const v = validator(media.schema);
    if (!v(body)) problems.push(...ajvErrors(v.errors, 'body'));
  }
  // The error envelope carries the response's request id.
  if (isObject(body) && isObject(body.error) && typeof body.error.request_id === 'string') {
    const rid = headers['x-request-id'];
    if (rid !== undefined && rid !== body.error.request_id)
      problems.push(`body/error/request_id "${body.error.request_id}" differs from X-Request-ID "${rid}"`);
  }
}

function checkParameters(op, pathItem, args, query, problems) {
  const params = new Map();
  for (const raw of [...(pathItem.parameters ?? []), ...(op.parameters ?? [])]) {
    const p = deref(raw);
    params.set(`${p.in}:${p.name}`, p); // operation-level ones override
  }
  for (const [name, value] of Object.entries(args)) {
    const p = params.get(`path:${name}`);
    if (!p) {
      problems.push(`path parameter {${name}} is not documented`);
      continue;
    }
    const v = validator(p.schema ?? {});
    if (!v(coerce(value, p.schema))) problems.push(...ajvErrors(v.errors, `path parameter ${name}`));
  }
  const seen = new Set();
  for (const [name, value] of query) {
    if (seen.has(name)) problems.push(`query parameter ${name} is repeated but the answer was 2xx`);
    seen.add(name);
    const p = params.get(`query:${name}`);
    if (!p) {
      problems.push(`query parameter ${name} is not documented but the answer was 2xx`);
      continue;
    }
    const v = validator(p.schema ?? {});
    if (!v(coerce(value, p.schema))) problems.push(...ajvErrors(v.errors, `query parameter ${name}`));
  }
  for (const p of params.values()) {
    if (p.in === 'query' && p.required && !seen.has(p.name)) problems.push(`required query parameter ${p.name} is missing`);
  }
}

function checkRequestBody(op, ex, problems) {
  if (ex.request_body === undefined || !op.requestBody) return;
  const rb = deref(op.requestBody);
  const media = rb.content?.['application/json'];
  if (!media?.schema) return;
  const v = validator(media.schema);
  if (!v(ex.request_body)) problems.push(...ajvErrors(v.errors, 'request body'));
}

function checkExchange(ex) {
  const problems = [];
  if (!isObject(ex)) return { label: '(not an object)', problems: ['an exchange must be a JSON object'] };
  const method = typeof ex.method === 'string' ? ex.method.toUpperCase() : null;
  const label0 = `${ex.method ?? '?'} ${ex.path ?? '?'} -> ${ex.status ?? '?'}`;
  if (!method) problems.push('"method" must be a string');
  if (typeof ex.path !== 'string' || !ex.path.startsWith('/')) problems.push('"path" must be a string starting with "/"');
  if (!Number.isInteger(ex.status) || ex.status < 100 || ex.status > 599) problems.push('"status" must be an integer HTTP status');
  if (!isObject(ex.headers)) problems.push('"headers" must be an object of response headers');
  if (!('body' in ex)) problems.push('"body" is missing (use null for no body)');
  if (ex.route !== undefined && ex.route !== null && typeof ex.route !== 'string') problems.push('"route" must be a string');
  if (ex.request_headers !== undefined && !isObject(ex.request_headers)) problems.push('"request_headers" must be an object');
  if (problems.length) return { label: label0, problems };

  const headers = {};
  for (const [k, v] of Object.entries(ex.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  const q = ex.path.indexOf('?');
  const rawPath = q < 0 ? ex.path : ex.path.slice(0, q);
  const query = [...new URLSearchParams(q < 0 ? '' : ex.path.slice(q + 1))];

  // Every response says which request it answers.
  if (headers['x-request-id'] === undefined) problems.push('missing required header X-Request-ID');
  if (ex.request_headers) {
    const sent = Object.entries(ex.request_headers).find(([k]) => k.toLowerCase() === 'x-request-id')?.[1];
    if (typeof sent === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(sent) && headers['x-request-id'] !== undefined && headers['x-request-id'] !== sent)
      problems.push(`X-Request-ID "${headers['x-request-id']}" does not echo the request's "${sent}"`);
  }

  let tpl = null;
  if (typeof ex.route === 'string' && spec.paths?.[ex.route]) {
    tpl = ex.route;
    if (!matchTemplate(tpl, rawPath)) problems.push(`path ${rawPath} does not match its route ${tpl}`);
  } else {
    tpl = findTemplate(rawPath);
  }
  const unmatched = spec['x-unmatched-responses'] ?? {};

  if (!tpl) {
    const label = `${label0} (no such path)`;
    const r = unmatched['404'] ? deref(unmatched['404']) : null;
    if (ex.status !== 404 || !r) problems.push(`no path template matches ${rawPath}; only 404 is documented for that`);
    else {
      checkHeaders(r, headers, problems);
      checkBody(r, ex, headers, problems);
    }
    return { label, problems };
  }
  const pathItem = spec.paths[tpl];
  const op = pathItem[method.toLowerCase()];
  if (!op) {
    const label = `${label0} (${tpl} has no ${method})`;
    const r = unmatched['405'] ? deref(unmatched['405']) : null;
    if (ex.status !== 405 || !r) problems.push(`${method} ${tpl} is not an operation; only 405 is documented for that`);
    else {
      checkHeaders(r, headers, problems);
      checkBody(r, ex, headers, problems);
      const allow = headers.allow;
      if (typeof allow === 'string') {
        const documented = METHODS.filter((m) => pathItem[m]).map((m) => m.toUpperCase());
        const got = allow.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
        if (documented.some((m) => !got.includes(m)) || got.some((m) => !documented.includes(m) && m !== 'HEAD' && m !== 'OPTIONS'))
          problems.push(`Allow "${allow}" differs from the documented methods ${documented.join(', ')}`);
      }
    }
    return { label, problems };
  }

  const label = `${label0} (${op.operationId ?? `${method} ${tpl}`})`;
  const response = lookupResponse(op.responses, ex.status);
  if (!response) {
    problems.push(`status ${ex.status} is not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')})`);
    return { label, problems };
  }
  checkHeaders(response, headers, problems);
  checkBody(response, ex, headers, problems);
  if (ex.status >= 200 && ex.status < 300) {
    checkParameters(op, pathItem, matchTemplate(tpl, rawPath) ?? {}, query, problems);
    checkRequestBody(op, ex, problems);
    covered.add(`${method} ${tpl}`);
  }
  return { label, problems };
}

// --------------------------------------------------------------------- main

let { passed, failed } = checkRecording(inputPath, checkExchange, {
  verbose,
  noun: 'exchange',
  label: (ex) => `${ex?.method} ${ex?.path}`,
});
if (coverage) {
  for (const op of operations) {
    if (op.optional || covered.has(op.key)) continue;
    failed++;
    console.log(`FAIL coverage: ${op.key} (${op.id}) has no recorded 2xx exchange`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
