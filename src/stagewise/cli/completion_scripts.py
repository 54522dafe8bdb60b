"""Static completion scripts for bash, zsh and fish, written from the command tree.

Static on purpose: the script holds every command, flag and choice, so a TAB
runs shell code only and never starts Python (``argcomplete``'s way costs an
interpreter start and every command module's import per key press). The
price is that a new flag needs ``stagewise completion SHELL`` run again,
which the README says.

All three scripts find the command path the same way: the words before the
cursor, skipping flags and the value after a flag that takes one; a word that
names a sub-command of the path so far extends it. After ``--`` (pytest's
arguments) the shell's own file completion takes over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from stagewise import __version__
from stagewise.cli.completion_tree import Command

_WORD = re.compile(r"^[A-Za-z0-9_.,:/=+@-]+$")


def _words(values: Iterable[str]) -> str:
    """Words joined by spaces; each must be shell-safe as it is (flags, names, choices are)."""
    listed = list(values)
    for value in listed:
        if not _WORD.match(value):
            raise ValueError(f"not a completion word: {value!r}")
    return " ".join(listed)


def _sq(text: str) -> str:
    """``text`` single-quoted for bash, zsh and fish alike (no expansion inside)."""
    if "\\" in text:
        text = text.replace("\\", "/")
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _value_flags(command: Command) -> list[str]:
    return [flag for option in command.options if option.takes_value for flag in option.flags]


def _case(
    root: Command, body: Callable[[tuple[str, ...], Command], str | None], indent: str = "        "
) -> str:
    """``"path") body ;;`` lines for every command whose body is not ``None``."""
    lines = []
    for path, command in root.walk():
        text = body(path, command)
        if text is not None:
            lines.append(f'{indent}"{" ".join(path)}") {text} ;;')
    return "\n".join(lines)


def _header(shell: str) -> str:
    return (
        f"# stagewise {shell} completion, written by `stagewise completion {shell}` (stagewise {__version__}).\n"
        "# Static: run that command again after upgrading stagewise.\n"
    )


def _lookups(
    root: Command,
    *,
    words: Callable[[Iterable[str]], str],
    described: Callable[[Iterable[tuple[str, str]]], str],
    empty: str,
) -> str:
    """The lookup functions bash and zsh share, each a ``case`` over the command paths.

    The two shells differ only in how a reply is set (``REPLY="a b"`` or
    ``reply=(a b)``) and in zsh's descriptions, so ``words``, ``described``
    and ``empty`` say that and the rest is written once.
    """
    choices = [
        f'        "{" ".join(path)}|{flag}") {words(option.choices)} ;;'
        for path, command in root.walk()
        for option in command.options
        if option.choices
        for flag in option.flags
    ]

    def lookup(name: str, body: Callable[[tuple[str, ...], Command], str | None]) -> str:
        return f"""
{name}() {{
    case "$1" in
{_case(root, body)}
        *) {empty} ;;
    esac
}}
"""

    return (
        lookup("_stagewise_children", lambda p, c: described((x.name, x.help) for x in c.children))
        + lookup("_stagewise_words", lambda p, c: words(c.words) if c.words else None)
        + lookup(
            "_stagewise_options", lambda p, c: described((f, o.help) for o in c.options for f in o.flags)
        )
        + lookup("_stagewise_value_options", lambda p, c: words(_value_flags(c)) if _value_flags(c) else None)
        + f"""
_stagewise_choices() {{
    case "$1|$2" in
{chr(10).join(choices)}
        *) {empty} ;;
    esac
}}

_stagewise_value_first() {{
    case "$1" in
{_case(root, lambda p, c: "return 0" if c.value_first else None)}
        *) return 1 ;;
    esac
}}
"""
    )


def bash(root: Command) -> str:
    """The bash script: ``source`` it, or put it in bash-completion's completions folder."""
    return (
        _header("bash")
        + _lookups(
            root,
            words=lambda listed: f'REPLY="{_words(listed)}"',
            described=lambda items: f'REPLY="{_words(name for name, _ in items)}"',
            empty='REPLY=""',
        )
        + """
_stagewise() {
    local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath="" word skip="" pending="" i REPLY
    COMPREPLY=()
    # bash splits --stage=prod at "=" (COMP_WORDBREAKS): the "=" keeps the flag's value pending
    [[ $cur == = ]] && cur=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        [[ $word == = ]] && continue
        if [[ -n $skip ]]; then skip=""; continue; fi
        [[ $word == -- ]] && return 0
        if [[ $word == -* ]]; then
            _stagewise_value_options "$cmdpath"
            [[ $word != *=* && " $REPLY " == *" $word "* ]] && skip=1
            continue
        fi
        if [[ -n $pending ]]; then pending=""; continue; fi
        _stagewise_children "$cmdpath"
        if [[ " $REPLY " == *" $word "* ]]; then
            cmdpath="${cmdpath:+$cmdpath }$word"
            _stagewise_value_first "$cmdpath" && pending=1
        fi
    done
    if [[ -n $skip ]]; then
        local flag="${COMP_WORDS[COMP_CWORD - 1]}"
        [[ $flag == = ]] && flag="${COMP_WORDS[COMP_CWORD - 2]}"
        _stagewise_choices "$cmdpath" "$flag"
        [[ -n $REPLY ]] && mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
        return 0
    fi
    if [[ $cur == -* ]]; then
        _stagewise_options "$cmdpath"
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
        return 0
    fi
    _stagewise_children "$cmdpath"
    local offered="$REPLY"
    _stagewise_words "$cmdpath"
    if [[ -n $pending ]]; then
        offered="$REPLY"
    elif ! _stagewise_value_first "$cmdpath"; then
        offered="$offered $REPLY"
    fi
    [[ -n ${offered// /} ]] && mapfile -t COMPREPLY < <(compgen -W "$offered" -- "$cur")
    return 0
}

complete -o default -F _stagewise stagewise
"""
    )


