"""Scorecard formulas (RAT-1): parsed with Python's `ast`, checked at save, evaluated without `eval`.

Allowed: numbers, statement item codes (app/services/statements.py ITEMS) and `prev.<code>` for the earlier
period, + - * / ( ), unary minus, and the functions abs, min, max, avg. Anything else is refused with a
message naming it.

The same checked tree is evaluated two ways that give bit-identical results (IEEE doubles, the same
operations in the same order):
- `evaluate(formula, current, previous)` for one customer (plain floats);
- `evaluate_vector(formula, frame)` for all customers at once (numpy columns of a pandas frame).
A missing figure makes the value missing; a division by zero makes it "div0" — the caller scores both
per the model's setting and says why.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from flask_babel import gettext

from app.errors import ValidationError

PREV = "prev"
FUNCTIONS = ("abs", "min", "max", "avg")
MISSING, DIV0 = "missing", "div0"


@dataclass(frozen=True)
class Compiled:
    text: str
    tree: ast.AST
    names: tuple  # referenced variables: "code" or "prev.code", sorted


class FormulaError(ValidationError):
    pass


def _item_codes():
    from app.services.statements import ITEM_BY_CODE

    return ITEM_BY_CODE


def _name_of(node) -> str | None:
    """'code' for a Name, 'prev.code' for prev.code; None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == PREV:
        return f"{PREV}.{node.attr}"
    return None


def _check(node, names: set) -> None:
    items = _item_codes()
    if isinstance(node, ast.Expression):
        return _check(node.body, names)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError(gettext("Not allowed in a formula: %(what)s", what=repr(node.value)), "formula")
        return None
    name = _name_of(node)
    if name is not None:
        code = name.split(".", 1)[-1]
        if code not in items:
            raise FormulaError(gettext("Unknown statement item in the formula: %(name)s", name=name), "formula")
        names.add(name)
        return None
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            raise FormulaError(gettext("Not allowed in a formula: the operator %(op)s",
                                       op=type(node.op).__name__), "formula")
        _check(node.left, names)
        return _check(node.right, names)
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise FormulaError(gettext("Not allowed in a formula: the operator %(op)s",
                                       op=type(node.op).__name__), "formula")
        return _check(node.operand, names)
    if isinstance(node, ast.Call):
        func = node.func.id if isinstance(node.func, ast.Name) else None
        if func not in FUNCTIONS or node.keywords:
            raise FormulaError(gettext("Not allowed in a formula: the function %(name)s (allowed: %(allowed)s)",
                                       name=func or ast.unparse(node.func), allowed=", ".join(FUNCTIONS)), "formula")
        if not node.args or (func == "abs" and len(node.args) != 1):
            raise FormulaError(gettext("Wrong number of arguments to %(name)s", name=func), "formula")
        for arg in node.args:
            _check(arg, names)
        return None
    if isinstance(node, ast.Attribute):
        raise FormulaError(gettext("Unknown statement item in the formula: %(name)s", name=ast.unparse(node)),
                           "formula")
    raise FormulaError(gettext("Not allowed in a formula: %(what)s", what=ast.unparse(node)), "formula")


@lru_cache(maxsize=512)
def compile_formula(text: str) -> Compiled:
    """The checked formula, or FormulaError naming the unknown item or the construct not allowed."""
    source = (text or "").strip()
    if not source:
        raise FormulaError(gettext("Enter the formula of a quantitative indicator."), "formula")
    if len(source) > 1000:
        raise FormulaError(gettext("The formula is too long."), "formula")
    try:
        tree = ast.parse(source.replace("×", "*").replace("÷", "/").replace("（", "(").replace("）", ")"),
                         mode="eval")
    except SyntaxError:
        raise FormulaError(gettext("The formula is not valid arithmetic: %(text)s", text=source), "formula") from None
    names: set = set()
    _check(tree, names)
    return Compiled(source, tree, tuple(sorted(names)))


# --- one customer ---------------------------------------------------------------------------------------

class _Div0(Exception):
    pass


def _scalar(node, env):
    if isinstance(node, ast.Expression):
        return _scalar(node.body, env)
    if isinstance(node, ast.Constant):
        return float(node.value)
    name = _name_of(node)
    if name is not None:
        return env[name]
    if isinstance(node, ast.BinOp):
        left, right = _scalar(node.left, env), _scalar(node.right, env)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if right == 0:
            raise _Div0()
        return left / right
    if isinstance(node, ast.UnaryOp):
        value = _scalar(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    func = node.func.id
    args = [_scalar(arg, env) for arg in node.args]
    if func == "abs":
        return abs(args[0])
    if func == "min":
        return _fold(args, lambda a, b: b if b < a else a)
    if func == "max":
        return _fold(args, lambda a, b: b if b > a else a)
    return _fold(args, lambda a, b: a + b) / len(args)


def _fold(args, step):
    out = args[0]
    for arg in args[1:]:
        out = step(out, arg)
    return out


def evaluate(text: str, current: dict, previous: dict | None = None) -> tuple[float | None, str | None]:
    """(value, None) or (None, MISSING | DIV0). `current`/`previous`: {item code: number} (None: no statement)."""
    compiled = compile_formula(text)
    env = {}
    for name in compiled.names:
        source, code = (previous, name[len(PREV) + 1:]) if name.startswith(PREV + ".") else (current, name)
        if not source or source.get(code) is None:
            return None, MISSING
        env[name] = float(source[code])
    try:
        return _scalar(compiled.tree, env), None
    except _Div0:
        return None, DIV0


# --- all customers at once --------------------------------------------------------------------------------

def _vector(node, frame, div0):
    if isinstance(node, ast.Expression):
        return _vector(node.body, frame, div0)
    if isinstance(node, ast.Constant):
        return np.full(len(frame), float(node.value))
    name = _name_of(node)
    if name is not None:
        return frame[name].to_numpy(dtype="float64")
    if isinstance(node, ast.BinOp):
        left, right = _vector(node.left, frame, div0), _vector(node.right, frame, div0)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        zero = right == 0
        div0 |= zero
        return left / np.where(zero, 1.0, right)
    if isinstance(node, ast.UnaryOp):
        value = _vector(node.operand, frame, div0)
        return -value if isinstance(node.op, ast.USub) else value
    func = node.func.id
    args = [_vector(arg, frame, div0) for arg in node.args]
    if func == "abs":
        return np.abs(args[0])
    if func == "min":
        return _fold(args, lambda a, b: np.where(b < a, b, a))
    if func == "max":
        return _fold(args, lambda a, b: np.where(b > a, b, a))
    return _fold(args, lambda a, b: a + b) / len(args)


def evaluate_vector(text: str, frame) -> tuple[np.ndarray, np.ndarray]:
    """(values, reasons) for every row of `frame` (columns "code" and "prev.code", NaN where missing):
    values are NaN where the reason is MISSING or DIV0, reasons an object array (None where scored)."""
    compiled = compile_formula(text)
    n = len(frame)
    missing = np.zeros(n, dtype=bool)
    for name in compiled.names:
        missing |= frame[name].isna().to_numpy()
    div0 = np.zeros(n, dtype=bool)
    with np.errstate(all="ignore"):
        values = _vector(compiled.tree, frame, div0)
    reasons = np.full(n, None, dtype=object)
    reasons[div0] = DIV0
    reasons[missing] = MISSING  # a missing figure is the first reason, as in evaluate()
    values = np.where(missing | div0, np.nan, values)
    return values, reasons
