"""The registries of stagewise's plug points, one module per kind.

Bottom layer: these modules import only :mod:`stagewise.registry`,
:mod:`stagewise.errors` and the standard library, so every layer (the project
loader included) may read the names; implementations load lazily.
"""
