#!/usr/bin/env node
// lint-asyncapi.mjs - lint asyncapi.yaml, the WebSocket contract.
//
//   node tests/contract/lint-asyncapi.mjs [--spec FILE]
//
// 1. @asyncapi/parser (pinned in package-lock.json) parses the document,
//    its references into openapi.yaml resolved, and validates it against
//    the AsyncAPI specification and its ruleset: each diagnostic is
//    printed; any error fails the lint.
// 2. A push's data that is a REST object plus fields of its own (a trade
//    plus its symbol, a candle plus symbol and interval) cannot $ref the
//    REST schema (that one refuses additional properties), so it lists
//    the properties itself and names the REST schema in `x-rest-schema`.
//    For each such schema: every property of the REST schema is here as a
//    $ref to exactly that property, `required` holds the REST schema's
//    required ones, and additionalProperties is the same: the copy cannot
//    drift from openapi.yaml.  (The other pushes $ref the REST schema
//    whole.)
// Prints "lint-asyncapi: ok (...)" or the problems and exits 1; 2 on a
// usage error.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, fromFile } from '@asyncapi/parser';
import { loadSpec } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
let specPath = resolve(HERE, '../../asyncapi.yaml');
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--spec' && i + 1 < args.length) specPath = resolve(args[++i]);
  else {
    console.error('usage: lint-asyncapi.mjs [--spec asyncapi.yaml]');
    process.exit(2);
  }
}

const problems = [];

// ------------------------------------------------------------- 1. parser

const SEVERITY = ['error', 'warning', 'info', 'hint'];
const counts = [0, 0, 0, 0];
const { document, diagnostics } = await fromFile(new Parser(), specPath).parse();
for (const d of diagnostics) {
  counts[d.severity]++;
  const where = d.path?.length ? d.path.join('.') : '(document)';
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  console.log(`${SEVERITY[d.severity] ?? d.severity} ${d.code} ${specPath}${line} ${where}: ${d.message}`);
}
if (counts[0] > 0 || !document) problems.push(`the parser found ${counts[0]} error(s)`);

// ---------------------------------------- 2. REST schemas with additions

let spec;
let openapi;
let openapiRef = null;
try {
  spec = loadSpec(specPath);
} catch (e) {
  problems.push(`cannot read ${specPath}: ${e.message}`);
}
let derived = 0;
for (const [name, schema] of Object.entries(spec?.components?.schemas ?? {})) {
  const base = schema['x-rest-schema'];
  if (base === undefined) continue;
  derived++;
  const where = `components.schemas.${name}`;
  const props = schema.properties ?? {};
  // The REST schema, through the file the properties' $refs name.
  const refs = Object.values(props).map((p) => p?.$ref).filter((r) => typeof r === 'string' && r.includes(`#/components/schemas/${base}/properties/`));
  if (refs.length === 0) {
    problems.push(`${where}: x-rest-schema ${base}, but no property refers to ${base}'s properties`);
    continue;
  }
  const file = refs[0].slice(0, refs[0].indexOf('#'));
  if (openapiRef === null) {
    openapiRef = file;
    try {
      openapi = loadSpec(resolve(dirname(specPath), file));
    } catch (e) {
      problems.push(`${where}: cannot read ${file}: ${e.message}`);
      break;
    }
  }
  const rest = openapi?.components?.schemas?.[base];
  if (!rest) {
    problems.push(`${where}: x-rest-schema ${base} is not a schema of ${file}`);
    continue;
  }
  const prefix = `${file}#/components/schemas/${base}/properties/`;
  for (const p of Object.keys(rest.properties ?? {})) {
    if (!(p in props)) problems.push(`${where}: lacks ${base}'s property ${p}`);
    else if (props[p]?.$ref !== prefix + p) problems.push(`${where}.properties.${p} must be {$ref: '${prefix + p}'}`);
  }
  for (const [p, s] of Object.entries(props)) {
    if (typeof s?.$ref === 'string' && s.$ref.startsWith(prefix) && s.$ref !== prefix + p)
      problems.push(`${where}.properties.${p} refers to another property (${s.$ref})`);
  }
  for (const r of rest.required ?? []) if (!(schema.required ?? []).includes(r)) problems.push(`${where}: required lacks ${base}'s ${r}`);
  if (JSON.stringify(schema.additionalProperties) !== JSON.stringify(rest.additionalProperties))
    problems.push(`${where}: additionalProperties differs from ${base}'s`);
  if (schema.type !== rest.type) problems.push(`${where}: type differs from ${base}'s`);
}

for (const p of problems) console.log(`lint-asyncapi: ${p}`);
if (problems.length) {
  console.log(`lint-asyncapi: FAIL ${specPath} (${problems.length} problem(s))`);
  process.exit(1);
}
const version = document.version();
console.log(
  `lint-asyncapi: ok (AsyncAPI ${version}: ${document.channels().length} channels, ${document.operations().length} operations, ` +
    `${document.messages().length} messages; ${derived} schemas checked against openapi.yaml; ` +
    `${counts[1]} warnings, ${counts[2]} infos)`,
);
