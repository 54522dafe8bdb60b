"""The command tree as completion sees it, read from the argparse parser itself.

Walking the real parser (the one ``main`` builds, which ``--help`` builds too)
means a flag added to a command is in the completion scripts with no second
list to keep up to date. ``deploy ENV COMMAND`` parses its command's flags in
a parser of its own at run time, so its commands are added from
:mod:`stagewise.cli.deploy_cmd` here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Option:
    """One flag: its spellings, whether it takes a value, the values it allows."""

    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...] = ()


@dataclass
class Command:
    """One command (the root is ``stagewise``): its flags, sub-commands and positional words."""

    name: str
    help: str
    options: list[Option] = field(default_factory=list)
    children: list[Command] = field(default_factory=list)
    #: positional values that can be offered (an argument's ``choices``)
    words: tuple[str, ...] = ()
    #: the first positional word is a value (``deploy ENV COMMAND``), the sub-command comes after it
    value_first: bool = False

    def walk(self, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Command]]:
        """Every command with its path below the root (the root's path is ``()``)."""
        found = [(path, self)]
        for child in self.children:
            found += child.walk((*path, child.name))
        return found


def _help(action: argparse.Action) -> str:
    text = action.help if isinstance(action.help, str) and action.help != argparse.SUPPRESS else ""
    return " ".join(text.split())


def default_stage_names() -> tuple[str, ...]:
    """The stages every project has (a project may add more; those are not known without its file)."""
    from stagewise.project.defaults import default_stages

    return tuple(default_stages())


def read_parser(parser: argparse.ArgumentParser, name: str, help_text: str = "") -> Command:
    """The :class:`Command` for ``parser`` and, recursively, its sub-parsers."""
    command = Command(name=name, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: _help(choice) for choice in action._choices_actions}
            for sub_name, sub_parser in action.choices.items():
                command.children.append(read_parser(sub_parser, sub_name, helps.get(sub_name, "")))
        elif action.option_strings:
            choices = tuple(str(c) for c in action.choices) if action.choices else ()
            if not choices and action.metavar == "STAGE":
                choices = default_stage_names()
            command.options.append(
                Option(tuple(action.option_strings), _help(action), action.nargs != 0, choices)
            )
        elif action.choices:
            command.words += tuple(str(c) for c in action.choices)
    return command


def command_tree(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> Command:
    """stagewise's whole command tree from the root's sub-commands, ``deploy``'s own included.

    The caller hands over the root's sub-parsers action (``completion`` keeps
    it from registration) rather than this module importing
    :mod:`stagewise.cli.parser`, which imports every command module: no cycle.
    """
    from stagewise.cli import deploy_cmd

    root = Command(name="stagewise", help="")
    root.options = [
        Option(("-h", "--help"), "show this help message and exit", False),
        Option(("--version",), "show program's version number and exit", False),
    ]
    helps = {choice.dest: _help(choice) for choice in commands._choices_actions}
    for name, parser in commands.choices.items():
        root.children.append(read_parser(parser, name, helps.get(name, "")))
    for command in root.children:
        if command.name == "deploy":
            command.words = default_stage_names()
            command.value_first = True
            command.options = [o for o in command.options if "-h" in o.flags]
            for name, text in deploy_cmd.COMMANDS.items():
                sub = read_parser(deploy_cmd._command_parser("ENV", name), name, text)
                command.children.append(sub)
    return root
