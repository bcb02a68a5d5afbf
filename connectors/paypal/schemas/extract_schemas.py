#!/usr/bin/env python3
"""Extracts request schemas from PayPal's official OpenAPI 3.0 documents into JSON Schema
draft-04 files that RapidJSON 1.1's SchemaValidator can use (the PayPal simulator validates the
connector's requests against them).

Run at development time, from the repository root:
  python3 connectors/paypal/schemas/extract_schemas.py /work/shared/providers/paypal

What it does to each root schema:
  - follows every "#/components/schemas/X" $ref transitively and copies X into "definitions",
    rewriting the $ref to "#/definitions/X" (RapidJSON resolves local JSON pointers only);
  - drops OpenAPI-only and annotation keywords (description, example, deprecated, ...) at schema
    level, never inside "properties" maps, whose keys are field names;
  - keeps every validation keyword as published (type, required, enum, min/maxLength, pattern,
    allOf, ...). Patterns RapidJSON's regex engine cannot compile are ignored by RapidJSON at
    load time, so they weaken but never break validation.
"""
import json
import os
import sys

SOURCES = [
    # (OpenAPI file, root schema, output file)
    ("checkout_orders_v2.json", "order_request", "order_request.schema.json"),
    ("payments_payouts_batch_v1.json", "create_payout_request", "create_payout_request.schema.json"),
]
ANNOTATIONS = {"description", "example", "examples", "externalDocs", "deprecated", "nullable",
               "discriminator", "xml", "readOnly", "writeOnly"}
PREFIX = "#/components/schemas/"


def rewrite(node, found):
    """Copy of a schema node with refs rewritten and annotations dropped."""
    if isinstance(node, list):
        return [rewrite(item, found) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "$ref":
            assert value.startswith(PREFIX), value
            name = value[len(PREFIX):]
            found.add(name)
            out[key] = "#/definitions/" + name
        elif key == "properties":
            out[key] = {field: rewrite(schema, found) for field, schema in value.items()}
        else:
            out[key] = rewrite(value, found)
    return out


def extract(spec_dir, spec_file, root, output):
    with open(os.path.join(spec_dir, spec_file)) as f:
        spec = json.load(f)
    schemas = spec["components"]["schemas"]
    found = set()
    top = rewrite(schemas[root], found)
    definitions = {}
    pending = sorted(found)
    while pending:
        name = pending.pop()
        if name in definitions:
            continue
        refs = set()
        definitions[name] = rewrite(schemas[name], refs)
        pending.extend(sorted(refs - set(definitions)))
    doc = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "description": "Extracted by extract_schemas.py from paypal/paypal-rest-api-specifications "
                       "openapi/%s (%s %s), components.schemas.%s. Apache-2.0, see LICENSE."
                       % (spec_file, spec["info"]["title"], spec["info"]["version"], root),
    }
    doc.update(top)
    doc["definitions"] = dict(sorted(definitions.items()))
    with open(output, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False, ensure_ascii=True)
        f.write("\n")
    print("%s: %d definitions" % (output, len(definitions)))


def main():
    spec_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/providers/paypal"
    here = os.path.dirname(os.path.abspath(__file__))
    for spec_file, root, output in SOURCES:
        extract(spec_dir, spec_file, root, os.path.join(here, output))


if __name__ == "__main__":
    main()
