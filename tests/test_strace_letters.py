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


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize("letters", [["-ttT", "-s8"], ["-tT"], ["-tttT"], ["-Tx"], ["-xs", "10"],
                                     ["-fttT", "-s5", "-xx"], ["-xxx"], ["-s100"], ["-rT"],
                                     ["-Tr"], ["-fT"]])
def test_bundled_letters_are_read_as_strace_reads_them(tmp_path: Path,
                                                       letters: list[str]) -> None:
    """strace's getopt reads ``-ttT`` as -tt -T and ``-s100`` as -s 100; ktrdump compared
    whole words: ``-ttT`` was kdump's ``-t tT`` ("unknown trace facility 'T'"), ``-s100``
    was refused, ``-xs 10`` took 10 for a file, and ``-Tx`` silently printed no hex.
    Oracle: strace's own lines for the same command and letters (times and durations
    compared by their shape)."""
    data = tmp_path / "data.bin"
    data.write_bytes(b"\x7fELF\x02\x01 hello, a line longer than thirty-two bytes, and more\n")
    command = ["cat", str(data)]
    trace = tmp_path / "b.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", *command], check=True,
                   timeout=60, stdout=subprocess.DEVNULL)
    log = tmp_path / "strace.txt"
    subprocess.run(["strace", *letters, "-e", "trace=openat,read", "-o", str(log), *command],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    done = dump("--format", "strace", *letters, "-e", "trace=openat,read", str(trace))
    assert (done.returncode, done.stderr) == (0, ""), letters

    # Without -t, -tt, -ttt, -r or -T, ktrdump's lines carry -ttt's and -T's columns
    # (strace -f -ttt -T's layout, documented): then only the calls are compared.
    timed = any(letter in word for word in letters for letter in "tTr")
    # strace -f -o FILE puts the pid first, as ktrdump's thread column always is.
    followed = any("f" in word for word in letters)

    def calls(text: str, thread_column: bool) -> list[str]:
        shown = []
        for line in text.splitlines():
            if thread_column:
                line = re.sub(r"^\d+ +", "", line)
            found = re.match(r"^([\d:. ]*?)((?:openat|read)\(.*)$", line)
            if found is None:
                continue
            prefix, call = found.groups()
            call = re.sub(r"\) +=", ") =", call)
            if not timed:
                prefix, call = "", re.sub(r" <\d+\.\d{6}>$", "", call)
            call = re.sub(r" <\d+\.\d{6}>$", " <D>", call)
            shown.append(re.sub(r"\d", "9", prefix.strip()) + "|" + call)
        return shown

    theirs = calls(log.read_text(), thread_column=followed)
    assert len(theirs) >= 4, theirs  # ld.so.cache, libc, data.bin: opened and read
    assert calls(done.stdout, thread_column=True) == theirs


def test_kdumps_t_letters_under_strace_format_say_what_to_write(trace: Path,
                                                                tmp_path: Path) -> None:
    """``--format strace -t w t.ktr``: strace's -t takes no value, so ``w`` was read as a
    trace file ("ktrdump: w: No such file or directory"): a kdump user meant trace points."""
    done = subprocess.run([KTRDUMP, "--format", "strace", "-t", "cn", str(trace)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "strace's time of day" in lines[0] and "--trace-points cn" in lines[0]
    # A trace that is really named so is read, with strace's -t.
    (tmp_path / "cn").write_bytes(trace.read_bytes())
    named = subprocess.run([KTRDUMP, "--format", "strace", "-t", "cn"], capture_output=True,
                           text=True, timeout=60, cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert re.search(r"^\d+ +\d\d:\d\d:\d\d execve\(", named.stdout, re.MULTILINE)


def test_bundled_yy_says_what_it_cannot_show_too(trace: Path) -> None:
    done = dump("--format", "strace", "-yyT", str(trace))
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "ktrdump: -yy: the trace holds no socket endpoints (the recorder does not read "
        "them); sockets are shown as -y shows them, socket:[INODE]"]
    assert done.stdout == dump("--format", "strace", "-yy", "-T", str(trace)).stdout
