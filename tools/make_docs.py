"""Generate the man pages and shell completions of ``ktr`` and ``ktrdump`` from their parsers.

Run from the repository root after changing an option::

    python tools/make_docs.py            # rewrite share/
    python tools/make_docs.py --check    # exit 1 if share/ is out of date (the tests run this)

Outputs (committed, installed by ``pip install .`` as data files under the
environment's prefix, see pyproject.toml):

- ``share/man/man1/ktr.1``, ``share/man/man1/ktrdump.1`` (roff, ``man -l`` renders them);
- ``share/bash-completion/completions/ktr``, ``.../ktrdump``;
- ``share/zsh/site-functions/_ktr``, ``.../_ktrdump``.

The text comes from the argparse parsers themselves (options, metavars, help,
defaults, description and epilog), so the pages cannot say something the
commands do not do. Output is a pure function of the parsers: no dates.
This script is a developer tool; it is not part of the installed package.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import formats  # noqa: E402
import ktr  # noqa: E402
import ktrdump  # noqa: E402
from formats.linux import SYSCALL_CLASSES  # noqa: E402
from ktr import _options as record_options  # noqa: E402
from ktrdump import cli as dump_cli  # noqa: E402

SHARE = ROOT / "share"

KTR_NAME = "record what processes do into a trace file (ktrace for Linux)"
KTRDUMP_NAME = "decode ktr trace files: text, JSON Lines, strace, summaries, viewers' formats"

KTR_EXAMPLES = """\
ktr record -o out.ktr -- make -j2
ktr record -i -o out.ktr -- sh -c 'a | b'
ktr record -p 1234,1235 -o out.ktr
ktr record -e trace=%file -- cmd
ktr record -o - -- cmd | ktrdump -
"""

KTRDUMP_EXAMPLES = """\
ktrdump out.ktr
ktrdump -y --durations out.ktr
ktrdump --json out.ktr
ktrdump --format strace out.ktr
ktrdump --summary out.ktr
ktrdump --format chrome out.ktr > trace.json
ktrdump -l out.ktr
"""


# -- roff ----------------------------------------------------------------------


def _roff(text: str) -> str:
    """Escape text for roff: backslashes, hyphens, and lines starting with a control char."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return " ".join(formatter._expand_help(action).split())