def _described(items: Iterable[tuple[str, str]]) -> str:
    return " ".join(_sq(f"{_words([name])}:{text}") for name, text in items)


def zsh(root: Command) -> str:
    """The zsh script: ``source`` it after ``compinit``, or save it as ``_stagewise`` on ``$fpath``."""
    return (
        "#compdef stagewise\n"
        + _header("zsh")
        + _lookups(
            root,
            words=lambda listed: f"reply=({_words(listed)})",
            described=lambda items: f"reply=({_described(items)})",
            empty="reply=()",
        )
        + """
_stagewise() {
    local cmdpath="" word skip="" pending="" i
    local -a reply subs names
    for (( i = 2; i < CURRENT; i++ )); do
        word="${words[i]}"
        if [[ -n $skip ]]; then skip=""; continue; fi
        if [[ $word == -- ]]; then _files; return; fi
        if [[ $word == -* ]]; then
            _stagewise_value_options "$cmdpath"
            [[ $word != *=* ]] && (( ${reply[(Ie)$word]} )) && skip=1
            continue
        fi
        if [[ -n $pending ]]; then pending=""; continue; fi
        _stagewise_children "$cmdpath"
        names=("${reply[@]%%:*}")
        if (( ${names[(Ie)$word]} )); then
            cmdpath="${cmdpath:+$cmdpath }$word"
            _stagewise_value_first "$cmdpath" && pending=1
        fi
    done
    if [[ -n $skip ]]; then
        _stagewise_choices "$cmdpath" "${words[CURRENT-1]}"
        if (( ${#reply} )); then compadd -a reply; else _files; fi
        return
    fi
    if [[ ${words[CURRENT]} == -* ]]; then
        _stagewise_options "$cmdpath"
        _describe -t options option reply
        return
    fi
    _stagewise_children "$cmdpath"
    subs=("${reply[@]}")
    _stagewise_words "$cmdpath"
    if [[ -n $pending ]]; then
        subs=()
    elif _stagewise_value_first "$cmdpath"; then
        reply=()
    fi
    (( ${#subs} )) && _describe -t commands command subs
    (( ${#reply} )) && compadd -a reply
    (( ${#subs} + ${#reply} )) || _files
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _stagewise "$@"
else
    compdef _stagewise stagewise
fi
"""
    )


def fish(root: Command) -> str:
    """The fish script: save it as ``~/.config/fish/completions/stagewise.fish``."""
    children = "\n".join(
        f"        case {_sq(' '.join(p))}\n            printf '%s\\n' {_words(x.name for x in c.children)}"
        for p, c in root.walk()
        if c.children
    )
    values = "\n".join(
        f"        case {_sq(' '.join(p))}\n            printf '%s\\n' {_words(_value_flags(c))}"
        for p, c in root.walk()
        if _value_flags(c)
    )
    lines = []
    for path, command in root.walk():
        at = f"-n \"__stagewise_at '{' '.join(path)}'\""
        for child in command.children:
            lines.append(f"complete -c stagewise {at} -f -a {child.name} -d {_sq(child.help)}")
        if command.words:
            # a value-first command's words come before its sub-command ("deploy=": ENV not given yet)
            word_at = f"-n \"__stagewise_at '{' '.join(path)}='\"" if command.value_first else at
            lines.append(f"complete -c stagewise {word_at} -f -a {_sq(_words(command.words))}")
        for option in command.options:
            spell = " ".join(f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}" for f in option.flags)
            kind = ""
            if option.choices:
                kind = f" -x -a {_sq(_words(option.choices))}"
            elif option.takes_value:
                kind = " -r"
            lines.append(f"complete -c stagewise {at} {spell}{kind} -d {_sq(option.help)}")
    return (
        _header("fish")
        + f"""
function __stagewise_children
    switch "$argv[1]"
{children}
    end
end

function __stagewise_value_options
    switch "$argv[1]"
{values}
    end
end

# The command path before the cursor ("deploy up"), or "--" after pytest's separator.
function __stagewise_path
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmdpath ""
    set -l skip 0
    set -l pending 0
    for word in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        if test "$word" = "--"
            echo -- "--"
            return
        end
        if string match -q -- '-*' $word
            if not string match -q -- '*=*' $word; and contains -- $word (__stagewise_value_options "$cmdpath")
                set skip 1
            end
            continue
        end
        if test $pending = 1
            set pending 0
            continue
        end
        if contains -- $word (__stagewise_children "$cmdpath")
            set cmdpath (string trim -- "$cmdpath $word")
            contains -- "$cmdpath" {_words(" ".join(p) for p, c in root.walk() if c.value_first)}; and set pending 1
        end
    end
    test $pending = 1; and set cmdpath "$cmdpath="
    echo -- "$cmdpath"
end

function __stagewise_at
    test (__stagewise_path) = "$argv[1]"
end

{chr(10).join(lines)}
"""
    )


RENDERERS: dict[str, Callable[[Command], str]] = {"bash": bash, "zsh": zsh, "fish": fish}
