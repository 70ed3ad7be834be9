#!/usr/bin/env python3
"""Renders the fidelity corpus with Python's jinja2, as prompt flow does.

For each testdata/fidelity/NAME.jinja2 (with its variables in NAME.json,
a JSON object, when there is one) this writes what jinja2 renders to
NAME.out, or, when jinja2 raises, the exception's type and message to
NAME.err. TestFidelity in fidelity_test.go renders the same templates with
package jinja and compares byte for byte.

The environment is prompt flow's render_jinja_template:
SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True).

Run it with `make jinja-corpus` from the repository root.
"""

import glob
import json
import os
import sys

import jinja2
from jinja2.sandbox import SandboxedEnvironment

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fidelity")


def main():
    env = SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True)
    count = 0
    for path in sorted(glob.glob(os.path.join(HERE, "*.jinja2"))):
        base = path[: -len(".jinja2")]
        # newline="" keeps "\r\n" in the sources, so that the corpus tests
        # how jinja2 treats them.
        with open(path, encoding="utf-8", newline="") as f:
            src = f.read()
        variables = {}
        if os.path.exists(base + ".json"):
            with open(base + ".json", encoding="utf-8") as f:
                variables = json.load(f)
        for stale in (base + ".out", base + ".err"):
            if os.path.exists(stale):
                os.remove(stale)
        try:
            text = env.from_string(src).render(**variables)
        except Exception as e:  # every jinja2 failure is an expected error
            with open(base + ".err", "w", encoding="utf-8", newline="") as f:
                f.write(f"{type(e).__name__}: {e}\n")
        else:
            with open(base + ".out", "w", encoding="utf-8", newline="") as f:
                f.write(text)
        count += 1
    print(f"rendered {count} templates with jinja2 {jinja2.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
