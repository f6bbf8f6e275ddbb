"""Preset formulas of test items (QC-10), evaluated on the server by simpleeval (a walker over the parsed
expression), never by `eval`.

A formula has named inputs and decimal constants, + - * / and brackets, nothing else: no calls, attributes,
powers or comparisons. Every number is a Decimal (the constants too), so the value is exact to 28 digits
before the item's GB/T 8170 rule rounds it.
"""

from __future__ import annotations

import ast
import operator
import re
from decimal import Decimal, localcontext
from typing import Any

from simpleeval import SimpleEval

from records.rounding import number

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MOST = 200  # characters of a formula
OPERATORS: dict[type, Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                              ast.Div: operator.truediv, ast.USub: operator.neg, ast.UAdd: operator.pos}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant, *OPERATORS)


def inputs_of(formula: str) -> list[str]:
    """The input names of a formula, in order of first use; ValueError for anything but the arithmetic above."""
    if not formula.strip() or len(formula) > MOST:
        raise ValueError(f"a formula is 1-{MOST} characters")
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"formula {formula[:60]!r} is not arithmetic over named inputs") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"formula {formula[:60]!r}: only + - * / ( ), decimal numbers and input names")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, (int, float))):
            raise ValueError(f"formula {formula[:60]!r}: a constant is a decimal number")
        if isinstance(node, ast.Name):
            if not NAME.fullmatch(node.id):
                raise ValueError(f"formula input {node.id!r}: lower-case letters, digits and '_'")
            if node.id not in names:
                names.append(node.id)
    if not names:
        raise ValueError(f"formula {formula[:60]!r} has no inputs")
    return names


def evaluate(formula: str, values: dict[str, str]) -> Decimal:
    """The formula over the raw inputs (decimal text). ValueError names a missing, extra or bad input, or a
    division by zero."""
    names = inputs_of(formula)
    if missing := [n for n in names if n not in values]:
        raise ValueError(f"formula inputs missing: {', '.join(missing)}")
    if extra := sorted(set(values) - set(names)):
        raise ValueError(f"not inputs of the formula: {', '.join(extra)}")
    exact: dict[str, Decimal] = {}
    for n in names:
        try:
            exact[n] = number(values[n])
        except ValueError as e:
            raise ValueError(f"input {n}: {e}") from None
    source = formula.strip()
    ev = SimpleEval(operators=OPERATORS, functions={}, names=exact)
    ev.nodes[ast.Constant] = lambda node: number(ast.get_source_segment(source, node) or str(node.value))
    with localcontext() as ctx:
        ctx.prec = 28
        try:
            result = ev.eval(source)
        except ArithmeticError:
            raise ValueError(f"formula {formula[:60]!r}: division by zero or out of range") from None
    if not isinstance(result, Decimal) or not result.is_finite():
        raise ValueError(f"formula {formula[:60]!r} gives no finite number")
    return result
