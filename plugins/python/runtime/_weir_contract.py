"""Reads the contracts of the tools in Python files from their source with
the ast module, never importing them: weir validate and weir plugin
describe work without the tools' packages installed.

Usage: python _weir_contract.py ROOT FILE...   (FILEs relative to ROOT;
messages name them joined to ROOT as given)

Prints one JSON object: {"tools": [...]} or {"error": "file:line:col: ..."}.
"""

import ast
import json
import os
import re
import sys

SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "list": {"type": "array"},
    "List": {"type": "array"},
    "tuple": {"type": "array"},
    "Tuple": {"type": "array"},
    "Sequence": {"type": "array"},
    "set": {"type": "array"},
    "dict": {"type": "object"},
    "Dict": {"type": "object"},
    "Mapping": {"type": "object"},
    "None": {"type": "null"},
    "NoneType": {"type": "null"},
    "Any": {},
    "object": {},
    "PromptTemplate": {"type": "string"},
}
ARRAYS = {"list", "List", "Sequence", "Iterable", "set", "Set", "frozenset", "tuple", "Tuple"}
OBJECTS = {"dict", "Dict", "Mapping", "MutableMapping"}
GENERATORS = {"Generator", "Iterator", "Iterable", "AsyncGenerator", "AsyncIterator"}


class ToolError(Exception):
    pass


def name_of(node):
    """The last name of a Name or Attribute: typing.List is List."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def is_tool(fn):
    for d in fn.decorator_list:
        if isinstance(d, ast.Call):
            d = d.func
        if name_of(d) == "tool":
            return True
    return False


def nullable(s):
    t = s.get("type")
    if s == {} or t == "null" or (isinstance(t, list) and "null" in t) or {"type": "null"} in s.get("anyOf", []):
        return s
    if isinstance(t, str) and len(s) == 1:
        return {"type": [t, "null"]}
    return {"anyOf": [s, {"type": "null"}]}


def union(schemas):
    if any(s == {} for s in schemas):
        return {}
    types = []
    for s in schemas:
        if set(s) != {"type"}:
            return {"anyOf": schemas}
        for t in s["type"] if isinstance(s["type"], list) else [s["type"]]:
            if t not in types:
                types.append(t)
    return {"type": types[0] if len(types) == 1 else types}


class File:
    def __init__(self, path, tree):
        self.path = path
        self.classes = {}
        self.connections = set()
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if a.name.endswith("Connection"):
                        self.connections.add(a.asname or a.name)

    def is_connection(self, node):
        n = name_of(node)
        return n is not None and (n in self.connections or n.endswith("Connection"))

    def connection_of(self, node):
        """The connection classes an annotation admits, joined with "|"
        (Union[AzureOpenAIConnection, OpenAIConnection], A | B, Optional[A]);
        None when it admits none."""
        members = [node]
        out = []
        while members:
            m = members.pop(0)
            if isinstance(m, ast.BinOp) and isinstance(m.op, ast.BitOr):
                members[:0] = [m.left, m.right]
            elif isinstance(m, ast.Subscript) and name_of(m.value) in ("Union", "Optional"):
                members[:0] = list(m.slice.elts) if isinstance(m.slice, ast.Tuple) else [m.slice]
            elif self.is_connection(m):
                out.append(name_of(m))
        return "|".join(out) or None

    def schema(self, node, depth=0):
        """The JSON Schema of an annotation; {} (any) for what it cannot tell."""
        if node is None or depth > 20:
            return {}
        if isinstance(node, ast.Constant):
            if node.value is None:
                return {"type": "null"}
            if isinstance(node.value, str):
                try:
                    return self.schema(ast.parse(node.value, mode="eval").body, depth + 1)
                except SyntaxError:
                    return {}
            return {}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.union_of([node.left, node.right], depth)
        if isinstance(node, ast.Subscript):
            base = name_of(node.value)
            sl = node.slice
            if type(sl).__name__ == "Index":  # Python 3.8 wraps it
                sl = sl.value
            args = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            if base in ARRAYS:
                if base in ("tuple", "Tuple") and len(args) != 1 and not (len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis):
                    return {"type": "array"}
                return {"type": "array", "items": self.schema(args[0], depth + 1)}
            if base in OBJECTS:
                s = {"type": "object"}
                if len(args) == 2:
                    v = self.schema(args[1], depth + 1)
                    if v != {}:
                        s["additionalProperties"] = v
                return s
            if base == "Optional":
                return nullable(self.schema(args[0], depth + 1))
            if base == "Union":
                return self.union_of(args, depth)
            if base == "Annotated":
                return self.schema(args[0], depth + 1)
            if base == "Literal":
                values = [a.value for a in args if isinstance(a, ast.Constant)]
                return {"enum": values}
            return {}
        n = name_of(node)
        if n in SCALARS:
            return dict(SCALARS[n])
        if n in self.classes:
            return self.class_schema(self.classes[n], depth)
        if self.is_connection(node):
            return {"type": "object"}
        return {}

    def union_of(self, nodes, depth):
        schemas = [self.schema(a, depth + 1) for a in nodes]
        rest = [s for s in schemas if s != {"type": "null"}]
        if len(rest) < len(schemas):
            return nullable(union(rest) if rest else {"type": "null"})
        return union(schemas)

    def class_schema(self, cls, depth):
        """A TypedDict or a dataclass of this file as an object; {} for any
        other class."""
        bases = {name_of(b) for b in cls.bases}
        typed_dict = "TypedDict" in bases
        dataclass = any(name_of(d.func if isinstance(d, ast.Call) else d) == "dataclass" for d in cls.decorator_list)
        if not typed_dict and not dataclass:
            return {}
        total = True
        for kw in cls.keywords:
            if kw.arg == "total" and isinstance(kw.value, ast.Constant):
                total = bool(kw.value.value)
        props, required = {}, []
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                key = stmt.target.id
                props[key] = self.schema(stmt.annotation, depth + 1)
                if (typed_dict and total) or (dataclass and stmt.value is None):
                    required.append(key)
        s = {"type": "object", "properties": props}
        if required:
            s["required"] = required
        return s

    def returns_object(self, node):
        """Whether a return annotation makes the returned value the output
        itself: dict, Dict[...], a TypedDict or a dataclass."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return False
        if isinstance(node, ast.Subscript):
            return name_of(node.value) in OBJECTS
        n = name_of(node)
        if n in OBJECTS:
            return True
        return n in self.classes and self.class_schema(self.classes[n], 0) != {}