def _option_heading(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"\\fI{_roff(str(action.metavar or action.dest))}\\fR"
    names = ", ".join(f"\\fB{_roff(name)}\\fR" for name in action.option_strings)
    if action.nargs == 0:
        return names
    metavar = action.metavar or (
        "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper())
    if action.nargs == "?":
        return f"{names} [\\fI{_roff(str(metavar))}\\fR]"
    return f"{names} \\fI{_roff(str(metavar))}\\fR"


def _paragraphs(text: str) -> list[str]:
    """Text blocks: indented lines keep their lines (.nf), prose becomes plain paragraphs.

    A block's runs of prose and of indented lines stay in their order, and an
    indented run loses only its common indentation, so a table's continuation
    lines stay under their column (as ``--help`` shows them)."""
    out: list[str] = []
    for block in text.strip("\n").split("\n\n"):
        for indented, run in itertools.groupby(block.split("\n"),
                                               key=lambda line: line.startswith("  ")):
            lines = list(run)
            if indented:
                out.append(".RS\n.nf\n" + _roff(textwrap.dedent("\n".join(lines)))
                           + "\n.fi\n.RE")
            else:
                out.append(".PP\n" + _roff(" ".join(lines)))
    return out


def _option_sections(parser: argparse.ArgumentParser, skip: Iterable[str] = ()) -> list[str]:
    out: list[str] = []
    skipped = set(skip)
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.dest not in skipped
                   and a.help is not argparse.SUPPRESS]
        if not actions:
            continue
        title = group.title or "options"
        out.append(f".SS {_roff(title[0].upper() + title[1:])}")
        for action in actions:
            out.append(f".TP\n{_option_heading(action)}\n{_roff(_expanded_help(parser, action))}")
    return out


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = parser.format_usage().removeprefix("usage: ").strip()
    return _roff(" ".join(usage.split()))


def _page(name: str, version: str, summary: str, synopsis: str,
          parser: argparse.ArgumentParser, examples: str, see_also: str) -> str:
    parts = [
        f'.TH {name.upper()} 1 "" "{name} {version}" "User Commands"',
        ".SH NAME",
        f"{name} \\- {_roff(summary)}",
        ".SH SYNOPSIS",
        synopsis,
        ".SH DESCRIPTION",
        *_paragraphs(parser.description or ""),
        ".SH OPTIONS",
        *_option_sections(parser, skip=("help",)),
        ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nShow the options and exit.",
    ]
    if parser.epilog:
        parts += [".SH NOTES", *_paragraphs(parser.epilog)]
    parts += [".SH EXAMPLES", ".nf", _roff(examples.rstrip("\n")), ".fi",
              ".SH SEE ALSO", see_also]
    return "\n".join(parts) + "\n"


def man_pages() -> dict[str, str]:
    record = record_options._build_parser()
    dump = dump_cli._parser()
    ktr_synopsis = _usage(record) + "\n.br\n.B ktr \\-\\-version"
    return {
        "man/man1/ktr.1": _page(
            "ktr", ktr.__version__, KTR_NAME, ktr_synopsis, record, KTR_EXAMPLES,
            ".BR ktrdump (1),\n.BR strace (1),\n.BR ptrace (2),\n.BR ktrace (1)"),
        "man/man1/ktrdump.1": _page(
            "ktrdump", ktrdump.__version__, KTRDUMP_NAME, _usage(dump), dump, KTRDUMP_EXAMPLES,
            ".BR ktr (1),\n.BR kdump (1),\n.BR strace (1),\n.BR jq (1)"),
    }


# -- completions -----------------------------------------------------------------

_FILE_METAVARS = ("FILE", "PREFIX", "DIR")


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _wants_file(action: argparse.Action) -> bool:
    metavar = str(action.metavar or "")
    return any(word in metavar for word in _FILE_METAVARS)


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options a user is shown: hidden ones (help=SUPPRESS) are not offered."""
    return [a for a in parser._actions if a.option_strings and a.help is not argparse.SUPPRESS]


#: The -t letters (ktr record's facilities, ktrdump's trace points: the same letters).
_LETTERS = "".join(formats.FACILITY_HELP)
#: -e's keys and the values each offers (a comma-separated set); ktr record has trace= only.
_EXPRESSION_KEYS = {
    "ktr": {"trace": " ".join(SYSCALL_CLASSES)},
    "ktrdump": {"trace": " ".join(SYSCALL_CLASSES),
                "status": "successful failed unfinished", "signal": ""},
}
#: How the machine's counter names are listed (-C): the command a user would run.
_COUNTERS = "$(ktr record --list-counters 2>/dev/null)"


def _bash_helpers(program: str) -> list[str]:
    """Shell functions the value cases call (``__PROGRAM_letters``, ``__PROGRAM_set``)."""
    return [
        f"__{program}_letters() {{  # -t: each letter not yet in the word, appended to it",
        f"    local letters={_LETTERS} j",
        "    COMPREPLY=()",
        "    for (( j = 0; j < ${#letters}; j++ )); do",
        '        [[ $cur == *"${letters:j:1}"* ]] || COMPREPLY+=("$cur${letters:j:1}")',
        "    done",
        "    compopt -o nospace 2>/dev/null",
        "}",
        f"__{program}_set() {{  # $1: what in $cur comes before a comma-separated set, "
        "$2: its values",
        '    local word=${cur#"$1"} head=""',
        '    if [[ $word == *,* ]]; then head=${word%,*},; word=${word##*,}; fi',
        "    if [[ $word == '!'* ]]; then head+='!'; word=${word#!}; fi",
        '    COMPREPLY=($(compgen -P "$1$head" -W "$2" -- "$word"))',
        "    compopt -o nospace 2>/dev/null",
        "}",
    ]


def _bash_expression(program: str) -> tuple[str, str]:
    """-e's case, and what goes before the case statement: bash splits ``trace=%f`` at
    ``=`` (COMP_WORDBREAKS), so ``=`` and the value may be words of their own (the
    word readline completes is then what follows ``=``)."""
    keys = _EXPRESSION_KEYS[program]
    split = [f'        {key}) __{program}_set "" "{values}"; return ;;'
             for key, values in keys.items() if values]
    before = "\n".join([
        "    local key=",
        "    if [[ $cur == = && ${COMP_WORDS[COMP_CWORD-2]} == -e ]]; then",
        "        key=$prev cur=",
        "    elif [[ $prev == = && ${COMP_WORDS[COMP_CWORD-3]} == -e ]]; then",
        "        key=${COMP_WORDS[COMP_CWORD-2]}",
        "    fi",
        "    case $key in",
        *split,
        "    esac",
    ])
    joined = [f'[[ $cur == {key}=* ]]; then __{program}_set {key}= "{values}"'
              for key, values in keys.items() if values]
    offered = " ".join(f"{key}=" for key in keys)
    case = ("if " + "; elif ".join(joined)
            + f'; else COMPREPLY=($(compgen -W "{offered}" -- "$cur")); '
              "compopt -o nospace 2>/dev/null; fi; return ;;")
    return before, case


def _bash_function(function: str, parser: argparse.ArgumentParser, words: str) -> str:
    program = function.lstrip("_")
    before, expression = _bash_expression(program)
    cases = []
    for action in _options(parser):
        if not _takes_value(action) or action.nargs == "?":
            continue
        names = "|".join(action.option_strings)
        if action.dest == "facilities":
            cases.append(f"        {names}) __{program}_letters; return ;;")
        elif "-e" in action.option_strings:
            cases.append(f"        {names}) {expression}")
        elif action.dest == "counters":
            cases.append(f'        {names}) __{program}_set "" "{_COUNTERS}"; return ;;')
        elif action.choices:
            choices = " ".join(map(str, action.choices))
            cases.append(f'        {names}) COMPREPLY=($(compgen -W "{choices}" -- "$cur")); '
                         "return ;;")
        elif _wants_file(action):
            cases.append(f'        {names}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
        elif action.dest == "pids":
            cases.append(f'        {names}) COMPREPLY=($(compgen -W "$(ps -e -o pid=)" '
                         '-- "$cur")); return ;;')
        else:
            cases.append(f"        {names}) return ;;")
    options = " ".join(name for a in _options(parser) for name in a.option_strings)
    return "\n".join([
        *_bash_helpers(program),
        f"{function}() {{",
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
        words,
        before,
        '    case "$prev" in',
        *cases,
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        f'        COMPREPLY=($(compgen -W "{options}" -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -f -- "$cur"))',
        "    fi",
        "}",
    ])


def bash_completions() -> dict[str, str]:
    header = "# bash completion for {name} (generated by tools/make_docs.py from its parser)\n"
    ktr_words = "\n".join([
        "    local i",
        "    if (( COMP_CWORD == 1 )); then",
        '        COMPREPLY=($(compgen -W "record --version --help" -- "$cur")); return',
        "    fi",
        "    for (( i = 2; i < COMP_CWORD; i++ )); do",
        '        if [[ "${COMP_WORDS[i]}" == -- ]]; then',
        # bash-completion's _command_offset completes the command as its own; without
        # it, the command's name is a command and its arguments are files
        '            _command_offset $((i + 1)) 2>/dev/null && return',
        "            if (( COMP_CWORD == i + 1 )); then",
        '                COMPREPLY=($(compgen -c -- "$cur"))',
        "            else",
        '                COMPREPLY=($(compgen -f -- "$cur"))',
        "            fi",
        "            return",
        "        fi",
        "    done",
    ])
    return {
        "bash-completion/completions/ktr": header.format(name="ktr") + _bash_function(
            "_ktr", record_options._build_parser(), ktr_words)
        + "\ncomplete -o filenames -F _ktr ktr\n",
        "bash-completion/completions/ktrdump": header.format(name="ktrdump") + _bash_function(
            "_ktrdump", dump_cli._parser(), "")
        + "\ncomplete -o filenames -F _ktrdump ktrdump\n",
    }


def _zsh_quote(text: str) -> str:
    """An ``_arguments`` description (inside ``[...]``, in single quotes): ``[ ] :`` and
    backslashes escaped for _arguments, ``'`` for the shell."""
    text = text.replace("\\", "\\\\")
    for char in "[]:":
        text = text.replace(char, "\\" + char)
    return text.replace("'", "'\\''")


def _zsh_message(text: str) -> str:
    """An ``_arguments`` message (between colons): only colons are special there."""
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "'\\''")


