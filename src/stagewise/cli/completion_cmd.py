"""``stagewise completion bash|zsh|fish``: print a static completion script for that shell."""

from __future__ import annotations

import argparse
from typing import Any

#: the shells there is a script for (the keys of completion_scripts.RENDERERS; kept here so that
#: building the parser for --help imports no completion code)
SHELLS = ("bash", "zsh", "fish")


def register(commands: Any) -> None:
    """Add ``completion``."""
    parser = commands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a static completion script: every command, flag and choice of this "
        "stagewise, so a TAB never starts Python. bash: source <(stagewise completion bash); "
        "zsh: stagewise completion zsh > ~/.zfunc/_stagewise (a folder on $fpath); "
        "fish: stagewise completion fish > ~/.config/fish/completions/stagewise.fish.",
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to write the script for")
    # the whole tree is read at run time from the root's sub-commands (every one registered by then)
    parser.set_defaults(handler=run, completion_commands=commands)


def run(args: argparse.Namespace) -> int:
    """Write the script on stdout."""
    from stagewise.cli.completion_scripts import RENDERERS
    from stagewise.cli.completion_tree import command_tree

    print(RENDERERS[args.shell](command_tree(args.completion_commands)), end="")
    return 0
