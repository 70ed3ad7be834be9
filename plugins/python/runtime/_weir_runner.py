"""Serves the tools of one Python plugin to weir.

weir starts this script in a process of its own and speaks to it over two
pipes that are not stdin and stdout: it reads requests on fd 3 and writes
answers on fd 4, each frame a 4-byte big-endian length and a JSON body.
What tools print with print() or sys.stdout/sys.stderr comes as log
frames ({"log": "stdout", "text": LINE}) before the call's answer; what
they write to fds 1 and 2 goes down pipes that weir logs as well.

The first request says what to load:
  {"root": DIR, "files": [...], "tools": {name: {"file", "wrap", "generator",
   "connections"}}, "memory": BYTES, "output": BYTES}
and is answered {"ready": true} or {"error": {...}}. Each later request is
{"tool": NAME, "inputs": {...}}, answered {"output": {...}} or
{"error": {"kind": ..., "message": ...}}.
"""

import faulthandler
import importlib.util
import io
import json
import math
import os
import sys
import threading
import types

CO_COROUTINE, CO_ASYNC_GENERATOR = 0x80, 0x200
RUNTIME = os.path.dirname(os.path.abspath(__file__))
FRAMES = 3  # of a traceback, the last ones outside weir
MAX_MESSAGE = 4096

requests = os.fdopen(3, "rb", buffering=1 << 16)
answers = os.fdopen(4, "wb", buffering=0)


def read_frame():
    head = requests.read(4)
    if len(head) < 4:
        return None
    n = int.from_bytes(head, "big")
    body = requests.read(n)
    if len(body) < n:
        return None
    return body


# Threads a tool starts may print while the runner answers.
frame_lock = threading.Lock()


def write_frame(body):
    view = memoryview(len(body).to_bytes(4, "big") + body)
    with frame_lock:
        while view:
            view = view[answers.write(view):]


class LogStream(io.TextIOBase):
    """sys.stdout or sys.stderr: each line written becomes a log frame,
    sent before the call's answer, so weir logs it as the call's. What is
    written to fd 1 or 2 directly (os.write, a subprocess, C code) goes
    down a pipe that weir logs too, as the process's."""

    def __init__(self, name, fd):
        self.name = name
        self.fd = fd
        self.pending = ""

    def writable(self):
        return True

    def fileno(self):
        return self.fd

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        text = self.pending + s
        lines = text.split("\n")
        self.pending = lines.pop()
        for line in lines:
            self.send(line)
        return len(s)

    def flush(self):
        if self.pending:
            line, self.pending = self.pending, ""
            self.send(line)

    def send(self, line):
        answer({"log": self.name, "text": line})


def answer(obj):
    write_frame(json.dumps(obj, separators=(",", ":")).encode())


def fail(kind, message, frames=(), discard=False):
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + f"… ({len(message) - MAX_MESSAGE} characters more)"
    answer({"error": {"kind": kind, "message": message, "frames": list(frames), "discard": discard}})


def describe_exception(e, root):
    """The exception ("ValueError: bad") and the last frames of its
    traceback that are not weir's ("x.py:3 in f: raise ValueError(...)")."""
    import traceback  # only for failures: it costs a process's start

    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith((RUNTIME + os.sep, "<frozen "))]
    lines = []
    for f in frames[-FRAMES:]:
        name = f.filename
        if name.startswith(root + os.sep):
            name = name[len(root) + 1:]
        where = f"{name}:{f.lineno} in {f.name}"
        lines.append(where + (": " + f.line.strip() if f.line else ""))
    return "".join(traceback.format_exception_only(type(e), e)).strip(), lines


def article(name):
    return ("an " if name[:1] in "aeiou" else "a ") + name


def not_json(v, path=""):
    """The path and description of the first value in v that JSON cannot
    hold, or None."""
    if v is None or isinstance(v, (str, bool, int)):
        return None
    if isinstance(v, float):
        return None if math.isfinite(v) else (path, f"a float ({v})")
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                return (path, f"a dict with {article(type(k).__name__)} key ({k!r})")
            found = not_json(x, path + "[" + json.dumps(k, ensure_ascii=False) + "]")
            if found:
                return found
        return None
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            found = not_json(x, f"{path}[{i}]")
            if found:
                return found
        return None
    return (path, article(type(v).__name__))


