#!/usr/bin/env node
// Checks the request JSON Schemas in schemas/ without any npm package:
//  1. every schemas/*.json parses, declares draft-04 and a title, and uses only keywords and
//     regex syntax that RapidJSON 1.1's SchemaValidator implements (the C++ side validates with
//     it, and it silently ignores unknown keywords and drops patterns it cannot compile);
//  2. the examples in schema_examples.json are accepted / rejected as listed, and each rejection
//     names the expected field (`param`, a dotted path as in API.md's errors).
// Usage: node tests/lint/schema_examples.js [source dir]   (exit 0 = all good)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(process.argv[2] || path.join(__dirname, '..', '..'));
const schemaDir = path.join(root, 'schemas');
const examplesFile = path.join(__dirname, 'schema_examples.json');
const DRAFT04 = 'http://json-schema.org/draft-04/schema#';

let failures = 0;
function fail(msg) {
  failures++;
  console.error('FAIL ' + msg);
}

// Draft-04 validation keywords (RapidJSON 1.1 implements all of them except `format`, which it
// ignores) plus annotations. Anything else (const, propertyNames, if/then/else, contains,
// examples, $id, ...) is a later draft and would be silently ignored by RapidJSON.
const KEYWORDS = new Set([
  '$schema', 'id', 'title', 'description', 'default', 'definitions', '$ref', 'format',
  'type', 'enum', 'allOf', 'anyOf', 'oneOf', 'not',
  'multipleOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minLength', 'maxLength', 'pattern',
  'items', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems',
  'properties', 'patternProperties', 'additionalProperties', 'required', 'dependencies',
  'minProperties', 'maxProperties',
]);
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'string', 'integer']);

// RapidJSON's internal regex (internal/regex.h) supports literals, . [] [^] ranges, | () ? * +
// {m} {m,} {m,n}, ^ $, and escapes of the metacharacters plus \f \n \r \t \v. It has no \d \w
// \s \b classes, no (?...) groups, no lazy quantifiers and no back-references.
function checkPatternSyntax(p, where) {
  try {
    new RegExp(p, 'u');
  } catch (e) {
    fail(`${where}: pattern does not compile: ${e.message}`);
    return;
  }
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') {
      const c = p[++i];
      if (!'^$|()?*+.[]{}\\/-fnrtv'.includes(c)) {
        fail(`${where}: pattern escape \\${c} is not supported by RapidJSON's regex`);
      }
    } else if (p[i] === '(' && p[i + 1] === '?') {
      fail(`${where}: (?...) groups are not supported by RapidJSON's regex`);
    } else if ((p[i] === '*' || p[i] === '+' || p[i] === '?' || p[i] === '}') && p[i + 1] === '?') {
      fail(`${where}: lazy quantifiers are not supported by RapidJSON's regex`);
    }
  }
}

function checkSchemaKeywords(s, where) {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    fail(`${where}: a schema must be an object`);
    return;
  }
  for (const [k, v] of Object.entries(s)) {
    const at = `${where}/${k}`;
    if (!KEYWORDS.has(k)) fail(`${at}: keyword not in draft-04 / not implemented by RapidJSON 1.1`);
    if (k === '$ref' && !/^#(\/|$)/.test(v)) fail(`${at}: only local $ref (#/...) is allowed`);
    if (k === 'exclusiveMinimum' || k === 'exclusiveMaximum') {
      if (typeof v !== 'boolean') fail(`${at}: must be a boolean in draft-04`);
    }
    if (k === 'type') {
      for (const t of [].concat(v)) if (!TYPES.has(t)) fail(`${at}: unknown type ${t}`);
    }
    if (k === 'required' && (!Array.isArray(v) || v.length === 0)) {
      fail(`${at}: draft-04 requires a non-empty array`);
    }
    if (k === 'pattern') checkPatternSyntax(v, at);
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      for (const [name, sub] of Object.entries(v)) {
        if (k === 'patternProperties') checkPatternSyntax(name, `${at}/${name}`);
        checkSchemaKeywords(sub, `${at}/${name}`);
      }
    }
    if ((k === 'additionalProperties' || k === 'additionalItems') && typeof v === 'object') {
      checkSchemaKeywords(v, at);
    }
    if (k === 'items') {
      if (Array.isArray(v)) v.forEach((sub, i) => checkSchemaKeywords(sub, `${at}/${i}`));
      else checkSchemaKeywords(v, at);
    }
    if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') {
      if (!Array.isArray(v) || v.length === 0) fail(`${at}: must be a non-empty array`);
      else v.forEach((sub, i) => checkSchemaKeywords(sub, `${at}/${i}`));
    }
    if (k === 'not') checkSchemaKeywords(v, at);
    if (k === 'dependencies') {
      for (const [name, dep] of Object.entries(v)) {
        if (!Array.isArray(dep)) checkSchemaKeywords(dep, `${at}/${name}`);
      }
    }
  }
}

