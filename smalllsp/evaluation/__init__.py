"""``smalllsp eval``: completion quality and cost on published benchmarks.

humaneval.py derives the infilling tasks, runner.py completes them through
the server's own pipeline (context builder, engine, cutting, guard,
ranking), sandbox.py runs the tests, metrics.py scores, plot.py draws
quality against latency.
"""
