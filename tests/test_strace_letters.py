"""An strace user's command line works: strace's letters that kdump's options also use.

kdump's ``-f FILE`` names the trace; strace's ``-f`` (follow forks) takes no
value, and ``ktrdump --format strace -f -tt -T -y t.ktr`` used to stop at
``argument -f: expected one argument``. Under ``--format strace`` a ``-f``
naming no file is strace's and changes nothing (every process is shown, as
strace -f shows them); ``-s N`` is strace's string size; ``-c -w`` is the
summary. kdump's ``-f FILE`` keeps working; in kdump's formats a ``-f`` naming
no file is one line saying what to do.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parent and a child it forks (two processes), and a long string."""
    path = tmp_path_factory.mktemp("letters") / "f.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", str(path), "--", "sh", "-c",
                    "cat /etc/hostname > /dev/null; echo "
                    "0123456789012345678901234567890123456789012345678901234567890123456789"
                    " > /dev/null"],
                   check=True, timeout=60)
    return path


def dump(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, *arguments], capture_output=True, text=True, timeout=60)


def test_strace_f_is_accepted_and_changes_nothing(trace: Path) -> None:
    plain = dump("--format", "strace", "-tt", "-T", "-y", str(trace))
    assert plain.returncode == 0, plain.stderr
    # Both processes are there without -f: strace -f's view is the only one.
    assert len({line.split()[0] for line in plain.stdout.splitlines()}) == 2
    for words in (("-f", "-tt", "-T", "-y", str(trace)), ("-tt", "-T", "-y", str(trace), "-f"),
                  ("-tt", "-f", "-T", "-y", "--", str(trace))):
        copied = dump("--format", "strace", *words)
        assert (copied.returncode, copied.stderr) == (0, ""), words
        assert copied.stdout == plain.stdout, words


def test_kdumps_f_file_still_names_the_trace(trace: Path) -> None:
    given = dump("--format", "strace", "-f", str(trace))
    assert given.returncode == 0, given.stderr
    assert given.stdout == dump("--format", "strace", str(trace)).stdout
    text = dump("-f", str(trace))
    assert text.returncode == 0, text.stderr
    assert "execve" in text.stdout


def test_f_naming_no_file_in_kdump_format_is_one_line(trace: Path) -> None:
    done = dump("-f", "-tt", str(trace))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "follow forks" in lines[0] and "--format strace" in lines[0]
    assert done.stdout == ""


def test_strace_s_is_the_string_size(trace: Path) -> None:
    wide = dump("--format", "strace", "-s", "64", str(trace))
    assert wide.returncode == 0, wide.stderr
    assert wide.stdout == dump("--format", "strace", "-m", "64", str(trace)).stdout
    assert wide.stdout != dump("--format", "strace", str(trace)).stdout  # 32 by default
    assert '"01234567890123456789012345678901234567890123456789012345678901234"...' \
        not in wide.stdout  # (a 64-byte cut ends at 64, not 65)
    assert "0123456789012345678901234567890123456789012345678901234567890123\"..." \
        in wide.stdout


def test_summary_takes_stracess_w(trace: Path) -> None:
    with_w = dump("-c", "-w", str(trace))
    assert with_w.returncode == 0, with_w.stderr
    assert with_w.stdout == dump("-c", str(trace)).stdout
    assert "syscall" in with_w.stdout
    for joined in ("-cw", "-wc"):  # strace -cw (argparse refused: "ignored explicit argument 'w'")
        together = dump(joined, str(trace))
        assert together.returncode == 0, together.stderr
        assert together.stdout == with_w.stdout


@pytest.mark.parametrize("letters", [["-tt", "-T"], ["-ttt"], ["-T", "-tt"]])
def test_straces_tt_in_kdump_format_is_one_line(trace: Path, letters: list[str]) -> None:
    """kdump reads -tt as -t t (the STRUCT records alone): with -T that was a view of
    STRU lines with times, where an strace user asked for every call with times."""
    done = dump(*letters, str(trace))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "strace's time of day" in lines[0] and "--format strace" in lines[0]
    assert "-T (absolute)" in lines[0] and "-t t" in lines[0]
    assert done.stdout == ""


def test_kdumps_t_and_T_keep_their_meaning(trace: Path) -> None:
    structs = dump("-t", "t", "-T", str(trace))
    assert structs.returncode == 0, structs.stderr
    lines = structs.stdout.splitlines()
    assert lines and all(" STRU " in line for line in lines)
    assert all(re.search(r" \d{10}\.\d{9} STRU ", line) for line in lines)  # -T: absolute
    strace = dump("--format", "strace", "-tt", "-T", str(trace))
    assert strace.returncode == 0, strace.stderr
    assert re.search(r"^\d+ +\d\d:\d\d:\d\d\.\d{6} execve\(.* <\d+\.\d{6}>$", strace.stdout,
                     re.MULTILINE)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize("letter", ["-x", "-xx"])
def test_strace_x_and_xx_are_strings_in_hex(tmp_path: Path, letter: str) -> None:
    """strace -x: a string with a byte neither printable nor whitespace, all in hex
    (``"vm\\n"`` stays); -xx: every string in hex. Paths and data alike, as strace's."""
    odd = tmp_path / "caf\351\n\001\tx".encode("latin-1").decode("utf-8", "surrogateescape")
    odd.write_bytes(b"\x7fELF\n")
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"vm\n")
    command = ["cat", str(plain), str(odd)]
    trace = tmp_path / "x.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", *command], check=True,
                   timeout=60, stdout=subprocess.DEVNULL)
    log = tmp_path / "strace.txt"
    subprocess.run(["strace", letter, "-e", "trace=openat,read", "-o", str(log), *command],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    done = dump("--format", "strace", letter, str(trace))
    assert done.returncode == 0, done.stderr

    def calls(text: str) -> list[str]:
        lines = [re.sub(r"\) +=", ") =", re.sub(r"^\d+ +[\d.]+ ", "", line))
                 for line in text.splitlines() if re.search(r"^(\d+ +[\d.]+ )?(openat|read)\(",
                                                            line)]
        return [re.sub(r" <[\d.]+>$", "", line) for line in lines]

    theirs = calls(log.read_text())
    assert calls(done.stdout) == theirs
    assert any(line.startswith('read(3, "\\x7f\\x45\\x4c\\x46\\x0a", ') for line in theirs)
    vm = '"vm\\n"' if letter == "-x" else '"\\x76\\x6d\\x0a"'
    assert any(line.startswith(f"read(3, {vm}, ") for line in theirs)


def test_yy_is_y_with_a_note_saying_what_it_cannot_show(tmp_path: Path) -> None:
    # strace -yy names a socket by its endpoints (TCP:[127.0.0.1:80->...]); no trace holds
    # them: -yy used to be taken as -y without a word
    out = tmp_path / "s.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(out), "--", sys.executable, "-c",
                    "import socket; a, b = socket.socketpair(); a.send(b'x'); b.recv(1)"],
                   check=True, timeout=60)
    plain = dump("--format", "strace", "-y", "-e", "trace=sendto,recvfrom", str(out))
    both = dump("--format", "strace", "-yy", "-e", "trace=sendto,recvfrom", str(out))
    assert plain.returncode == both.returncode == 0 and plain.stderr == ""
    assert both.stdout == plain.stdout and "<socket:[" in plain.stdout
    assert both.stderr.splitlines() == [
        "ktrdump: -yy: the trace holds no socket endpoints (the recorder does not read "
        "them); sockets are shown as -y shows them, socket:[INODE]"]
