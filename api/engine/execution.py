"""The Engine: what runs an operation once its transport has it, the same for HTTP and WebSocket.

The transport calls, in order: `documents.check_variables` (the values as sent), `documents.prepare`
(parse, validate, pick the operation), `documents.coerce`, then builds the resolver context
(authentication and admission) and calls `execute` (queries and mutations) or `subscribe`. Each step's
errors go through api/engine/errors.py; those before `execute`/`subscribe` with `pre_execution=True`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from functools import lru_cache
from inspect import isawaitable
from typing import Any

from graphql import DocumentNode, ExecutionResult, Executor, GraphQLSchema, execute, get_operation_ast, subscribe
from graphql.execution.values import VariableValues

from api.engine import compiled, fast_path
from api.engine.documents import Documents, Prepared
from api.engine.errors import as_error
from api.engine.fast_path import FastField, Raw
from api.engine.live_fast import LiveField, LivePlanner, Push
from resolvers.compiled_reads import CATALOG
from resolvers.sql_catalog import Catalog
from schema.limits import Limits


class Engine:
    def __init__(self, schema: GraphQLSchema, limits: Limits, *, fast_fields: Mapping[str, FastField] | None = None,
                 live_fields: Mapping[str, LiveField] | None = None, executor_class: type[Executor[Any]] | None = None,
                 size: int = 512, catalog: Catalog | None = None) -> None:
        self.schema = schema
        self.documents = Documents(schema, limits, size)
        self.fast_fields = dict(fast_fields or {})
        self.live = LivePlanner(schema, dict(live_fields or {}))
        # The schema's execution context (schema/execution.py), on both transports.
        self.executor_class = executor_class
        self._plan = lru_cache(maxsize=size)(self._plan_uncached)
        # Reads compiled to one SQL statement (api/engine/compiled/), the project's by default; None
        # switches them off.
        self.catalog: Catalog | None = catalog if catalog is not None else CATALOG
        self._compiled = lru_cache(maxsize=size)(self._compile_uncached)

    def _plan_uncached(self, query: str, operation_name: str | None) -> Any:
        doc = self.documents.parse(query)
        assert isinstance(doc, DocumentNode)  # only a prepared operation's query comes here
        op = get_operation_ast(doc, operation_name)
        return fast_path.plan(self.schema, doc, op, self.fast_fields) if op is not None else None

    def _compile_uncached(self, query: str, operation_name: str | None, catalog: Catalog) -> Any:
        doc = self.documents.parse(query)
        assert isinstance(doc, DocumentNode)
        op = get_operation_ast(doc, operation_name)
        return compiled.plan(self.schema, doc, op, catalog) if op is not None else None

    async def execute(self, prepared: Prepared, context: Any, variables: Mapping[str, Any],
                      coerced: VariableValues) -> ExecutionResult | Raw:
        """A query or mutation: by one SQL statement when compiled, by projection when the fast path plans
        it, else by graphql-core."""
        if self.catalog is not None:
            statement = self._compiled(prepared.query, prepared.operation_name, self.catalog)
            if statement is not None:
                answer = await compiled.execute(self.schema, statement, context, coerced)
                if answer is not None:
                    return answer
        planned = self._plan(prepared.query, prepared.operation_name) if self.fast_fields else None
        if planned is not None:
            return await fast_path.execute(self.schema, planned[0], self.fast_fields, context, coerced, planned[1])
        result = execute(self.schema, prepared.doc, context_value=context, variable_values=dict(variables),
                         operation_name=prepared.operation_name, executor_class=self.executor_class)
        if not isinstance(result, ExecutionResult):
            result = await result
        return result

    async def subscribe(self, prepared: Prepared, context: Any, variables: Mapping[str, Any], coerced: VariableValues
                        ) -> AsyncGenerator[ExecutionResult | Raw, None] | Push | ExecutionResult:
        """A subscription's responses (by projection when the live path plans it; a Push for the
        transport to listen to when the field can be pushed), or the result that refuses it before its
        stream starts. An exception that ends the stream ends it with an error
        response (the formatter masks an unexpected one), on both paths."""
        plan = self.live.plan(prepared)
        if plan is not None:
            source: Any = self.live.subscribe(plan, context, coerced)
        else:
            source = subscribe(self.schema, prepared.doc, context_value=context, variable_values=dict(variables),
                               operation_name=prepared.operation_name, executor_class=self.executor_class)
            if isawaitable(source):
                source = await source
        if isinstance(source, ExecutionResult | Push):
            return source
        return _ended_by_errors(source)


async def _ended_by_errors(source: AsyncIterator[Any]) -> AsyncGenerator[ExecutionResult | Raw, None]:
    async with aclosing(source):  # type: ignore[type-var]  # graphql-core's stream and ours both close
        try:
            async for response in source:
                yield response
        except Exception as exc:  # graphql-core leaves a failing source stream to its caller
            yield ExecutionResult(None, [as_error(exc)])
