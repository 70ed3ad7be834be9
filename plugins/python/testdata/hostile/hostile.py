"""Tools that misbehave, one way each."""
import ctypes
import datetime
import os
import sys
import time

from weir import Retryable, tool


@tool
def echo(text: str) -> str:
    return text


@tool
def hang(seconds: float = 1000) -> str:
    time.sleep(seconds)
    return "woke"


@tool
def crash(code: int = 3) -> str:
    print("about to crash", file=sys.stderr)
    sys.stderr.flush()
    os._exit(code)


@tool
def segfault() -> str:
    ctypes.string_at(0)
    return "unreachable"


@tool
def chatty(n: int = 3) -> str:
    for i in range(n):
        print(f"line {i}")
    print("to stderr", end="", file=sys.stderr)
    os.write(1, b"raw line on fd 1\n")
    return "done"


@tool
def tags() -> dict:
    return {"tags": {"a", "b"}}


@tool
def when():
    return datetime.datetime(2024, 1, 2)


@tool
def nan() -> dict:
    return {"scores": [1.0, float("nan")]}


@tool
def huge(n: int) -> str:
    return "x" * n


def parse(s):
    return int(s)


def check(s):
    return parse(s) * 2


@tool
def raises(s: str) -> int:
    return check(s)


@tool
def flaky() -> str:
    raise Retryable("try again")


@tool
def hog() -> int:
    chunks = []
    while True:
        chunks.append(bytearray(16 << 20))


@tool
def forks() -> int:
    pid = os.fork()
    if pid == 0:
        time.sleep(1000)
        os._exit(0)
    return pid


@tool
def pid() -> int:
    return os.getpid()
