"""``stagewise check``: the quick check before a commit — lint, types, the unit tier and bandit.

Modules, each with one job::

    detect    which command each step runs (the project's ruff or flake8, mypy when
              configured, a configured argument list), or why it cannot run
    command   runs one external command as a step and reads ``path:line`` problems from it
    steps     the unit tier (through the pipeline's planning and the unit tier itself)
              and bandit (through the security tier's runner) as steps
    children  stops every child on Ctrl+C, whichever worker thread started it
    run       runs the steps in parallel and writes the same record and page as ``stagewise test``

Each step is one result (a :class:`~stagewise.tiers.result.TierResult`) in the
run record, so summary.json, the page and the exit code work as for a test run.
"""