def literal(node):
    try:
        v = ast.literal_eval(node)
    except Exception:
        return None, False
    try:
        json.dumps(v, allow_nan=False)
    except (TypeError, ValueError):
        return None, False
    return v, True


PARAM_DOC = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
RETURN_DOC = re.compile(r"^\s*:(return|returns|rtype|type\s+\w+)\s*:")


def split_doc(doc):
    """The description and the per-parameter texts of a docstring written
    in reST's style (":param name: text")."""
    text, params, current = [], {}, None
    for line in (doc or "").splitlines():
        m = PARAM_DOC.match(line)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
            continue
        if RETURN_DOC.match(line):
            current = None
            continue
        if current and line.strip() and line.startswith((" ", "\t")):
            params[current] += " " + line.strip()
            continue
        current = None
        text.append(line)
    return "\n".join(text).strip(), params


def calls(fn, name):
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and name_of(node.func) == name:
            return True
    return False


def has_yield(fn):
    for node in ast.walk(fn):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if node is not fn and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
    return False


def contract(f, fn):
    desc, param_docs = split_doc(ast.get_docstring(fn))
    a = fn.args
    props, required, conns = {}, [], {}
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = list(zip(positional, defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
    for arg, default in params:
        s = f.schema(arg.annotation)
        conn = f.connection_of(arg.annotation) if arg.annotation is not None else None
        if conn:
            conns[arg.arg] = conn
        if default is None:
            required.append(arg.arg)
        else:
            v, ok = literal(default)
            if ok and v is None:
                s = nullable(s)
            if ok:
                s = dict(s, default=v)
        if arg.arg in param_docs:
            s = dict(s, description=param_docs[arg.arg])
        props[arg.arg] = s
    inputs = {"type": "object", "properties": props}
    if required:
        inputs["required"] = required
    inputs["additionalProperties"] = a.kwarg is not None

    ret = fn.returns
    generator = has_yield(fn) or (isinstance(ret, ast.Subscript) and name_of(ret.value) in GENERATORS)
    wrap = generator or not f.returns_object(ret)
    if generator:
        outputs = {"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}
    elif wrap:
        outputs = {"type": "object", "properties": {"value": f.schema(ret)}, "required": ["value"]}
    else:
        outputs = f.schema(ret)
        outputs.setdefault("type", "object")
    if calls(fn, "log_metric"):
        outputs = dict(outputs)
        outputs["properties"] = dict(outputs.get("properties", {}), metrics={"type": "object"})
    out = {"name": fn.name, "inputs": inputs, "outputs": outputs,
           "file": f.path, "line": fn.lineno, "wrap": wrap, "generator": generator, "connections": conns}
    if desc:
        out["description"] = desc
    return out


def main():
    root, files = sys.argv[1], sys.argv[2:]
    tools, seen = [], {}
    for rel in files:
        path = os.path.join(root, rel)  # as weir was given it, for messages
        with open(path, "rb") as fh:
            src = fh.read()
        try:
            tree = ast.parse(src, filename=rel)
        except SyntaxError as e:
            col = e.offset or 0
            print(json.dumps({"error": f"{path}:{e.lineno}:{col}: {e.msg}"}))
            return
        except ValueError as e:  # NUL bytes
            print(json.dumps({"error": f"{path}: {e}"}))
            return
        f = File(rel, tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_tool(node):
                if node.name in seen:
                    print(json.dumps({"error": f'tool "{node.name}" is defined twice: {seen[node.name]} and {path}:{node.lineno}'}))
                    return
                seen[node.name] = f"{path}:{node.lineno}"
                tools.append(contract(f, node))
    print(json.dumps({"tools": tools}))


if __name__ == "__main__":
    main()
