#!/usr/bin/env python3
"""Writes random templates and what Python's jinja2 renders from them.

Usage: random.py SEED COUNT. The first line of the output is the variables
({"vars": {...}}); each further line is {"src", "out"} or {"src", "err"}.
TestRandomAgainstJinja2 renders the same templates with package jinja
and compares. The templates mix every expression, filter, test and tag the
package supports, with whitespace control, so that they reach corners a
hand-written corpus does not. The filters whose results jinja2 marks safe
(escape, tojson) are left out: a list holding one prints Markup('...').
"""

import copy
import json
import random
import sys

from jinja2.sandbox import SandboxedEnvironment

env = SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True)
VARS = {"n": 3, "f": 2.5, "z": 0, "s": "Hello World", "e": "", "l": [1, "two", 3.0, None, True], "d": {"b": 1, "a": [1, 2], "c": {"x": "y"}}, "t": True, "no": None, "u": "ümlaut ß", "nums": [3, 1, 2], "words": ["b", "A", "c"]}
atoms = ["n", "f", "z", "s", "e", "l", "d", "t", "no", "u", "nums", "words", "missing", "d.a", "d.c.x", "d['b']", "l[1]", "l[-1]", "l[1:3]", "s[::2]", "1", "0", "-2", "2.0", "1e3", "'x'", "\"q'uote\"", "[1, 'a']", "{'k': 1}", "(1, 2)", "none", "true", "False", "d.missing", "range(3)", "loop.index"]
binops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or", "**"]
filters = ["length", "upper", "lower", "trim", "first", "last", "list", "join(', ')", "join", "default('D')", "default('D', true)", "string", "int", "float", "abs", "reverse|list", "sort", "sum", "capitalize", "replace('l', 'L')", "items|list", "count", "indent(2)", "d"]
tests = ["defined", "undefined", "none", "string", "number", "mapping", "sequence", "even", "odd", "divisibleby(2)", "iterable", "integer", "float", "boolean", "lower", "upper", "true", "false", "in([1, 2])"]
def expr(depth=0):
    r = random.random()
    if depth > 2 or r < 0.35:
        return random.choice(atoms)
    if r < 0.55:
        return f"{expr(depth+1)} {random.choice(binops)} {expr(depth+1)}"
    if r < 0.7:
        return f"{expr(depth+1)}|{random.choice(filters)}"
    if r < 0.8:
        return f"{expr(depth+1)} is {random.choice(['', 'not '])}{random.choice(tests)}"
    if r < 0.88:
        return f"not {expr(depth+1)}"
    if r < 0.94:
        return f"({expr(depth+1)} if {expr(depth+1)} else {expr(depth+1)})"
    return f"[{expr(depth+1)}, {expr(depth+1)}]"
def tmpl(depth=0):
    parts = []
    for _ in range(random.randint(1, 4)):
        r = random.random()
        ws = random.choice(["", "-"])
        ws2 = random.choice(["", "-"])
        nl = random.choice(["", "\n", " \n", "\n\n", "  "])
        if r < 0.4 or depth > 1:
            parts.append(f"{nl}{{{{{ws} {expr()} {ws2}}}}}{random.choice(['', chr(10), ' x '])}")
        elif r < 0.6:
            parts.append(f"{{%{ws} if {expr()} {ws2}%}}{nl}{tmpl(depth+1)}{{% else %}}{nl}{tmpl(depth+1)}{{% endif %}}{nl}")
        elif r < 0.8:
            it = random.choice(["l", "d", "s", "nums", "d.items()", "range(2)", "missing", "words"])
            tgt = "k, v" if it == "d.items()" else "x"
            parts.append(f"{{%{ws} for {tgt} in {it} {ws2}%}}{nl}[{{{{ {tgt.split(',')[0]} }}}}|{{{{ loop.index }}}}]{tmpl(depth+1)}{{% else %}}E{{% endfor %}}{nl}")
        elif r < 0.9:
            parts.append(f"{{% set v1 = {expr()} %}}{nl}{{{{ v1 }}}}")
        else:
            parts.append(f"{{# c #}}{nl}text {{{{ {expr()} }}}}")
    return "".join(parts)
def main():
    random.seed(int(sys.argv[1]))
    print(json.dumps({"vars": VARS}))
    for _ in range(int(sys.argv[2])):
        src = tmpl()
        try:
            # A copy: indent appends to a list before it fails.
            out = env.from_string(src).render(**copy.deepcopy(VARS))
            print(json.dumps({"src": src, "out": out}))
        except Exception as e:  # every jinja2 failure is an expected error
            print(json.dumps({"src": src, "err": f"{type(e).__name__}: {e}"}))


if __name__ == "__main__":
    main()
