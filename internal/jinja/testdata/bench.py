#!/usr/bin/env python3
"""Times Python's jinja2 rendering the chat prompt that BenchmarkRenderChat
renders, in prompt flow's environment, to compare with weir:

    python3 internal/jinja/testdata/bench.py
    go test -run=NONE -bench=RenderChat ./internal/jinja
"""

import json
import os
import timeit

from jinja2.sandbox import SandboxedEnvironment

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fidelity")


def main():
    with open(os.path.join(HERE, "chat_basic.jinja2"), encoding="utf-8") as f:
        src = f.read()
    with open(os.path.join(HERE, "chat_basic.json"), encoding="utf-8") as f:
        variables = json.load(f)
    env = SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True)
    tmpl = env.from_string(src)
    for name, stmt in (
        ("render", lambda: tmpl.render(**variables)),
        # prompt flow builds the environment and template on every call.
        ("parse+render", lambda: SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True)
         .from_string(src).render(**variables)),
    ):
        n, total = timeit.Timer(stmt).autorange()
        best = min(timeit.Timer(stmt).repeat(repeat=3, number=n)) / n
        print(f"{name}: {best * 1e9:.0f} ns/op")


if __name__ == "__main__":
    main()
