"""Strings strace cuts at ``-s`` or prints whole, flag words, clone3, keys: against strace.

Each C program (compiled in the test) runs under ``strace -f`` and under
``ktr record -i``; the lines ``ktrdump --format strace`` prints for the
compared calls must equal strace's, addresses and process ids masked (split
``<unfinished ...>``/``<... resumed>`` lines are joined first; how they are
split is checked apart, where it is the point). Covered: readlink's and
readlinkat's buffer (data the call returns: the returned count of bytes, cut
at ``-s`` with ``...``) against getcwd's (a path: whole), and symlink's target
(a path, not looked up: whole); wait4's and waitid's options (one table,
strace's: 2 is ``WSTOPPED`` for both, in its order); clone3's interrupted and
resumed halves (``, 88 <unfinished ...>`` unless the structure gains something
at exit); mmap's, msync's, msgrcv's and fcntl's flag words in strace's order;
mount's strings as its flags say (addresses for those it ignores); host and
domain names (an address past 64 bytes), delete_module's flags and prctl's
thread names (read at most 15 or 16 bytes); add_key, request_key, keyctl's
commands and kexec_file_load's command line; mq_open's name, and its mode and
attributes only with O_CREAT.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from strace_corpus import GCC, KTR, KTRDUMP, STRACE, parse

pytestmark = pytest.mark.skipif(STRACE is None or GCC is None,
                                reason="strace or gcc is not installed")

_ADDRESS = re.compile(r"0x[0-9a-f]{9,}")  # addresses, not flag words


def _run(tmp_path: Path, source: str, strace_options: Sequence[str] = (),
         ktrdump_options: Sequence[str] = ()) -> tuple[str, str]:
    """(ktrdump's text, strace's text) of ``source``, each run in a fresh directory."""
    assert GCC is not None and STRACE is not None
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "calls.c").write_text(source)
    program = tmp_path / "calls"
    subprocess.run([GCC, "-O0", "-w", "-pthread", "-o", str(program), str(tmp_path / "calls.c")],
                   check=True, timeout=120)
    texts = []
    for side in ("strace", "ktr"):
        work = tmp_path / f"in-{side[0]}"  # the same length: getcwd's result
        work.mkdir()
        if side == "strace":
            reference = tmp_path / "strace.txt"
            subprocess.run([STRACE, "-f", "-ttt", "-T", *strace_options, "-o", str(reference),
                            str(program)], cwd=work, check=True, timeout=60)
            texts.append(reference.read_text().replace(str(work), "WORK"))
        else:
            trace = tmp_path / "calls.ktr"
            subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--", str(program)],
                           cwd=work, check=True, timeout=60)
            text = subprocess.run([str(KTRDUMP), "--format", "strace", *ktrdump_options,
                                   str(trace)], check=True, capture_output=True, text=True,
                                  timeout=60).stdout
            texts.append(text.replace(str(work), "WORK"))
    return texts[1], texts[0]


def _lines(text: str, compared: frozenset[str]) -> list[str]:
    """The compared calls, joined, in order per thread (threads in order of appearance)."""
    return [_ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}")
            for calls in parse(text).values() for call in calls if call.name in compared]


READLINK = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    char buf[256];
    symlink("/a/very/long/target/that/is/longer/than/thirty-two/characters", "long");
    symlink("short", "short");
    symlinkat("/a/very/long/target/that/is/longer/than/thirty-two/characters", AT_FDCWD,
              "long2");
    readlink("long", buf, sizeof buf);
    readlinkat(AT_FDCWD, "long", buf, 10);
    readlink("short", buf, sizeof buf);
    readlink("missing", buf, sizeof buf);
    mkdir("a-directory-whose-name-is-longer-than-thirty-two-characters", 0700);
    chdir("a-directory-whose-name-is-longer-than-thirty-two-characters");
    getcwd(buf, sizeof buf);
    return 0;
}
"""
_READLINK_CALLS = frozenset({"readlink", "readlinkat", "getcwd", "symlink", "symlinkat"})


