#!/usr/bin/env node
// error-codes.mjs - check openapi.yaml's error codes against the error table.
//
//   tradedesk-api --print-error-codes | node tests/contract/error-codes.mjs [--spec FILE]
//
// stdin holds the table of src/core/errors.h, one "STATUS CODE" line per
// kind.  Checks, so the contract and the code cannot drift apart:
//   1. the Error schema's code enum lists exactly the table's codes;
//   2. every code a response names (a `const` or `enum` on error.code, or an
//      example's error.code) is in the table, and, where the response is
//      given under a status, has that status in the table.
// Prints one line per problem and "error-codes: ok (N codes)" or exits 1.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));
let specPath = resolve(HERE, '../../openapi.yaml');
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--spec' && i + 1 < args.length) specPath = args[++i];
  else {
    console.error('usage: error-codes.mjs [--spec openapi.yaml] < CODES');
    process.exit(2);
  }
}

const table = new Map(); // code -> status
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const m = /^(\d{3}) ([a-z][a-z0-9_]*)$/.exec(line);
  if (!m) {
    console.error(`error-codes: bad table line: ${JSON.stringify(line)}`);
    process.exit(2);
  }
  table.set(m[2], Number(m[1]));
}
if (table.size === 0) {
  console.error('error-codes: the table on stdin is empty');
  process.exit(2);
}

const spec = parseYaml(readFileSync(specPath, 'utf8'));
const problems = [];

// 1. The enum is the table.
const errorSchema = spec?.components?.schemas?.Error;
const codeSchema = errorSchema?.properties?.error?.properties?.code;
const listed = Array.isArray(codeSchema?.enum) ? codeSchema.enum : null;
if (!listed) {
  problems.push('components.schemas.Error: error.code has no enum');
} else {
  for (const c of table.keys())
    if (!listed.includes(c)) problems.push(`Error code enum lacks "${c}" (in src/core/errors.h)`);
  for (const c of listed)
    if (!table.has(c)) problems.push(`Error code enum lists "${c}", which src/core/errors.h lacks`);
  if (new Set(listed).size !== listed.length) problems.push('Error code enum repeats a code');
}

// 2. Codes named by responses.
function deref(node) {
  let n = node;
  for (let hops = 0; n && typeof n.$ref === 'string' && hops < 10; hops++) {
    const path = n.$ref.replace(/^#\//, '').split('/');
    n = path.reduce((o, k) => (o == null ? o : o[k]), spec);
  }
  return n;
}

// Codes named inside a response object: the const or enum of an
// error.code schema (properties.error.properties.code) anywhere in it, and
// error.code of its examples.
function codesOf(response) {
  const found = new Set();
  const seen = new Set();
  function walk(node) {
    node = deref(node);
    if (!node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const code = deref(node.properties?.error?.properties?.code);
    if (code && code !== codeSchema) {
      if (typeof code.const === 'string') found.add(code.const);
      if (Array.isArray(code.enum)) code.enum.forEach((c) => found.add(c));
    }
    if (typeof node.error?.code === 'string') found.add(node.error.code); // an example
    // The Error schema's own example is not this response's.
    for (const [k, v] of Object.entries(node))
      if (!(node === errorSchema && k === 'examples')) walk(v);
  }
  walk(response);
  return found;
}

function checkResponse(where, status, response) {
  for (const c of codesOf(response)) {
    if (!table.has(c)) problems.push(`${where}: code "${c}" is not in src/core/errors.h`);
    else if (status && table.get(c) !== status)
      problems.push(`${where}: code "${c}" is answered with ${table.get(c)}, not ${status}`);
  }
}

for (const [name, r] of Object.entries(spec?.components?.responses ?? {}))
  checkResponse(`components.responses.${name}`, null, r);
for (const [path, item] of Object.entries(spec?.paths ?? {}))
  for (const [method, op] of Object.entries(item ?? {}))
    for (const [status, r] of Object.entries(op?.responses ?? {}))
      if (/^\d{3}$/.test(status))
        checkResponse(`${method.toUpperCase()} ${path} ${status}`, Number(status), r);
for (const [status, r] of Object.entries(spec['x-unmatched-responses'] ?? {}))
  checkResponse(`x-unmatched-responses ${status}`, Number(status), r);

for (const p of problems) console.error(`error-codes: ${p}`);
if (problems.length) {
  console.error(`error-codes: FAIL (${problems.length} problems)`);
  process.exit(1);
}
console.log(`error-codes: ok (${table.size} codes)`);
