"""Selections compiled to SQL (design.md, "Hot reads"; issue 12): a query that is one root field of a
catalog (resolvers/compiled_reads.py) is answered by ONE SQL statement that builds the response JSON,
with the caller's scope filters inside the SQL, instead of graphql-core resolving it field by field.

Design, after PostGraphile 5 and Hasura:
- Look-ahead, once: the validated selection is planned once per (document, operation) into a tree of
  SQL expressions (PostGraphile plans an operation once and reuses the plan; Hasura caches its plan per
  query and role). Each list below the root is a correlated subquery aggregated to a JSON array in
  order (json_agg / json_group_array), each object a json_build_object / json_object with exactly the
  selected keys and aliases, so the database writes the whole answer (Hasura's lateral subselects,
  PostGraphile's one statement per root).
- Permissions inside: the field's permission is checked first, as the normal path does (same error,
  same audit); row filters of scoped tokens are part of the WHERE clause, their values bound (Hasura
  compiles a role's permission filter into each table's subselect). The statement text is cached per
  dialect and scope shape and run on the driver itself (records/reader.py), so PostgreSQL runs it
  prepared from each connection's statement cache.
- Selections as graphql-core collects them: named and inline fragments whose type condition is the
  object's type (or an interface or union it belongs to) are merged in, fields of the same response
  key are one field with their selections merged, keys in first-occurrence order; @include/@skip are
  evaluated, with one plan per value of the variables they read. Several root fields each compiled
  run one after another and are answered together, in document order.
- Never half: anything the catalog does not cover (a field computed in Python, another directive,
  arguments below the root, a root field outside the catalog) sends the whole query the normal way. Values the
  twin holds in memory (live sensor values) are not in the database: the statement writes the tag in
  their place and one pass over the parsed answer fills them in from the twin.

Answers equal the normal path's field for field (tests/test_compiled.py, SQLite and PostgreSQL); only
the whitespace PostgreSQL writes and a Float with no fraction (12 against 12.0) differ in the bytes.
"""

# The modules: tree (what a plan holds), plan (planning), sql (the statements), run (execution).
from api.engine.compiled.plan import NO_VARIABLES, plan
from api.engine.compiled.run import RawFields, execute

__all__ = ["NO_VARIABLES", "RawFields", "execute", "plan"]