def test_readlink_target_is_cut_at_the_string_limit_and_getcwd_is_not(tmp_path: Path) -> None:
    ours, theirs = (_lines(text, _READLINK_CALLS) for text in _run(tmp_path, READLINK))
    assert ours == theirs
    # What strace 6.1 printed when this was written.
    # a link's target is a path: whole, not looked up
    assert theirs[0:3] == [
        'symlink("/a/very/long/target/that/is/longer/than/thirty-two/characters", "long") = 0',
        'symlink("short", "short") = 0',
        'symlinkat("/a/very/long/target/that/is/longer/than/thirty-two/characters", AT_FDCWD, '
        '"long2") = 0']
    assert theirs[3:7] == [
        'readlink("long", "/a/very/long/target/that/is/long"..., 256) = 61',
        'readlinkat(AT_FDCWD, "long", "/a/very/lo", 10) = 10',
        'readlink("short", "short", 256) = 5',
        'readlink("missing", ADDRESS, 256) = -1 ENOENT (No such file or directory)']
    assert theirs[7] == ('getcwd("WORK/a-directory-whose-name-is-longer-than-thirty-two-'
                         'characters", 256) = ' + theirs[7].rsplit("= ", 1)[1])


def test_readlink_target_follows_the_limit_asked_for(tmp_path: Path) -> None:
    ours, theirs = (_lines(text, _READLINK_CALLS)
                    for text in _run(tmp_path, READLINK, ["-s", "8"], ["-m", "8"]))
    assert ours == theirs
    assert theirs[0].startswith('symlink("/a/very/long/target/that/is/longer/than/')
    assert theirs[3] == 'readlink("long", "/a/very/"..., 256) = 61'
    assert theirs[7].startswith('getcwd("WORK/a-directory-whose-name-is-longer-')


WAIT = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
int main(void) {
    int status;
    struct rusage usage;
    siginfo_t info;
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    wait4(child, &status, WUNTRACED | WCONTINUED | __WALL, NULL);
    wait4(-1, &status, WNOHANG, &usage);
    child = fork();
    if (child == 0)
        _exit(4);
    waitid(P_PID, child, &info, WEXITED | WSTOPPED | WCONTINUED | WNOWAIT);
    waitid(P_PID, child, &info, WEXITED);
    waitid(P_ALL, 0, &info, WEXITED | WNOHANG);
    wait4(-1, &status, WSTOPPED | WEXITED | WNOWAIT | __WNOTHREAD | __WCLONE, NULL);
    waitid(P_ALL, 0, &info, WEXITED | __WALL | __WNOTHREAD | 0x10);
    return 0;
}
"""


def test_wait_options_are_one_table_in_straces_order(tmp_path: Path) -> None:
    compared = frozenset({"wait4", "waitid"})
    ours, theirs = (_lines(text, compared) for text in _run(tmp_path, WAIT))
    pid = re.compile(r"\b\d{3,}\b")
    assert [pid.sub("PID", line) for line in ours] == [pid.sub("PID", line) for line in theirs]
    options = [line.rsplit(", ", 2)[-2] if line.startswith("wait4")
               else line.split("}, ")[-1].split(", ")[0] if "}, " in line
               else line.split(", ")[3] for line in theirs]
    assert options == ["WSTOPPED|WCONTINUED|__WALL", "WNOHANG",
                       "WEXITED|WSTOPPED|WCONTINUED|WNOWAIT", "WEXITED", "WNOHANG|WEXITED",
                       "WEXITED|WSTOPPED|WNOWAIT|__WCLONE|__WNOTHREAD",
                       "WEXITED|__WALL|__WNOTHREAD|0x10"]


CLONE3 = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static volatile int stop, spinning;
static void *spin(void *unused) {  /* calls while the main thread is in clone3 */
    while (!stop) {
        syscall(SYS_getppid);
        spinning = 1;
    }
    return unused;
}
static void child_of(struct clone_args *args, size_t size) {
    long child = syscall(SYS_clone3, args, size);
    if (child == 0)
        _exit(0);
    if (child > 0)
        waitpid(child, NULL, 0);
}
int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, spin, NULL);  /* glibc's clone3: CLONE_PARENT_SETTID */
    while (!spinning)
        ;
    unsigned char big[96];
    memset(big, 0, sizeof big);
    struct clone_args *args = (struct clone_args *)big;
    args->exit_signal = SIGCHLD;
    for (int i = 0; i < 10; i++)
        child_of(args, 88);  /* nothing to fill: decoded whole at entry */
    int pidfd = -1;
    args->flags = CLONE_PIDFD;
    args->pidfd = (uintptr_t)&pidfd;
    for (int i = 0; i < 5; i++)
        child_of(args, 88);  /* the pidfd comes at exit */
    args->flags = 0;
    child_of(args, 96);  /* bytes past the structure strace knows (zeros) */
    child_of(args, 32);  /* shorter than the first version: EINVAL, an address */
    args->flags = CLONE_PARENT_SETTID | CLONE_PIDFD | CLONE_THREAD;
    child_of(args, 88);  /* EINVAL (CLONE_THREAD without CLONE_SIGHAND) */
    stop = 1;
    pthread_join(thread, NULL);
    return 0;
}
"""


