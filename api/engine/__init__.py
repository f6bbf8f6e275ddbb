"""The GraphQL engine both transports run (api/graphql_http.py, api/graphql_ws.py): one pipeline.

- documents: parse and validate once per query text, with the one list of validation rules (the
  query limits first, then graphql-core's and Strawberry's rules);
- errors: the one error formatter (`extensions.code`, outages, masking) for every answer;
- execution: the Engine, which runs a prepared operation: the fast path (fast_path) for hot reads,
  the live path (live_fast) for hot subscriptions, graphql-core for everything else.

Strawberry's schema extensions (schema/root.py) do not run here: what they did is done once, here,
for HTTP and WebSocket alike.
"""
