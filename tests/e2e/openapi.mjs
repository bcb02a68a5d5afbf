// schemas/openapi.yaml as response validators: for (path template, method, status) find the
// documented response and validate a real answer against its JSON schema (OpenAPI 3.1 = JSON
// Schema 2020-12, through Ajv2020). `$ref`s to #/components/... and to external files
// (./collection_create.json) are resolved.
import fs from 'node:fs';
import path from 'node:path';

import { SOURCE_DIR, requirePackage } from './lib.mjs';

const YAML = requirePackage('yaml');
const Ajv2020 = requirePackage('ajv/dist/2020').default;
const addFormats = requirePackage('ajv-formats').default;

const BASE = 'https://paymux.invalid/schemas/';
const ROOT_ID = `${BASE}openapi.json`;

export const SPEC_PATH = path.join(SOURCE_DIR, 'schemas/openapi.yaml');

function clone(v) {
  return structuredClone(v);
}

/** Follows a local JSON pointer (#/a/b) in doc. */
function pointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local refs are supported here: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node == null || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
    node = node[key];
  }
  return node;
}

/** Rewrites every $ref of a schema tree to an absolute URI Ajv can resolve. */
function absolutize(node, externals) {
  if (Array.isArray(node)) return node.map((n) => absolutize(n, externals));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      if (v.startsWith('#/components/schemas/')) {
        out.$ref = `${ROOT_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
      } else if (v.startsWith('#')) {
        throw new Error(`unsupported $ref in a schema: ${v}`);
      } else {
        const [file, frag = ''] = v.split('#');
        const url = new URL(file, ROOT_ID).href;
        externals.add(url);
        out.$ref = frag ? `${url}#${frag}` : url;
      }
    } else {
      out[k] = absolutize(v, externals);
    }
  }
  return out;
}

export class OpenApi {
  constructor(specPath = SPEC_PATH) {
    this.specPath = specPath;
    this.spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
    this.ajv = this.#makeAjv();
    this.cache = new Map();
  }

  #makeAjv() {
    // strict: false because OpenAPI adds annotation keywords (example, discriminator, format int64).
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const externals = new Set();
    const defs = absolutize(clone(this.spec.components?.schemas ?? {}), externals);
    ajv.addSchema({ $id: ROOT_ID, $defs: defs });
    for (const url of externals) {
      const file = path.join(path.dirname(this.specPath), new URL(url).pathname.slice(new URL(BASE).pathname.length));
      const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
      // why: the request schemas are draft-04 files; as referenced schemas their keywords mean
      // the same in 2020-12 (no draft-04-only forms are used), only the meta-schema differs.
      delete schema.$schema;
      delete schema.id;
      ajv.addSchema({ ...schema, $id: url }, undefined, undefined, false);
    }
    return ajv;
  }

  /** The documented response object for a status (exact, then 4XX-style, then default), or null. */
  response(pathTemplate, method, status) {
    const item = this.spec.paths?.[pathTemplate];
    if (!item) throw new Error(`openapi.yaml has no path ${pathTemplate}`);
    const op = item[method.toLowerCase()];
    if (!op) throw new Error(`openapi.yaml has no ${method} ${pathTemplate}`);
    const s = String(status);
    let resp = op.responses?.[s] ?? op.responses?.[`${s[0]}XX`] ?? op.responses?.default ?? null;
    while (resp && resp.$ref) resp = pointer(this.spec, resp.$ref);
    return resp;
  }

  #validator(schema) {
    const key = JSON.stringify(schema);
    let v = this.cache.get(key);
    if (!v) {
      v = this.ajv.compile(absolutize(clone(schema), new Set()));
      this.cache.set(key, v);
    }
    return v;
  }

  /** A schema with its top-level local $ref followed (components/schemas only). */
  #deref(schema) {
    let s = schema;
    while (s && typeof s.$ref === 'string' && s.$ref.startsWith('#/')) s = pointer(this.spec, s.$ref);
    return s;
  }

  /**
   * Fields of a (valid) value that its schema does not mention, as JSON pointers. oneOf/anyOf
   * branches are chosen by validating against each; allOf members' properties are merged.
   */
  #undocumented(schema, value, at, out) {
    const s = this.#deref(schema);
    if (!s || typeof s !== 'object') return;
    for (const key of ['oneOf', 'anyOf']) {
      if (Array.isArray(s[key])) {
        const branch = s[key].find((b) => this.#validator(b)(value));
        if (branch) this.#undocumented(branch, value, at, out);
        return;
      }
    }
    if (Array.isArray(value)) {
      if (s.items) value.forEach((v, i) => this.#undocumented(s.items, v, `${at}/${i}`, out));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const props = { ...(s.properties ?? {}) };
    for (const member of s.allOf ?? []) Object.assign(props, this.#deref(member)?.properties ?? {});
    if (Object.keys(props).length === 0 || s.additionalProperties !== undefined) return;
    for (const [k, v] of Object.entries(value)) {
      if (k in props) this.#undocumented(props[k], v, `${at}/${k}`, out);
      else out.push(`${at}/${k}`);
    }
  }

  /**
   * Checks a real answer { status, headers, text, json } of METHOD pathTemplate. Returns
   * { problems: [...], undocumented: [...] }: problems make a test fail (undocumented status,
   * wrong media type, schema mismatch with Ajv's errors, missing X-Request-Id); undocumented lists
   * response fields the schema does not mention (informational).
   */
  check(pathTemplate, method, res) {
    const where = `${method} ${pathTemplate} -> ${res.status}`;
    const problems = [];
    const undocumented = [];
    const resp = this.response(pathTemplate, method, res.status);
    if (!resp) {
      problems.push(`${where}: status ${res.status} is not documented for this operation (body: ${res.text})`);
      return { problems, undocumented };
    }
    if (resp.headers?.['X-Request-Id'] && !res.headers.get('x-request-id')) {
      problems.push(`${where}: no X-Request-Id header`);
    }
    if (resp.headers?.['Retry-After'] && !res.headers.get('retry-after')) {
      problems.push(`${where}: no Retry-After header`);
    }
    const replayed = res.headers.get('idempotent-replayed');
    if (replayed !== null && replayed !== 'true') problems.push(`${where}: Idempotent-Replayed is "${replayed}"`);
    const media = resp.content ?? {};
    const types = Object.keys(media);
    if (types.length === 0) return { problems, undocumented };
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    const mediaType = types.find((t) => t.split(';')[0].trim().toLowerCase() === contentType);
    if (!mediaType) {
      problems.push(`${where}: Content-Type "${contentType}" is not one of the documented ${types.join(', ')}`);
      return { problems, undocumented };
    }
    const schema = media[mediaType].schema;
    if (!schema || !mediaType.startsWith('application/json')) return { problems, undocumented };
    if (res.json === null) {
      problems.push(`${where}: body is not JSON: ${res.text.slice(0, 200)}`);
      return { problems, undocumented };
    }
    const validate = this.#validator(schema);
    if (!validate(res.json)) {
      problems.push(`${where}: response does not match the schema in ${path.basename(this.specPath)}:\n` +
        `${this.ajv.errorsText(validate.errors, { separator: '\n', dataVar: 'body' })}\n` +
        `ajv errors:\n${validate.errors.map((e) => `  ${JSON.stringify(e)}`).join('\n')}\nbody: ${res.text}`);
    } else {
      const fields = [];
      this.#undocumented(schema, res.json, '', fields);
      for (const f of fields) undocumented.push(`${where}: ${f}`);
    }
    return { problems, undocumented: [...new Set(undocumented)] };
  }
}
