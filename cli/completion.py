"""`eventreplay completion bash|zsh|fish`: shell completion scripts generated from the argparse parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

COMMANDS = ("eventreplay", "kubectl-eventreplay")
"""The names the scripts complete: the command and its kubectl plugin (the same parser)."""
SHELLS = ("bash", "zsh", "fish")
FILES = frozenset({"manifest", "kubeconfig", "log_dir"})
"""Arguments (by dest) that name a file or folder: completed from the file system."""


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]
    files: bool


@dataclass(frozen=True)
class Positional:
    name: str
    choices: tuple[str, ...]
    files: bool


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]


def _help(action: argparse.Action) -> str:
    text = (action.help or "").replace("%(default)s", str(action.default)).replace("%%", "%")
    return text.splitlines()[0] if text and text != argparse.SUPPRESS else ""


def _options(parser: argparse.ArgumentParser) -> tuple[Option, ...]:
    return tuple(
        Option(
            tuple(a.option_strings),
            _help(a),
            a.nargs != 0,
            tuple(str(c) for c in a.choices or ()),
            a.dest in FILES,
        )
        for a in parser._actions
        if a.option_strings
    )


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def model(parser: argparse.ArgumentParser) -> tuple[tuple[Option, ...], tuple[Command, ...]]:
    """The top level's options and every subcommand with its options and positionals, as the parser has them."""
    sub = _subparsers(parser)
    helps = {a.dest: _help(a) for a in sub._choices_actions}
    commands = tuple(
        Command(
            name,
            helps.get(name, ""),
            _options(child),
            tuple(
                Positional(a.dest, tuple(str(c) for c in a.choices or ()), a.dest in FILES)
                for a in child._actions
                if not a.option_strings
            ),
        )
        for name, child in sub.choices.items()
    )
    return _options(parser), commands


def render(parser: argparse.ArgumentParser, shell: str) -> str:
    top, commands = model(parser)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](top, commands)


# --- bash: one function; the first word that names a command picks its flags and values.


def _bash_command(cmd: Command) -> list[str]:
    lines = [f"        {cmd.name})", '            case "$prev" in']
    for opt in (o for o in cmd.options if o.takes_value):
        if opt.choices:
            reply = f'COMPREPLY=($(compgen -W "{" ".join(opt.choices)}" -- "$cur"))'
        elif opt.files:
            reply = 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))'
        else:
            reply = ":"  # a value of the user's own (a number, a name): nothing to offer
        lines.append(f"                {'|'.join(opt.flags)}) {reply}; return ;;")
    flags = " ".join(f for o in cmd.options for f in o.flags)
    words = " ".join(c for p in cmd.positionals for c in p.choices)
    lines += [
        "            esac",
        '            if [[ "$cur" == -* ]]; then',
        f'                COMPREPLY=($(compgen -W "{flags}" -- "$cur"))',
        "            else",
        f'                COMPREPLY=($(compgen -W "{words}" -- "$cur"))',
    ]
    if any(p.files for p in cmd.positionals):
        lines.append('                compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur"))')
    lines += ["            fi", "            ;;"]
    return lines