// ---- a small draft-04 validator, enough for the keywords above ----

function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;  // boolean, number, string, object
}

function hasType(v, t) {
  const actual = typeOf(v);
  if (t === 'integer') return actual === 'number' && Number.isInteger(v);
  return actual === t;
}

// Returns a list of {path: [segments], keyword}. Like RapidJSON, a failing anyOf / oneOf / not
// reports itself at the current location, not the errors of its branches.
function validate(schema, v, rootSchema, p = []) {
  const errs = [];
  const err = (keyword, at = p) => errs.push({path: at, keyword});
  if (schema.$ref) {
    const target = schema.$ref.slice(2).split('/').filter(Boolean)
        .reduce((s, seg) => s[seg.replace(/~1/g, '/').replace(/~0/g, '~')], rootSchema);
    return validate(target, v, rootSchema, p);
  }
  if (schema.type !== undefined && ![].concat(schema.type).some((t) => hasType(v, t))) {
    err('type');
    return errs;
  }
  if (schema.enum && !schema.enum.some((e) => canonical(e) === canonical(v))) err('enum');
  for (const sub of schema.allOf || []) errs.push(...validate(sub, v, rootSchema, p));
  if (schema.anyOf && !schema.anyOf.some((sub) => validate(sub, v, rootSchema, p).length === 0)) {
    err('anyOf');
  }
  if (schema.oneOf &&
      schema.oneOf.filter((sub) => validate(sub, v, rootSchema, p).length === 0).length !== 1) {
    err('oneOf');
  }
  if (schema.not && validate(schema.not, v, rootSchema, p).length === 0) err('not');

  if (typeof v === 'number') {
    if (schema.minimum !== undefined &&
        (schema.exclusiveMinimum ? v <= schema.minimum : v < schema.minimum)) err('minimum');
    if (schema.maximum !== undefined &&
        (schema.exclusiveMaximum ? v >= schema.maximum : v > schema.maximum)) err('maximum');
    if (schema.multipleOf !== undefined && !Number.isInteger(v / schema.multipleOf)) err('multipleOf');
  }
  if (typeof v === 'string') {
    const len = [...v].length;  // code points, as RapidJSON counts
    if (schema.minLength !== undefined && len < schema.minLength) err('minLength');
    if (schema.maxLength !== undefined && len > schema.maxLength) err('maxLength');
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(v)) err('pattern');
  }
  if (Array.isArray(v)) {
    if (schema.minItems !== undefined && v.length < schema.minItems) err('minItems');
    if (schema.maxItems !== undefined && v.length > schema.maxItems) err('maxItems');
    if (schema.uniqueItems && new Set(v.map(canonical)).size !== v.length) err('uniqueItems');
    v.forEach((item, i) => {
      let sub = schema.items;
      if (Array.isArray(schema.items)) {
        sub = i < schema.items.length ? schema.items[i] : schema.additionalItems;
        if (sub === false) return err('additionalItems', p.concat(i));
      }
      if (sub && typeof sub === 'object') errs.push(...validate(sub, item, rootSchema, p.concat(i)));
    });
  }
  if (typeOf(v) === 'object') {
    const keys = Object.keys(v);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) err('minProperties');
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) err('maxProperties');
    for (const name of schema.required || []) {
      if (!(name in v)) err('required', p.concat(name));
    }
    for (const [name, dep] of Object.entries(schema.dependencies || {})) {
      if (!(name in v)) continue;
      if (Array.isArray(dep)) {
        for (const d of dep) if (!(d in v)) err('dependencies', p.concat(d));
      } else {
        errs.push(...validate(dep, v, rootSchema, p));
      }
    }
    for (const k of keys) {
      let matched = false;
      if (schema.properties && Object.prototype.hasOwnProperty.call(schema.properties, k)) {
        matched = true;
        errs.push(...validate(schema.properties[k], v[k], rootSchema, p.concat(k)));
      }
      for (const [pat, sub] of Object.entries(schema.patternProperties || {})) {
        if (new RegExp(pat, 'u').test(k)) {
          matched = true;
          errs.push(...validate(sub, v[k], rootSchema, p.concat(k)));
        }
      }
      if (!matched && schema.additionalProperties !== undefined) {
        if (schema.additionalProperties === false) err('additionalProperties', p.concat(k));
        else if (typeof schema.additionalProperties === 'object') {
          errs.push(...validate(schema.additionalProperties, v[k], rootSchema, p.concat(k)));
        }
      }
    }
  }
  return errs;
}