def test_clone3_lines_and_halves_match_strace(tmp_path: Path) -> None:
    for attempt in range(3):  # until another thread's call interrupts a plain clone3
        work = tmp_path / str(attempt)
        work.mkdir()
        ours_text, theirs_text = _run(work, CLONE3)
        if re.search(r"stack_size=0}, 88 <unfinished \.\.\.>", ours_text):
            break
    ids = re.compile(r"(?<=\[)\d+(?=\])|(?<== )\d+$")  # tids, the pidfd
    ours, theirs = ([ids.sub("N", line) for line in _lines(text, frozenset({"clone3"}))]
                    for text in (ours_text, theirs_text))
    assert ours == theirs
    assert theirs[0].startswith("clone3({flags=CLONE_VM|CLONE_FS|")
    assert theirs[1:] == [
        *["clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = N"] * 10,
        *["clone3({flags=CLONE_PIDFD, pidfd=ADDRESS, exit_signal=SIGCHLD, stack=NULL, "
          "stack_size=0} => {pidfd=[N]}, 88) = N"] * 5,
        "clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 96) = N",
        "clone3(ADDRESS, 32) = -1 EINVAL (Invalid argument)",
        "clone3({flags=CLONE_PIDFD|CLONE_THREAD|CLONE_PARENT_SETTID, pidfd=ADDRESS, "
        "parent_tid=NULL, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) "
        "= -1 EINVAL (Invalid argument)"]
    # How a line another thread interrupts is split (the other thread's calls
    # make that near certain): the whole call at entry when nothing can be
    # filled in, else the structure alone, what it gained and the size at exit.
    halves = re.compile(r"^\d+ +[\d.]+ (clone3\(.*|<\.\.\. clone3 resumed>.*?)(?: <[\d.]+>)?$")
    shapes = {re.sub(r"0x[0-9a-f]+|\d{3,}|(?<=\[)\d+(?=\])", "N", match.group(1))
              for line in ours_text.splitlines()
              if (match := halves.match(line)) and ("unfinished" in line or "resumed" in line)}
    assert shapes <= {
        "clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88 <unfinished ...>",
        "<... clone3 resumed>) = N",
        "clone3({flags=CLONE_PIDFD, pidfd=N, exit_signal=SIGCHLD, stack=NULL, "
        "stack_size=0} <unfinished ...>",
        "<... clone3 resumed> => {pidfd=[N]}, 88) = N",
        "clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0} <unfinished ...>",
        "<... clone3 resumed>, 96) = N",
        "clone3(N, 32 <unfinished ...>",
        "<... clone3 resumed>) = -1 EINVAL (Invalid argument)",
        "clone3({flags=CLONE_PIDFD|CLONE_THREAD|CLONE_PARENT_SETTID, pidfd=N, parent_tid=NULL, "
        "exit_signal=SIGCHLD, stack=NULL, stack_size=0} <unfinished ...>",
        "<... clone3 resumed>, 88) = -1 EINVAL (Invalid argument)",
    } | {line for line in shapes if line.startswith(("clone3({flags=CLONE_VM|", "<... clone3 "
                                                     "resumed> => {parent_tid="))}, shapes
    assert "<... clone3 resumed>) = N" in shapes, ours_text