def _bash(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    names = " ".join(c.name for c in commands)
    first = " ".join([names, *(f for o in top for f in o.flags)])
    lines = [
        f"# bash completion for {' and '.join(COMMANDS)}: source <(eventreplay completion bash)",
        "_eventreplay() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        f'            {"|".join(c.name for c in commands)}) cmd="${{COMP_WORDS[i]}}"; break ;;',
        "        esac",
        "    done",
        '    case "$cmd" in',
        f'        "") COMPREPLY=($(compgen -W "{first}" -- "$cur")) ;;',
    ]
    for cmd in commands:
        lines += _bash_command(cmd)
    lines += ["    esac", "}", f"complete -F _eventreplay {' '.join(COMMANDS)}", ""]
    return "\n".join(lines)


# --- zsh: _arguments specs, one set per command.


def _zq(text: str) -> str:
    """Text inside a single-quoted _arguments spec: quotes closed and reopened, brackets and colons escaped."""
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh_action(name: str, choices: tuple[str, ...], files: bool) -> str:
    if choices:
        return f"{name}:({' '.join(choices)})"
    return f"{name}:_files" if files else f"{name}: "


def _zsh_option(opt: Option, group: str | None = None) -> str:
    """One option's spec; `group` lists what it excludes (default: its other spellings)."""
    flags = opt.flags[0] if len(opt.flags) == 1 else "{" + ",".join(opt.flags) + "}"
    if group is None:
        group = f"'({' '.join(opt.flags)})'" if len(opt.flags) > 1 else ""
    value = f":{_zsh_action(opt.flags[-1].lstrip('-'), opt.choices, opt.files)}" if opt.takes_value else ""
    return f"{group}{flags}'[{_zq(opt.help)}]{value}'"


ALONE = "'(- *)'"
"""zsh's exclusion of every other argument: what --help and --version have (nothing follows them)."""


def _zsh(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    lines = [
        f"#compdef {' '.join(COMMANDS)}",
        "# zsh completion for eventreplay: source <(eventreplay completion zsh) (after compinit)",
        "_eventreplay() {",
        '    local curcontext="$curcontext" state line',
        "    local -a commands",
        "    commands=(",
        *(f"        '{c.name}:{_zq(c.help)}'" for c in commands),
        "    )",
        "    _arguments -C \\",
        *(f"        {_zsh_option(o, ALONE)} \\" for o in top),
        "        '1:command:->command' '*::argument:->argument'",
        "    case $state in",
        "        command) _describe -t commands 'eventreplay command' commands ;;",
        "        argument)",
        "            case $words[1] in",
    ]
    for cmd in commands:
        specs = [_zsh_option(o) for o in cmd.options]
        specs += [f"'{i}:{_zsh_action(p.name, p.choices, p.files)}'" for i, p in enumerate(cmd.positionals, 1)]
        lines.append(f"                {cmd.name}) _arguments {' '.join(specs)} ;;")
    lines += [
        "            esac ;;",
        "    esac",
        "}",
        # Autoloaded from $fpath the file is the function's body; sourced, it registers the function.
        'if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then',
        '    _eventreplay "$@"',
        "else",
        f"    compdef _eventreplay {' '.join(COMMANDS)}",
        "fi",
        "",
    ]
    return "\n".join(lines)


# --- fish: one `complete` line per command, flag and value, guarded by the command seen.


def _fq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_option(opt: Option, guard: str) -> str:
    parts = [f"complete -c $cmd -n {guard}"]
    for flag in opt.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if opt.choices:
        parts.append(f"-x -a {_fq(' '.join(opt.choices))}")
    elif opt.takes_value:
        parts.append("-r -F" if opt.files else "-x")
    if opt.help:
        parts.append(f"-d {_fq(opt.help)}")
    return "    " + " ".join(parts)


def _fish(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    lines = [
        "# fish completion for eventreplay: eventreplay completion fish | source",
        f"for cmd in {' '.join(COMMANDS)}",
        "    complete -c $cmd -f",
        *(_fish_option(o, "__fish_use_subcommand") for o in top),
        *(f"    complete -c $cmd -n __fish_use_subcommand -a {c.name} -d {_fq(c.help)}" for c in commands),
    ]
    for cmd in commands:
        guard = _fq(f"__fish_seen_subcommand_from {cmd.name}")
        lines += [_fish_option(o, guard) for o in cmd.options]
        words = " ".join(c for p in cmd.positionals for c in p.choices)
        if words:
            lines.append(f"    complete -c $cmd -n {guard} -a {_fq(words)}")
        if any(p.files for p in cmd.positionals):
            lines.append(f"    complete -c $cmd -n {guard} -F")
    lines += ["end", ""]
    return "\n".join(lines)
