"""The identity graph core: model, rules, normalization, planner, service and stores.

Nothing in this package imports Flask; only graph.store touches a database."""