#: Longest one-line description a completion shows (a menu line, not the man page).
DESCRIPTION_LIMIT = 100


def _top_level(text: str) -> list[tuple[int, str]]:
    """(index, char) of the characters outside any (...) or [...] of ``text``."""
    depth = 0
    out = []
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
        elif not depth:
            out.append((index, char))
    return out


def _without_parentheticals(text: str) -> str:
    """``text`` less its top-level ``(...)`` asides (and the space before each);
    a ``(...)`` inside ``[...]`` (a syntax, as ``[(TYPES)]``) stays."""
    out: list[str] = []
    brackets = parentheses = 0
    for char in text:
        if parentheses:
            parentheses += (char == "(") - (char == ")")
            continue
        if char == "(" and not brackets:
            parentheses = 1
            while out and out[-1] == " ":
                out.pop()
            continue
        brackets += (char == "[") - (char == "]" and brackets > 0)
        out.append(char)
    return "".join(out).strip()


def short_description(help_text: str) -> str:
    """A completion menu's description of an option: its help's first sentence.

    The first clause outside parentheses (up to ``;`` or ``. ``); when that is
    longer than DESCRIPTION_LIMIT, without its parenthetical asides; when still
    longer, cut between words outside brackets and marked with "...": never
    inside a word, never leaving a bracket open.
    """
    text = " ".join(help_text.split())
    for index, char in _top_level(text):
        if char == ";" or (char == "." and text[index + 1:index + 2] == " "):
            text = text[:index]
            break
    if len(text) > DESCRIPTION_LIMIT:
        text = _without_parentheticals(text)
    if len(text) > DESCRIPTION_LIMIT:
        cut = max((index for index, char in _top_level(text)
                   if char == " " and index <= DESCRIPTION_LIMIT - 3), default=0)
        text = text[:cut].rstrip(",:") + "..."
    return text