class Tool:
    def __init__(self, name, fn, spec):
        self.name = name
        self.fn = fn
        self.wrap = spec["wrap"]
        self.connections = spec.get("connections") or {}
        # From the code's flags: importing inspect or asyncio would cost
        # every process's start tens of milliseconds.
        code = getattr(fn, "__code__", None)
        self.is_async = code is not None and bool(code.co_flags & (CO_COROUTINE | CO_ASYNC_GENERATOR))


def load(init):
    root = init["root"]
    if init.get("memory"):
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (init["memory"], init["memory"]))
        except (ImportError, ValueError, OSError) as e:
            print(f"weir: limits.memory cannot be set here: {e}", file=sys.stderr)
    sys.path.insert(0, root)
    modules = {}
    for rel in init["files"]:
        # Under its own name, so that its siblings can import it, unless a
        # module of that name was imported already (a file named types.py
        # or json.py), as the runner's own modules are.
        name = os.path.splitext(rel)[0]
        if name in sys.modules:
            name = "_weir_tools_" + name
        try:
            spec = importlib.util.spec_from_file_location(name, os.path.join(root, rel))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            modules[rel] = module
        except BaseException as e:  # SystemExit too: a file must not end the runner
            msg, frames = describe_exception(e, root)
            return None, (f"import {rel}: {msg}", frames)
    tools = {}
    for name, spec in init["tools"].items():
        fn = getattr(modules[spec["file"]], name, None)
        if not callable(fn):
            return None, (f'import {spec["file"]}: it has no function "{name}" once imported', [])
        tools[name] = Tool(name, fn, spec)
    return tools, None


def call(t, inputs):
    import weir
    import weir.connections

    for param, cls in t.connections.items():
        if param in inputs:
            inputs[param] = weir.connections.build(cls, inputs[param])
    weir._metrics = metrics = {}
    try:
        result = t.fn(**inputs)
        if t.is_async:
            import asyncio

            if hasattr(result, "__anext__"):
                async def join(gen):
                    return "".join([str(x) async for x in gen])

                result = asyncio.run(join(result))
            else:
                result = asyncio.run(result)
        elif isinstance(result, types.GeneratorType):
            result = "".join(str(x) for x in result)
    finally:
        weir._metrics = None
    if t.wrap:
        out = {"value": result}
    else:
        if hasattr(type(result), "__dataclass_fields__"):
            import dataclasses

            result = dataclasses.asdict(result)
        if not isinstance(result, dict):
            raise TypeError(f'tool "{t.name}" is annotated to return an object but returned {article(type(result).__name__)}')
        out = result
    if metrics:
        if "metrics" in out and not t.wrap:
            raise TypeError(f'tool "{t.name}" returned a "metrics" key and logged metrics with log_metric: rename the key')
        out = dict(out, metrics=metrics)
    return out, result


def flush():
    """Sends what the call printed without a newline at its end."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def main():
    sys.path.insert(0, RUNTIME)
    faulthandler.enable()  # a crash in C code writes the Python stack to fd 2
    for stream in (sys.__stdout__, sys.__stderr__):
        stream.reconfigure(line_buffering=True, errors="backslashreplace")
    sys.stdout = LogStream("stdout", 1)
    sys.stderr = LogStream("stderr", 2)
    init = json.loads(read_frame())
    root, limit = init["root"], init["output"]
    tools, err = load(init)
    if err:
        fail("internal", *err)
        return
    answer({"ready": True})
    while True:
        body = read_frame()
        if body is None:
            return
        req = json.loads(body)
        t = tools.get(req["tool"])
        if t is None:
            fail("internal", f'no tool "{req["tool"]}"')
            continue
        try:
            out, returned = call(t, req["inputs"])
        except MemoryError as e:
            flush()
            fail("limit", *describe_exception(e, root), discard=True)
            continue
        except Exception as e:
            flush()
            import weir

            fail("retryable" if isinstance(e, weir.Retryable) else "internal", *describe_exception(e, root))
            continue
        try:
            encoded = json.dumps({"output": out}, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError):
            found = not_json(returned) or not_json(out) or ("", "a value")
            at = f" at {found[0]}" if found[0] else ""
            fail("internal", f'tool "{t.name}" returned {found[1]}{at}: not JSON')
            continue
        flush()
        if len(encoded) - 11 > limit:
            answer({"error": {"kind": "output", "size": len(encoded) - 11}})
            continue
        write_frame(encoded)


if __name__ == "__main__":
    main()
