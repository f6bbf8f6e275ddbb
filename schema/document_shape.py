"""The shape of a GraphQL document, read from its syntax tree alone (no schema).

graphql-core's OverlappingFieldsCanBeMerged compares every pair of fields that land on the same
response path (fields with one response name in one selection set, fragments and inline fragments
merged in), so its time grows with the square of such repeats, and a fragment spread in several
places is compared in each. This module counts what that rule and the executor will face: fields
and aliases with fragments inlined, root fields per operation, and repeated fields (a field whose
response path is already selected). It walks without recursion and stops after `budget` fields,
so it runs in time linear in the limits, before the rules run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TokenKind,
)


@dataclass
class Shape:
    fields: int = 0  # with fragments inlined; stops counting past the budget
    aliases: int = 0
    repeated: int = 0  # fields whose response path was already selected
    spreads: int = 0  # fragment spreads expanded; stops past the budget
    truncated: bool = False  # the walk stopped at the budget: every count is a lower bound
    root_fields: dict[str, int] = field(default_factory=dict)  # per operation ("anonymous" when unnamed)


def fragment_spreads(doc: DocumentNode) -> dict[str, set[str]]:
    """For each fragment definition, the fragments it spreads (anywhere in it)."""
    return {d.name.value: set(_spreads_in(d.selection_set))
            for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}


def spread_depth(doc: DocumentNode, spreads: Mapping[str, set[str]]) -> int:
    """The longest chain of fragment spreads below an operation (1: it spreads fragments that spread
    none). A spread closing a cycle adds nothing (NoFragmentCycles refuses those). Iterative: the
    number of fragments is not bounded yet when this runs."""
    below: dict[str, int] = {}  # levels of spreads a fragment starts, itself included
    for root in spreads:
        if root in below:
            continue
        path: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, todo = path[-1]
            for nxt in todo:
                if nxt in spreads and nxt not in below and nxt not in on_path:
                    path.append((nxt, iter(spreads[nxt])))
                    on_path.add(nxt)
                    break
            else:
                path.pop()
                on_path.discard(name)
                below[name] = 1 + max((below.get(s, 0) for s in spreads[name]), default=0)
    return max((below.get(name, 0) for d in doc.definitions if isinstance(d, OperationDefinitionNode)
                for name in _spreads_in(d.selection_set)), default=0)


def _spreads_in(sel: SelectionSetNode) -> Iterator[str]:
    stack = [sel]
    while stack:
        for s in stack.pop().selections:
            if isinstance(s, FragmentSpreadNode):
                yield s.name.value
            elif isinstance(s, FieldNode | InlineFragmentNode) and s.selection_set is not None:
                stack.append(s.selection_set)


# A selection set to walk: its response path, the operation whose root it is part of (None below
# the root), the fragments being inlined around it, and the spreads already inlined into the same
# merged set (a fragment spread twice in one set is collected once, as graphql-core does).
_Todo = tuple[SelectionSetNode, int, str | None, frozenset[str], set[str]]


def shape(doc: DocumentNode, budget: int) -> Shape:
    """Walk every operation with its fragments inlined, then each fragment no operation reaches
    (the rules check those too)."""
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = _Walk(fragments, budget)
    roots: list[tuple[SelectionSetNode, str | None, frozenset[str]]] = []
    for d in doc.definitions:
        if isinstance(d, OperationDefinitionNode):
            name = d.name.value if d.name else "anonymous"
            walk.out.root_fields[name] = 0
            roots.append((d.selection_set, name, frozenset()))
    for i, (sel, op, inlined) in enumerate([*roots, *((f.selection_set, None, frozenset({n}))
                                                    for n, f in fragments.items())]):
        if i >= len(roots) and next(iter(inlined)) in walk.reached:
            continue  # a fragment already walked where it is spread
        if not walk.run((sel, -1 - i, op, inlined, set())):
            break
    return walk.out


class _Walk:
    """The counts of one document's walk, the response paths selected so far (path, response name ->
    path id) and the fragments reached from a spread. Each step returns False once the budget is
    spent: the counts are then marked truncated and the walk stops."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], budget: int) -> None:
        self.fragments = fragments
        self.budget = budget
        self.out = Shape()
        self.paths: dict[tuple[int, str], int] = {}
        self.reached: set[str] = set()

    def run(self, root: _Todo) -> bool:
        stack = [root]
        while stack:
            sel, path, op, inlined, merged = stack.pop()
            for s in sel.selections:
                if isinstance(s, FieldNode):
                    if not self._field(s, path, op, inlined, stack):
                        return False
                elif isinstance(s, InlineFragmentNode):
                    stack.append((s.selection_set, path, op, inlined, merged))
                elif isinstance(s, FragmentSpreadNode) and not self._spread(s, path, op, inlined, merged, stack):
                    return False
        return True

    def _field(self, s: FieldNode, path: int, op: str | None, inlined: frozenset[str], stack: list[_Todo]) -> bool:
        out = self.out
        out.fields += 1
        if out.fields > self.budget:
            out.truncated = True
            return False
        out.aliases += s.alias is not None
        if op is not None:
            out.root_fields[op] += 1
        key = (path, s.alias.value if s.alias else s.name.value)
        if key in self.paths:
            out.repeated += 1
        else:
            self.paths[key] = len(self.paths)
        if s.selection_set is not None:
            stack.append((s.selection_set, self.paths[key], None, inlined, set()))
        return True

    def _spread(self, s: FragmentSpreadNode, path: int, op: str | None, inlined: frozenset[str], merged: set[str],
                stack: list[_Todo]) -> bool:
        name = s.name.value
        frag = self.fragments.get(name)
        if frag is None or name in inlined or name in merged:
            return True  # unknown and cyclic fragments are reported by other rules
        merged.add(name)
        self.reached.add(name)
        self.out.spreads += 1
        if self.out.spreads > self.budget:
            self.out.truncated = True
            return False
        stack.append((frag.selection_set, path, op, inlined | {name}, set()))
        return True


def token_count(doc: DocumentNode) -> int | None:
    """Tokens the parser read (comments excluded), or None for a document parsed without locations."""
    if doc.loc is None:
        return None
    count, tok = 0, doc.loc.start_token.next
    while tok is not None and tok.kind != TokenKind.EOF:
        count += tok.kind != TokenKind.COMMENT
        tok = tok.next
    return count