def _repeatable(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._AppendAction, argparse._AppendConstAction,
                               argparse._CountAction))


def _zsh_helpers(program: str) -> list[str]:
    """Functions the value specs name: -t's letters, -e's sets, -C's counter names."""
    keys = _EXPRESSION_KEYS[program]
    branches = [f"    {'if' if index == 0 else 'elif'} compset -P '{key}='; then "
                f'__{program}_set "{values}"'
                for index, (key, values) in enumerate(keys.items()) if values]
    offered = " ".join(f"{key}=" for key in keys)
    return [
        f"__{program}_letters() {{  # -t: each letter not yet in the word",
        "    local -a letters",
        "    local letter",
        f"    for letter in ${{(s::):-{_LETTERS}}}; do",
        "        [[ $PREFIX$SUFFIX == *$letter* ]] || letters+=($letter)",
        "    done",
        "    compset -P '*'",
        "    compadd -S '' -a letters",
        "}",
        f"__{program}_set() {{  # $1: the values of a comma-separated set (! inverts)",
        "    compset -P '*,'",
        "    compset -P '!'",
        "    compadd -S '' -- ${=1}",
        "}",
        f"__{program}_expression() {{  # -e KEY=SET",
        *branches,
        f"    else compadd -S '' {offered}",
        "    fi",
        "}",
        *([f"__{program}_counters() {{  # -C: as ktr record --list-counters lists them",
            f'    __{program}_set "{_COUNTERS}"',
            "}"] if program == "ktr" else []),
    ]


def _zsh_specs(parser: argparse.ArgumentParser, program: str) -> list[str]:
    specs = []
    for action in _options(parser):
        description = _zsh_quote(short_description(_expanded_help(parser, action)))
        if _takes_value(action) and action.nargs != "?":
            metavar = _zsh_message(str(action.metavar or action.dest))
            if action.dest == "facilities":
                value = f":{metavar}:__{program}_letters"
            elif "-e" in action.option_strings:
                value = f":{metavar}:__{program}_expression"
            elif action.dest == "counters":
                value = f":{metavar}:__{program}_counters"
            elif action.choices:
                value = f":{metavar}:({' '.join(map(str, action.choices))})"
            elif _wants_file(action):
                value = f":{metavar}:_files"
            elif action.dest == "pids":
                value = f":{metavar}:_pids"
            else:
                value = f":{metavar}: "
        else:
            value = ""
        repeat = "*" if _repeatable(action) else ""
        for name in action.option_strings:
            specs.append(f"'{repeat}{name}[{description}]{value}'")
    return specs


def zsh_completions() -> dict[str, str]:
    record_specs = " \\\n        ".join(_zsh_specs(record_options._build_parser(), "ktr"))
    dump_specs = " \\\n    ".join(_zsh_specs(dump_cli._parser(), "ktrdump"))
    ktr = "\n".join([
        "#compdef ktr",
        "# zsh completion for ktr (generated by tools/make_docs.py from its parser)",
        *_zsh_helpers("ktr"),
        "if (( CURRENT == 2 )); then",
        "    compadd record --version --help",
        "elif [[ $words[2] == record ]]; then",
        "    shift words",
        "    (( CURRENT-- ))",
        f"    _arguments -s -S \\\n        {record_specs} \\\n        '*::command:_normal'",
        "fi",
    ]) + "\n"
    dump = "\n".join([
        "#compdef ktrdump",
        "# zsh completion for ktrdump (generated by tools/make_docs.py from its parser)",
        *_zsh_helpers("ktrdump"),
        f"_arguments -s \\\n    {dump_specs} \\\n    '*:trace file:_files'",
    ]) + "\n"
    return {"zsh/site-functions/_ktr": ktr, "zsh/site-functions/_ktrdump": dump}


def outputs() -> dict[str, str]:
    return {**man_pages(), **bash_completions(), **zsh_completions()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for relative, text in outputs().items():
        path = SHARE / relative
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print(f"make_docs: out of date (run python tools/make_docs.py): {', '.join(stale)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
