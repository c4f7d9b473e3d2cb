"""Calls strace decodes with a printer of its own, against strace itself.

One C program (compiled in the test) makes each call once; it runs under
``strace -f`` and under ``ktr record``, and each call's line of
``ktrdump --format strace`` must equal strace's (addresses and process ids
masked): the offsets splice, copy_file_range and sendfile read (and sendfile
advances), splice's flags, waitid's idtype, the pidfd clone3 returns,
process_vm_readv's and process_vm_writev's vectors, sendmmsg's and recvmmsg's messages (their
names and control data too) and io_uring_setup's parameters.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from strace_corpus import TRANSFER_C, parse

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")
GCC = shutil.which("gcc")

pytestmark = pytest.mark.skipif(STRACE is None or GCC is None,
                                reason="strace or gcc is not installed")

_PROGRAM = TRANSFER_C  # the corpus program "transfer" (python tests/strace_corpus.py)

#: The calls compared; the program makes no other call of these names.
_COMPARED = ("splice", "sendfile", "copy_file_range", "process_vm_readv", "process_vm_writev",
             "sendmmsg", "recvmmsg", "io_uring_setup", "clone3", "waitid")
#: the port the kernel chose for the UDP socket (bound to port 0), and the sender's
_PORT = re.compile(r"htons\(\d+\)")
_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")
#: io_uring features newer than the installed strace (6.1) knows: it prints them in
#: hex, ktrdump by name (Linux 6.18's names); compared below
_NEWER_FEATURES = re.compile(r"\|(?:IORING_FEAT_(?:REG_REG_RING|RECVSEND_BUNDLE|MIN_TIMEOUT|"
                             r"RW_ATTR|NO_IOWAIT)|0x[0-9a-f]+)(?=[|,])")
#: waitid's child and clone3's: its id differs between the two runs
_CHILD = re.compile(r"(si_pid|parent_tid)=\[?\d+\]?")


def _lines(text: str) -> list[str]:
    lines = []
    for calls in parse(text).values():
        for call in calls:
            if call.name in _COMPARED:
                result = "PID" if call.name == "clone3" else call.result
                arguments = re.sub(r"^\d+, ", "PID, ", call.args) if call.name.startswith(
                    "process_vm") else call.args
                shown = f"{call.name}({arguments}) = {result}"
                shown = _NEWER_FEATURES.sub("", _ADDRESS.sub("ADDRESS", shown))
                lines.append(_PORT.sub("htons(PORT)", _CHILD.sub(r"\1=N", shown)))
    return lines


def test_transfer_and_process_calls_match_strace(tmp_path: Path) -> None:
    source = tmp_path / "calls.c"
    source.write_text(_PROGRAM)
    program = tmp_path / "calls"
    assert GCC is not None and STRACE is not None
    subprocess.run([GCC, "-O0", "-o", str(program), str(source)], check=True, timeout=120)
    (tmp_path / "data.txt").write_text("0123456789abcdef\n")
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-ttt", "-T", "-o", str(reference), str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    trace = tmp_path / "calls.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    theirs = _lines(reference.read_text())
    assert _lines(ours) == theirs
    # What strace 6.1 printed when this was written: the forms compared above.
    assert theirs[:5] == [
        "splice(3, [0], 6, NULL, 4, SPLICE_F_MOVE) = 4",
        "sendfile(4, 3, [0] => [8], 8) = 8",
        "sendfile(4, 3, [8], 0) = 0",
        "sendfile(4, -1, [8], 8) = -1 EBADF (Bad file descriptor)",
        "copy_file_range(3, [0], 4, [8], 4, 0) = 4",
    ]
    assert theirs[5:7] == [
        "process_vm_readv(PID, [{iov_base=\"remote!\\0\", iov_len=8}], 1,"
        " [{iov_base=ADDRESS, iov_len=8}], 1, 0) = 8",
        "process_vm_writev(PID, [{iov_base=\"ab\", iov_len=2}, {iov_base=\"cd\", iov_len=2}],"
        " 2, [{iov_base=ADDRESS, iov_len=8}], 1, 0) = 4",
    ]
    del theirs[5:7]
    assert theirs[5] == (
        "sendmmsg(7, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"one\","
        " iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=3}, {msg_hdr="
        "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"two!\", iov_len=4}], msg_iovlen=1,"
        " msg_controllen=0, msg_flags=0}, msg_len=4}], 2, 0) = 2")
    assert theirs[6] == ("io_uring_setup(0, {flags=0, sq_thread_cpu=0, sq_thread_idle=0})"
                         " = -1 EINVAL (Invalid argument)")
    assert re.match(r"io_uring_setup\(4, \{flags=0, sq_thread_cpu=0, sq_thread_idle=0, "
                    r"sq_entries=4, cq_entries=8, features=IORING_FEAT_SINGLE_MMAP\|", theirs[7])
    assert re.fullmatch(r"clone3\(\{flags=CLONE_PIDFD\|CLONE_PARENT_SETTID, pidfd=ADDRESS, "
                        r"parent_tid=ADDRESS, exit_signal=SIGCHLD, stack=NULL, stack_size=0\}"
                        r" => \{pidfd=\[\d+\], parent_tid=N\}, 88\) = PID",
                        theirs[8])
    assert re.fullmatch(r"waitid\(P_PIDFD, \d+, \{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N,"
                        r" si_uid=0, si_status=0, si_utime=158 /\* 1\.58 s \*/, si_stime=0\},"
                        r" WEXITED, NULL\) = 0", theirs[9])
    # sendmmsg's and recvmmsg's names and control data (an fd in SCM_RIGHTS)
    control = "msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=["
    mmsg = [line for line in theirs if "mmsg(" in line][1:]
    assert len(mmsg) == 4 and control + "3]}]" in mmsg[0] and mmsg[1].startswith("recvmmsg(")
    assert mmsg[1].count("msg_control=") == 1 and re.search(r"cmsg_data=\[\d+\]}], "
                                                            r"msg_controllen=24", mmsg[1])
    name = ("msg_name={sa_family=AF_INET, sin_port=htons(PORT), "
            "sin_addr=inet_addr(\"127.0.0.1\")}, msg_namelen=16")
    assert name in mmsg[2] and name in mmsg[3] and mmsg[3].startswith("recvmmsg(")
    assert ("cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=if_nametoindex("
            "\"lo\"), ipi_spec_dst=inet_addr(\"127.0.0.1\"), ipi_addr=inet_addr(\"127.0.0.1\")}}"
            in mmsg[3]) and "cmsg_type=IP_TTL, cmsg_data=[64]}" in mmsg[3]
    # every feature bit this kernel reports has a name (strace 6.1 left some in hex)
    features = re.search(r"io_uring_setup\(4, .*?features=([^,]*)", ours)
    assert features is not None and "0x" not in features.group(1)


def test_new_fds_of_clone3_and_io_uring_setup_are_described_under_y(tmp_path: Path) -> None:
    """``-y``: clone3's pidfd, waitid's P_PIDFD id, io_uring_setup's fd and the fd recvmmsg
    received in SCM_RIGHTS with what they are."""
    source = tmp_path / "calls.c"
    source.write_text(_PROGRAM)
    program = tmp_path / "calls"
    assert GCC is not None and STRACE is not None
    subprocess.run([GCC, "-O0", "-o", str(program), str(source)], check=True, timeout=120)
    (tmp_path / "data.txt").write_text("0123456789abcdef\n")
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    trace = tmp_path / "calls.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "-y", "--format", "strace", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout

    def described(text: str) -> list[str]:
        # a socket's inode differs between the two runs
        return [re.sub(r"socket:\[[^\]]*\]", "socket:[]", line) for line in _lines(text)
                if line.startswith(("io_uring_setup(4", "clone3", "waitid", "recvmmsg",
                                    "sendmmsg"))]

    theirs = described(reference.read_text())
    assert described(ours) == theirs
    others = [line for line in theirs if not line.startswith(("sendmmsg", "recvmmsg"))]
    assert others[0].endswith("= 9<anon_inode:[io_uring]>")
    assert re.search(r"pidfd=\[(\d+)<anon_inode:\[pidfd\]>\]", others[1])
    assert re.match(r"waitid\(P_PIDFD, \d+<anon_inode:\[pidfd\]>, ", others[2])
    data = re.escape(str((tmp_path / "data.txt").resolve()))
    sent = [line for line in theirs if line.startswith("sendmmsg(")][1]
    assert re.search(rf"cmsg_type=SCM_RIGHTS, cmsg_data=\[3<{data}>\]", sent)
    received = next(line for line in theirs if line.startswith("recvmmsg("))
    assert re.search(rf"cmsg_type=SCM_RIGHTS, cmsg_data=\[\d+<{data}>\]", received)
