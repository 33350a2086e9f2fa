#!/usr/bin/env python3
"""Checks every line of hdump watch's output (files given) against
doc/watch-events.schema.json: one JSON object per line, each valid.
Prints "lines=N invalid=M" and one line per problem; exit 1 on any."""
import json
import os
import sys

import jsonschema

schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "doc",
                           "watch-events.schema.json")
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
lines = invalid = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            lines += 1
            try:
                obj = json.loads(raw.decode("utf-8"))
                errors = sorted(validator.iter_errors(obj), key=str)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                errors = [e]
            if errors:
                invalid += 1
                print(f"{path}:{n}: " + str(errors[0]).splitlines()[0][:300])
print(f"lines={lines} invalid={invalid}")
sys.exit(1 if invalid or not lines else 0)
