// lib.mjs - what the contract validators share: reading a spec, resolving
// its local references, one Ajv setup (JSON Schema 2020-12, strict, all
// errors, formats), openapi.yaml's schemas as one schema resource, and
// Ajv's errors as one line each.
//
//   validate.mjs     recorded HTTP exchanges against openapi.yaml
//   validate-ws.mjs  recorded WebSocket messages against asyncapi.yaml
//
// Both load openapi.yaml's components/schemas through openApiSchemas(), so a
// REST object and the WebSocket push that carries it are checked by the
// same compiled schema.

import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

// The schema resource openapi.yaml's components/schemas become.
export const OPENAPI_ID = 'urn:tradedesk:openapi';

// A YAML (or JSON) spec file as a plain object; throws with the reason.
export function loadSpec(path) {
  const doc = parseYaml(readFileSync(path, 'utf8'));
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a YAML mapping');
  return doc;
}

// deref(node): node, or what its local "#/a/b" reference (refs to refs
// followed) points to in spec.
export function derefIn(spec) {
  return function deref(node) {
    const seen = new Set();
    while (node && typeof node === 'object' && typeof node.$ref === 'string') {
      const ref = node.$ref;
      if (!ref.startsWith('#/') || seen.has(ref)) throw new Error(`unsupported or circular $ref ${ref}`);
      seen.add(ref);
      let cur = spec;
      for (const raw of ref.slice(2).split('/')) {
        const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        cur = cur?.[key];
      }
      if (cur === undefined) throw new Error(`unresolved $ref ${ref}`);
      node = cur;
    }
    return node;
  };
}

// The validators' command line: --spec FILE (or --spec=FILE),
// --no-coverage, --verbose (-v), -h/--help, each flag of `flags` (set to
// true), and at most one input file ("-" is stdin).  usage(msg) is called
// on anything else and must exit.
export function parseOptions(argv, { spec, flags = [], usage }) {
  const o = { spec, coverage: true, verbose: false, input: null };
  for (const f of flags) o[f.replace(/^--/, '')] = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-coverage') o.coverage = false;
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (flags.includes(a)) o[a.slice(2)] = true;
    else if (a === '--spec') {
      if (i + 1 >= argv.length) usage('--spec needs a file');
      o.spec = argv[++i];
    } else if (a.startsWith('--spec=')) o.spec = a.slice(7);
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-') && a !== '-') usage(`unknown option ${a}`);
    else if (o.input === null) o.input = a;
    else usage('only one recording');
  }
  return o;
}

export function newAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

// A copy of a schema for Ajv: each $ref rewritten by the first of
// prefixes ([from, to] pairs) it starts with (a ref no prefix matches is an
// error), and specification extensions (x-...) left out.
export function rewriteRefs(node, prefixes) {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, prefixes));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-')) continue;
    if (k === '$ref' && typeof v === 'string') {
      const p = prefixes.find(([from]) => v.startsWith(from));
      if (!p) throw new Error(`schema $ref ${v} must start with ${prefixes.map(([from]) => from).join(' or ')}`);
      out.$ref = p[1] + v.slice(p[0].length);
    } else out[k] = rewriteRefs(v, prefixes);
  }
  return out;
}

// openapi.yaml's components/schemas as the $defs of the resource
// OPENAPI_ID, each compiled now (so a schema Ajv's strict mode refuses
// fails the run even when nothing uses it).  Other schemas refer to them
// as `${OPENAPI_ID}#/$defs/NAME`.  Throws on a schema that does not compile.
export function openApiSchemas(ajv, spec) {
  const schemas = spec.components?.schemas ?? {};
  ajv.addSchema({ $id: OPENAPI_ID, $defs: rewriteRefs(schemas, [['#/components/schemas/', '#/$defs/']]) });
  for (const name of Object.keys(schemas)) {
    if (!ajv.getSchema(`${OPENAPI_ID}#/$defs/${name}`)) throw new Error(`cannot compile schema ${name}`);
  }
}

// Ajv's errors as "WHERE/instance/path message" lines.  A failed nullable
// `oneOf: [X, {type: null}]` is reported as what X says (or "must be string
// or null") instead of one line per branch plus the oneOf itself; a failed
// `if` by what its then/else says.
export function ajvErrors(errors, where) {
  let list = errors ?? [];
  const alts = new Set(list.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const at of alts) {
    const here = list.filter((e) => e.instancePath === at);
    const types = here.filter((e) => e.keyword === 'type');
    const explained = here.some((e) => e.keyword !== 'type' && e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
    const merged = explained
      ? types.filter((e) => e.params.type !== 'null')
      : types.length > 1
        ? [{ ...types[0], message: `must be ${types.map((e) => e.params.type).join(' or ')}` }]
        : types;
    const keepAlt = !explained && types.length === 0;
    list = list.filter((e) => e.instancePath !== at || (e.keyword !== 'type' && (keepAlt || (e.keyword !== 'oneOf' && e.keyword !== 'anyOf'))));
    list.push(...merged);
  }
  // An if/then/else adds "must match "then" schema" to the reasons it gives.
  if (list.some((e) => e.keyword !== 'if')) list = list.filter((e) => e.keyword !== 'if');
  return list.map((e) => {
    let msg = e.keyword === 'false schema' ? 'is not allowed here' : (e.message ?? 'is invalid');
    if (e.keyword === 'additionalProperties') msg += ` ('${e.params.additionalProperty}')`;
    else if (e.keyword === 'enum') msg += ` (${e.params.allowedValues.map((x) => JSON.stringify(x)).join(', ')})`;
    else if (e.keyword === 'const') msg += ` (${JSON.stringify(e.params.allowedValue)})`;
    return `${where}${e.instancePath} ${msg}`;
  });
}

// Checks a recording, one JSON value a line (blank lines skipped):
// check(value) returns {label, problems}; a line passes when problems is
// empty.  Prints "FAIL FILE:LINE: LABEL: PROBLEM" per problem (and "ok ..."
// per passing line when verbose) and a failure when no line holds anything
// ("holds no NOUN").  A check that throws fails its line, labelled
// label(value).  Exits 2 when the file cannot be read.  Returns the
// counts; the caller adds its own failures and prints the summary.
export function checkRecording(inputPath, check, { verbose = false, noun = 'line', label = () => '?' } = {}) {
  let text;
  try {
    text = readFileSync(inputPath === '-' ? 0 : inputPath, 'utf8');
  } catch (e) {
    console.error(`validate: cannot read ${inputPath}: ${e.message}`);
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  let lines = 0;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    lines++;
    const at = `${inputPath}:${i + 1}`;
    let value;
    try {
      value = JSON.parse(line);
    } catch (e) {
      failed++;
      console.log(`FAIL ${at}: not valid JSON: ${e.message}`);
      return;
    }
    let res;
    try {
      res = check(value);
    } catch (e) {
      res = { label: label(value), problems: [`cannot check: ${e.message}`] };
    }
    const problems = [...new Set(res.problems)];
    if (problems.length === 0) {
      passed++;
      if (verbose) console.log(`ok   ${at}: ${res.label}`);
    } else {
      failed++;
      for (const p of problems) console.log(`FAIL ${at}: ${res.label}: ${p}`);
    }
  });
  if (lines === 0) {
    failed++;
    console.log(`FAIL ${inputPath}: holds no ${noun}; the contract check covered nothing`);
  }
  return { passed, failed };
}
