#!/usr/bin/env python3
"""Extracts the request schemas the Adyen simulator validates against from Adyen's OpenAPI files.

Development-time only (the build reads the generated *.schema.json files, never this script):
    python3 extract_schemas.py [/path/to/adyen-openapi/json]   # default: /work/shared/providers/adyen

For each root schema it copies the schema and everything it $refs (transitively) into one
JSON Schema draft-04 document, the refs rewritten to "#/definitions/<Name>", so RapidJSON 1.1's
SchemaDocument resolves them without a remote provider. OpenAPI-only keywords that draft-04 does
not know are dropped (discriminator, deprecated, example(s), x-*), as are descriptions (size) and
the siblings of a $ref (draft-04 ignores them anyway). Nothing else that constrains a value is
changed; the one deliberate relaxation is in patch() below.
"""
import json
import os
import sys

SOURCES = [
    # (OpenAPI file, root schema, output file)
    ("CheckoutService-v71.json", "PaymentRequest", "PaymentRequest.schema.json"),
    ("TransferService-v4.json", "TransferInfo", "TransferInfo.schema.json"),
]
PREFIX = "#/components/schemas/"
DROPPED = {"description", "discriminator", "deprecated", "example", "examples"}


def convert(node, refs):
    if isinstance(node, list):
        return [convert(x, refs) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith(PREFIX):
            raise ValueError("unsupported $ref " + ref)
        name = ref[len(PREFIX):]
        refs.add(name)
        return {"$ref": "#/definitions/" + name}
    out = {}
    for key, value in node.items():
        if key in DROPPED or key.startswith("x-"):
            continue
        if key in ("properties", "definitions"):
            # why: property names are data, not keywords ("description" may be a real field).
            out[key] = {k: convert(v, refs) for k, v in value.items()}
        elif key == "enum":
            out[key] = value
        else:
            out[key] = convert(value, refs)
    return out


def patch(definitions):
    """The one deliberate relaxation, so the simulator accepts what Adyen's live API accepts."""
    sepa = definitions.get("SepaDirectDebitDetails")
    if sepa is not None and sepa.get("required") == ["iban", "ownerName"]:
        # why: Adyen's tokenization docs pay with a stored SEPA mandate as {"type":
        # "sepadirectdebit", "storedPaymentMethodId": ...} and no IBAN, which the OpenAPI file
        # (required: iban, ownerName) forbids. Accept either shape, nothing looser.
        del sepa["required"]
        sepa["anyOf"] = [{"required": ["iban", "ownerName"]}, {"required": ["storedPaymentMethodId"]}]


def extract(spec_path, root):
    with open(spec_path, encoding="utf-8") as f:
        schemas = json.load(f)["components"]["schemas"]
    definitions, todo, referenced = {}, [root], set()
    while todo:
        name = todo.pop()
        if name in definitions:
            continue
        refs = set()
        definitions[name] = convert(schemas[name], refs)
        referenced |= refs
        todo.extend(sorted(refs - definitions.keys()))
    patch(definitions)
    # why: the root schema is the document itself (not a top-level $ref), the simplest shape for
    # RapidJSON; it stays under definitions only if something refers back to it.
    doc = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "description": "Adyen %s from Adyen/adyen-openapi json/%s (MIT, see LICENSE); generated "
                       "by extract_schemas.py, do not edit." % (root, os.path.basename(spec_path)),
    }
    doc.update(definitions[root])
    if root not in referenced:
        del definitions[root]
    doc["definitions"] = dict(sorted(definitions.items()))
    return doc


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/providers/adyen"
    here = os.path.dirname(os.path.abspath(__file__))
    for spec, root, out in SOURCES:
        doc = extract(os.path.join(src, spec), root)
        with open(os.path.join(here, out), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=False)
            f.write("\n")
        print("%s: %d definitions" % (out, len(doc["definitions"])))


if __name__ == "__main__":
    main()