FLAG_ORDER = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/msg.h>
int main(void) {
    mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_NORESERVE
         | MAP_DENYWRITE | MAP_FIXED_NOREPLACE | MAP_EXECUTABLE | MAP_NONBLOCK, -1, 0);
    mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_SYNC | MAP_LOCKED
         | MAP_POPULATE | MAP_32BIT, -1, 0);
    mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_UNINITIALIZED
         | MAP_FIXED_NOREPLACE | MAP_STACK, -1, 0);
    mmap(NULL, 2 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB
         | MAP_NORESERVE | MAP_GROWSDOWN, -1, 0);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    msync(p, 4096, MS_SYNC | MS_INVALIDATE);
    msync(p, 4096, MS_ASYNC | MS_INVALIDATE | MS_SYNC);
    int queue = msgget(IPC_PRIVATE, 0600);
    char message[64];
    msgrcv(queue, message, 16, 0, IPC_NOWAIT | MSG_NOERROR | MSG_EXCEPT);
    msgrcv(queue, message, 16, 0, IPC_NOWAIT | MSG_COPY);
    msgctl(queue, IPC_RMID, NULL);
    int fds[2];
    pipe(fds);
    fcntl(fds[0], F_SETFL, O_NONBLOCK | FASYNC | O_APPEND);
    fcntl(fds[0], F_GETFL);
    return 0;
}
"""


def test_flag_words_in_straces_order(tmp_path: Path) -> None:
    compared = frozenset({"mmap", "msync", "msgrcv", "fcntl"})
    ours, theirs = (_lines(text, compared)[-11:] for text in _run(tmp_path, FLAG_ORDER))
    ipc_id = re.compile(r"^msgrcv\(\d+, ")
    assert [ipc_id.sub("msgrcv(ID, ", line) for line in ours] == [
        ipc_id.sub("msgrcv(ID, ", line) for line in theirs]
    assert [line.split(", ")[3 if line.startswith("mmap") else
                             2 if line.startswith(("msync", "fcntl")) else 4].split(")")[0]
            for line in theirs[:4] + theirs[5:10]] == [
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE"
        "|MAP_EXECUTABLE|MAP_FIXED_NOREPLACE",
        "MAP_SHARED_VALIDATE|MAP_ANONYMOUS|MAP_32BIT|MAP_POPULATE|MAP_LOCKED|MAP_SYNC",
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK|MAP_FIXED_NOREPLACE|1<<MAP_HUGE_SHIFT",
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_GROWSDOWN|MAP_HUGETLB|21<<MAP_HUGE_SHIFT",
        "MS_SYNC|MS_INVALIDATE", "MS_SYNC|MS_ASYNC|MS_INVALIDATE",
        "MSG_NOERROR|MSG_EXCEPT|IPC_NOWAIT", "MSG_COPY|IPC_NOWAIT",
        "O_RDONLY|O_APPEND|O_NONBLOCK|FASYNC"]
    assert theirs[-1].endswith("= 0x2c00 (flags O_RDONLY|O_APPEND|O_NONBLOCK|FASYNC)")


MOUNT = r"""
#include <sys/mount.h>
#include <stddef.h>
int main(void) {
    /* targets that do not exist: ENOENT, privileged or not */
    mount("/a/very/long/source/that/is/longer/than/thirty-two/characters",
          "/nonexistent/target/that/is/longer/than/thirty-two/characters",
          "tmpfs-and-a-long-type-name-beyond-32", MS_NOSUID,
          "size=1m,mode=0755,and-a-long-option-string-beyond-32");
    mount("src", "/nonexistent", "tmpfs", MS_BIND, "data");
    mount("src", "/nonexistent", "tmpfs", MS_REMOUNT | MS_RDONLY, "data");
    mount("none", "/nonexistent", NULL, MS_PRIVATE | MS_REC, NULL);
    mount("src", "/nonexistent", "tmpfs", 0xC0ED0000 | MS_RDONLY, "data");
    mount("src", "/nonexistent", "tmpfs", 0xC0ED0000 | MS_MOVE, "data");
    return 0;
}
"""


def test_mount_strings_as_its_flags_say(tmp_path: Path) -> None:
    ours, theirs = (_lines(text, frozenset({"mount"})) for text in _run(tmp_path, MOUNT))
    assert ours == theirs
    enoent = " = -1 ENOENT (No such file or directory)"
    assert theirs == [line + enoent for line in (
        'mount("/a/very/long/source/that/is/longer/than/thirty-two/characters", '
        '"/nonexistent/target/that/is/longer/than/thirty-two/characters", '
        '"tmpfs-and-a-long-type-name-beyon"..., MS_NOSUID, "size=1m,mode=0755,and-a-long-opt"...)',
        'mount("src", "/nonexistent", ADDRESS, MS_BIND, ADDRESS)',
        'mount("src", "/nonexistent", ADDRESS, MS_RDONLY|MS_REMOUNT, "data")',
        'mount("none", "/nonexistent", NULL, MS_REC|MS_PRIVATE, NULL)',
        'mount("src", "/nonexistent", "tmpfs", MS_MGC_VAL|MS_RDONLY, "data")',
        'mount("src", "/nonexistent", ADDRESS, MS_MGC_VAL|MS_MOVE, ADDRESS)')]


NAMES = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
int main(void) {
    unshare(CLONE_NEWUTS);  /* the names set are this process's own (root; else EPERM) */
    char name[100], got[32];
    memset(name, 'h', sizeof name);
    sethostname(name, 70);  /* longer than a name may be: EINVAL, an address */
    sethostname(name, 64);
    sethostname("short", 5);
    setdomainname(name, 65);
    setdomainname("domain", 6);
    syscall(SYS_delete_module, "no_such_module", 0);
    syscall(SYS_delete_module, "no_such_module", O_NONBLOCK | O_TRUNC);
    prctl(PR_SET_NAME, "a-thread-name-longer-than-16");
    prctl(PR_GET_NAME, got);
    prctl(PR_SET_NAME, "exactly-15-char");
    prctl(PR_GET_NAME, got);
    prctl(PR_SET_NAME, "just-14-chars!");
    prctl(PR_GET_NAME, got);
    return 0;
}
"""