function dotted(segments) {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : (i ? '.' : '') + s)).join('');
}

// ---- main ----

const schemas = {};
for (const file of fs.readdirSync(schemaDir).filter((f) => f.endsWith('.json')).sort()) {
  const where = `schemas/${file}`;
  let s;
  try {
    s = JSON.parse(fs.readFileSync(path.join(schemaDir, file), 'utf8'));
  } catch (e) {
    fail(`${where}: not valid JSON: ${e.message}`);
    continue;
  }
  if (s.$schema !== DRAFT04) fail(`${where}: "$schema" must be "${DRAFT04}"`);
  if (typeof s.title !== 'string' || !s.title) fail(`${where}: needs a title`);
  checkSchemaKeywords(s, where);
  schemas[file] = s;
}

const examples = JSON.parse(fs.readFileSync(examplesFile, 'utf8'));
let checked = 0;
for (const [file, set] of Object.entries(examples)) {
  if (file === 'description') continue;
  const schema = schemas[file];
  if (!schema) {
    fail(`schema_examples.json names ${file}, which is not in schemas/`);
    continue;
  }
  if (!set.valid || !set.valid.length || !set.invalid || !set.invalid.length) {
    fail(`schema_examples.json: ${file} needs both valid and invalid examples`);
  }
  (set.valid || []).forEach((doc, i) => {
    checked++;
    const errs = validate(schema, doc, schema);
    if (errs.length) {
      fail(`${file} valid[${i}] rejected: ` +
           errs.map((e) => `${dotted(e.path) || '(root)'}: ${e.keyword}`).join(', '));
    }
  });
  (set.invalid || []).forEach(({param, doc}, i) => {
    checked++;
    const errs = validate(schema, doc, schema);
    if (!errs.length) fail(`${file} invalid[${i}] (${param}) accepted`);
    else if (!errs.some((e) => dotted(e.path) === param)) {
      fail(`${file} invalid[${i}] rejected, but not at "${param}": ` +
           errs.map((e) => `${dotted(e.path) || '(root)'}: ${e.keyword}`).join(', '));
    }
  });
}
for (const file of Object.keys(schemas)) {
  if (!(file in examples)) console.warn(`note: schemas/${file} has no examples in tests/lint/schema_examples.json`);
}

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log(`schemas ok: ${Object.keys(schemas).length} schemas, ${checked} examples`);
