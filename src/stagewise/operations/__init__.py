"""The deploy and data commands as core entry points, each owning its stage policy.

One function per command (``up``, ``down``, ``build``, ``logs``, ``status``,
``test``, ``migrate``, ``backup``, ``restore``, ``env``, ``regions_*``): a
frozen request in, a frozen result out. Each takes the env lock and applies
the stage policy (:mod:`stagewise.operations.policy`) itself, so every caller
— the CLI, a prestart step, a library user — gets the same lock and the same
questions. Nothing here prints or exits; confirmation reaches the user
through a :data:`~stagewise.operations.policy.Confirm` callback the caller
supplies, output through line sinks.

Layer: above backends, dataops and the pipeline; below the CLI.
"""