def test_names_as_strace_bounds_them(tmp_path: Path) -> None:
    compared = frozenset({"sethostname", "setdomainname", "delete_module", "prctl"})
    ours, theirs = (_lines(text, compared) for text in _run(tmp_path / "a", NAMES))
    assert ours == theirs
    h32 = '"' + "h" * 32 + '"...'
    assert theirs[:5] == [
        "sethostname(ADDRESS, 70) = -1 EINVAL (Invalid argument)",
        f"sethostname({h32}, 64) = " + theirs[1].rsplit("= ", 1)[1],
        'sethostname("short", 5) = ' + theirs[2].rsplit("= ", 1)[1],
        "setdomainname(ADDRESS, 65) = -1 EINVAL (Invalid argument)",
        'setdomainname("domain", 6) = ' + theirs[4].rsplit("= ", 1)[1]]
    assert [line.split(" = ")[0] for line in theirs[5:]] == [
        'delete_module("no_such_module", 0)',
        'delete_module("no_such_module", O_NONBLOCK|O_TRUNC)',
        'prctl(PR_SET_NAME, "a-thread-name-l"...)', 'prctl(PR_GET_NAME, "a-thread-name-l")',
        'prctl(PR_SET_NAME, "exactly-15-char"...)', 'prctl(PR_GET_NAME, "exactly-15-char")',
        'prctl(PR_SET_NAME, "just-14-chars!")', 'prctl(PR_GET_NAME, "just-14-chars!")']
    # a string limit below the bound cuts first
    ours, theirs = (_lines(text, frozenset({"prctl"}))
                    for text in _run(tmp_path / "b", NAMES, ["-s", "4"], ["-m", "4"]))
    assert ours == theirs
    assert theirs[-2:] == ['prctl(PR_SET_NAME, "just"...) = 0', 'prctl(PR_GET_NAME, "just"...) = 0']


KEYS = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
int main(void) {
    char buf[256];
    long key = syscall(SYS_add_key, "user", "a-key",
                       "payload-data-that-is-longer-than-thirty-two-bytes", 50,
                       KEY_SPEC_PROCESS_KEYRING);
    syscall(SYS_add_key, "user", "b-key", "pay\0load", 8, KEY_SPEC_PROCESS_KEYRING);
    syscall(SYS_add_key, "user", "c-key", NULL, 0, 12345);
    syscall(SYS_request_key, "user", "a-key", NULL, KEY_SPEC_THREAD_KEYRING);
    syscall(SYS_request_key, "no-such-type", "a-key", "callout", KEY_SPEC_PROCESS_KEYRING);
    syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
    syscall(SYS_keyctl, KEYCTL_UPDATE, key, "new-payload", 11);
    syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, buf, sizeof buf);
    syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, buf, 10);
    syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof buf);
    syscall(SYS_keyctl, KEYCTL_READ, key, buf, 4);
    syscall(SYS_keyctl, KEYCTL_READ, key, NULL, 0);
    syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key, 1000);
    syscall(SYS_keyctl, KEYCTL_SETPERM, key, 0x3f010000 | 0x0300 | 0x40);
    syscall(SYS_keyctl, KEYCTL_SETPERM, key, 0x3f3f0000);
    syscall(SYS_keyctl, KEYCTL_CHOWN, key, -1, -1);
    syscall(SYS_keyctl, KEYCTL_LINK, key, KEY_SPEC_THREAD_KEYRING);
    syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_THREAD_KEYRING);
    syscall(SYS_keyctl, KEYCTL_SET_REQKEY_KEYRING, KEY_REQKEY_DEFL_NO_CHANGE);
    syscall(SYS_keyctl, KEYCTL_REJECT, key, 10, EKEYREJECTED, 0);
    syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "a-session-keyring-named-for-this-test");
    syscall(SYS_keyctl, KEYCTL_REVOKE, key);
    syscall(SYS_keyctl, 100, 1, 2, 3, 4);
    syscall(SYS_kexec_file_load, -1, -1, 40, "console=ttyS0 root=/dev/sda1 quiet splash", 0);
    syscall(SYS_kexec_file_load, -1, -1, 6, "quiet", 0);
    syscall(SYS_kexec_file_load, -1, -1, 10, "console=ttyS0 root=/dev/sda1", 2);
    syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 7);
    return 0;
}
"""


def test_keys_and_kexec_command_lines_match_strace(tmp_path: Path) -> None:
    compared = frozenset({"add_key", "request_key", "keyctl", "kexec_file_load"})
    key_id = re.compile(r"\b\d{6,}\b")  # ids the kernel gave
    ours, theirs = ([key_id.sub("ID", line) for line in _lines(text, compared)]
                    for text in _run(tmp_path, KEYS))
    assert ours == theirs
    calls = [line.rsplit(" = ", 1)[0] for line in theirs]
    assert calls[:5] == [
        'add_key("user", "a-key", "payload-data-that-is-longer-than"..., 50, '
        "KEY_SPEC_PROCESS_KEYRING)",
        'add_key("user", "b-key", "pay\\0load", 8, KEY_SPEC_PROCESS_KEYRING)',
        'add_key("user", "c-key", NULL, 0, 12345)',
        'request_key("user", "a-key", NULL, KEY_SPEC_THREAD_KEYRING)',
        'request_key("no-such-type", "a-key", "callout", KEY_SPEC_PROCESS_KEYRING)']
    # the description: type;uid;gid;perm;description (NUL left out); cut at its length
    description = re.compile(r'keyctl\(KEYCTL_DESCRIBE, ID, "user;\d+;\d+;[0-9a-f]{8};a-key", '
                             r'256\)')
    assert description.fullmatch(calls[7]), calls[7]
    assert re.fullmatch(r'keyctl\(KEYCTL_DESCRIBE, ID, "user;[0-9;]{5}", 10\)', calls[8])
    assert calls[5:7] + calls[9:12] == [
        "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0)",
        'keyctl(KEYCTL_UPDATE, ID, "new-payload", 11)',
        'keyctl(KEYCTL_READ, ID, "new-payload", 256)',
        'keyctl(KEYCTL_READ, ID, "new-", 4)',
        "keyctl(KEYCTL_READ, ID, NULL, 0)"]
    assert [call for call in calls if "SETPERM" in call] == [
        "keyctl(KEYCTL_SETPERM, ID, KEY_POS_VIEW|KEY_POS_READ|KEY_POS_WRITE|KEY_POS_SEARCH"
        "|KEY_POS_LINK|KEY_POS_SETATTR|KEY_USR_VIEW|KEY_GRP_VIEW|KEY_GRP_READ|0x40)",
        "keyctl(KEYCTL_SETPERM, ID, KEY_POS_VIEW|KEY_POS_READ|KEY_POS_WRITE|KEY_POS_SEARCH"
        "|KEY_POS_LINK|KEY_POS_SETATTR|KEY_USR_VIEW|KEY_USR_READ|KEY_USR_WRITE|KEY_USR_SEARCH"
        "|KEY_USR_LINK|KEY_USR_SETATTR)"]
    assert calls[-5:] == [
        "keyctl(0x64 /* KEYCTL_??? */, 0x1, 0x2, 0x3, 0x4)",
        'kexec_file_load(-1, -1, 40, "console=ttyS0 root=/dev/sda1 qui"..., 0)',
        'kexec_file_load(-1, -1, 6, "quiet\\0", 0)',
        'kexec_file_load(-1, -1, 10, "console=tt", KEXEC_FILE_ON_CRASH)',
        "kexec_file_load(-1, -1, 0, NULL, "
        "KEXEC_FILE_UNLOAD|KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS)"]


QUEUES = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    const char *name = "/ktr-test-a-queue-name-longer-than-thirty-two-characters";
    struct mq_attr attr = {0, 4, 64, 0};
    syscall(SYS_mq_open, name, O_RDWR | O_CREAT, 0600, &attr);
    syscall(SYS_mq_open, name, O_RDWR, 0600, &attr);  /* no O_CREAT: no mode, no attr */
    syscall(SYS_mq_open, "/ktr-test-q2", O_WRONLY | O_CREAT | O_EXCL, 0640, NULL);
    syscall(SYS_mq_unlink, name);
    syscall(SYS_mq_unlink, "/ktr-test-q2");
    return 0;
}
"""


def test_message_queue_names_and_creation_arguments(tmp_path: Path) -> None:
    compared = frozenset({"mq_open", "mq_unlink"})
    ours, theirs = (_lines(text, compared) for text in _run(tmp_path, QUEUES))
    assert ours == theirs
    name = '"/ktr-test-a-queue-name-longer-than-thirty-two-characters"'
    assert [line.rsplit(" = ", 1)[0] for line in theirs] == [
        f"mq_open({name}, O_RDWR|O_CREAT, 0600, {{mq_flags=0, mq_maxmsg=4, mq_msgsize=64, "
        "mq_curmsgs=0})",
        f"mq_open({name}, O_RDWR)",
        'mq_open("/ktr-test-q2", O_WRONLY|O_CREAT|O_EXCL, 0640, NULL)',
        f"mq_unlink({name})", 'mq_unlink("/ktr-test-q2")']
