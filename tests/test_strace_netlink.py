"""Netlink messages in ``ktrdump --format strace``, against strace itself and the kernel's headers.

A C program (compiled in the test) talks NETLINK_ROUTE and NETLINK_SOCK_DIAG
through sendto, recvfrom, sendmsg and recvmsg: link, address and route
dumps, a request the kernel refuses (NLMSG_ERROR with its extended ack), two
messages in one buffer, an inet_diag dump of a listening TCP socket. The sockets
are bound (as ip's and ss's are): strace learns a socket's protocol from the
kernel's list of bound netlink sockets, so it decodes an unbound socket's first
send by the headers alone, where ktrdump knows the protocol. Every line
of those calls must equal strace's (addresses, port ids and the sock_diag dump's
socket identities and accept queue lengths masked: the dump lists the machine's
other listeners too, whose queues change between the two runs). The name
tables' values are checked against the installed uapi headers with gcc.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program, c_values
from strace_corpus import parse

from ktrdump import _netlink

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")
GCC = shutil.which("gcc")

PROGRAM = r"""#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
static char reply[65536];
static void drain(int fd) {
    for (;;) {  /* recvfrom until the dump's NLMSG_DONE or an error */
        ssize_t got = recvfrom(fd, reply, sizeof reply, 0, NULL, NULL);
        if (got <= 0) return;
        struct nlmsghdr *h = (struct nlmsghdr *)reply;
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return;
    }
}
int main(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    /* bound, as ip and ss do: strace finds the protocol of bound sockets only */
    bind(fd, (struct sockaddr *)&kernel, sizeof kernel);
    struct { struct nlmsghdr h; struct ifinfomsg i; char attrs[16]; } link;
    memset(&link, 0, sizeof link);
    link.h.nlmsg_len = NLMSG_LENGTH(sizeof link.i) + 8;
    link.h.nlmsg_type = RTM_GETLINK;
    link.h.nlmsg_flags = NLM_F_REQUEST;
    link.h.nlmsg_seq = 1;
    link.i.ifi_index = 1;
    struct rtattr *mask = (struct rtattr *)link.attrs;
    mask->rta_type = IFLA_EXT_MASK; mask->rta_len = 8;
    *(unsigned *)RTA_DATA(mask) = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS;
    struct iovec iov = {&link, link.h.nlmsg_len};
    struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov,
                         .msg_iovlen = 1};
    sendmsg(fd, &msg, 0);
    struct iovec in = {reply, sizeof reply};
    struct msghdr got = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &in,
                         .msg_iovlen = 1};
    recvmsg(fd, &got, 0);
    /* two requests in one buffer: an address dump and a route dump of lo's table */
    struct { struct nlmsghdr h; struct ifaddrmsg a; struct nlmsghdr h2; struct rtmsg r; } two;
    memset(&two, 0, sizeof two);
    two.h.nlmsg_len = NLMSG_LENGTH(sizeof two.a);
    two.h.nlmsg_type = RTM_GETADDR;
    two.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    two.h.nlmsg_seq = 2;
    two.a.ifa_family = AF_INET;
    two.h2.nlmsg_len = NLMSG_LENGTH(sizeof two.r);
    two.h2.nlmsg_type = RTM_GETROUTE;
    two.h2.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    two.h2.nlmsg_seq = 3;
    two.r.rtm_family = AF_INET;
    sendto(fd, &two, sizeof two.h + sizeof two.a, 0, NULL, 0);
    drain(fd);
    sendto(fd, &two.h2, sizeof two.h2 + sizeof two.r, 0, (struct sockaddr *)&kernel,
           sizeof kernel);
    drain(fd);
    /* refused: no such interface (NLMSG_ERROR, ENODEV, with the request) */
    link.h.nlmsg_seq = 4;
    link.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    link.i.ifi_index = 0x7ffffff0;
    sendto(fd, &link, link.h.nlmsg_len, 0, NULL, 0);
    recvfrom(fd, reply, sizeof reply, 0, NULL, NULL);
    /* sock_diag: the listening TCP socket on 127.0.0.1 */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(listener, (struct sockaddr *)&a, sizeof a);
    listen(listener, 1);
    int diag = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
    bind(diag, (struct sockaddr *)&kernel, sizeof kernel);
    struct { struct nlmsghdr h; struct inet_diag_req_v2 r; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = 5;
    req.r.sdiag_family = AF_INET;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = 1 << 10;  /* TCP_LISTEN */
    sendto(diag, &req, sizeof req, 0, NULL, 0);
    drain(diag);
    return 0;
}
"""

_COMPARED = frozenset({"sendto", "recvfrom", "sendmsg", "recvmsg"})
_ADDRESS = re.compile(r"0x[0-9a-f]{9,}")
_PORT_ID = re.compile(r"(nl_pid|nlmsg_pid)=-?\d+")
#: what differs between the two runs: the sockets' identities, and the accept queue
#: lengths of the machine's other listeners (the dump holds every TCP listener)
_INODE = re.compile(
    r"(idiag_inode|idiag_cookie|idiag_sport|idiag_rqueue)=(\[[^\]]*\]|htons\(\d+\)|\d+)")


def _balanced_end(text: str, start: int) -> int:
    """Where the bracketed value opening at ``start`` closes (quoted text skipped)."""
    depth = 0
    quoted = False
    position = start
    while position < len(text):
        char = text[position]
        if quoted:
            if char == "\\":
                position += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return len(text)


def _sorted_messages(line: str) -> str:
    """A dump's messages in a canonical order: the kernel lists the machine's TCP
    listeners by its hash of their ports, and the program's own port is new each run."""
    starts = [match.start() for match in re.finditer(r"\[\{nlmsg_len=", line)]
    if len(starts) < 2:
        return line
    messages = [line[start:_balanced_end(line, start)] for start in starts]
    end = starts[-1] + len(messages[-1])
    return line[:starts[0]] + ", ".join(sorted(messages)) + line[end:]


def _lines(text: str) -> list[str]:
    lines = []
    for calls in parse(text).values():
        for call in calls:
            if call.name in _COMPARED:
                line = f"{call.name}({call.args}) = {call.result}"
                line = _INODE.sub(r"\1=X", _PORT_ID.sub(r"\1=N", _ADDRESS.sub("ADDRESS", line)))
                if "SOCK_DIAG_BY_FAMILY" in line:
                    line = _sorted_messages(line)
                lines.append(line)
    return lines


def _ours_and_strace(tmp_path: Path, source: str, *, strace: tuple[str, ...] = (),
                     record: tuple[str, ...] = (), dump: tuple[str, ...] = ()
                     ) -> tuple[str, str]:
    """``source`` built, run under strace (``-f -ttt -T`` and ``strace``) and recorded by
    ktr (``record``): ktrdump's strace view of it (``dump``), and strace's output."""
    assert STRACE is not None
    program = build_program(tmp_path, "netlink", source, "-O0", "-w")
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-ttt", "-T", *strace, "-o", str(reference), str(program)],
                   check=True, timeout=60)
    trace = tmp_path / "netlink.ktr"
    subprocess.run([str(KTR), "record", "-q", *record, "-o", str(trace), "--", str(program)],
                   check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", *dump, str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return ours, reference.read_text()


@pytest.mark.skipif(STRACE is None or GCC is None, reason="strace or gcc is not installed")
def test_netlink_messages_match_strace(tmp_path: Path) -> None:
    ours_text, theirs_text = _ours_and_strace(tmp_path, PROGRAM)
    # (lo's packet counters move with any traffic between the two runs)
    ours = [_COUNTERS.sub(r"\1=N", line) for line in _lines(ours_text)]
    theirs = [_COUNTERS.sub(r"\1=N", line) for line in _lines(theirs_text)]
    assert ours == theirs
    # the forms compared above, as strace 6.1 printed them when this was written
    for expected in (
        "nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=1, nlmsg_pid=N}, "
        "{ifi_family=AF_UNSPEC, ifi_type=ARPHRD_NETROM, ifi_index=if_nametoindex(\"lo\")",
        "[{nla_len=8, nla_type=IFLA_EXT_MASK}, RTEXT_FILTER_VF|RTEXT_FILTER_SKIP_STATS]",
        "nlmsg_type=RTM_GETADDR, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP",
        "nla_type=IFA_LOCAL}, inet_addr(\"127.0.0.1\")]",
        "{rtm_family=AF_INET, rtm_dst_len=0",
        "nlmsg_type=NLMSG_ERROR",
        "{error=-ENODEV, msg=",
        "nlmsg_type=NLMSG_DONE",
        "{sdiag_family=AF_INET, sdiag_protocol=IPPROTO_TCP, idiag_ext=0, "
        "idiag_states=1<<TCP_LISTEN, id={idiag_sport=X, idiag_dport=htons(0)",
        "{idiag_family=AF_INET, idiag_state=TCP_LISTEN",
    ):
        assert any(expected in line for line in theirs), expected


#: values that change between the two runs: the interface's counters and times
_COUNTERS = re.compile(r"(\[(?:IPSTATS|ICMP6)_MIB_\w+\]|tstamp|reachable_time|rx_\w+|tx_\w+|"
                       r"multicast)=\d+")


@pytest.mark.skipif(STRACE is None or GCC is None, reason="strace or gcc is not installed")
def test_nested_link_attributes_match_strace(tmp_path: Path) -> None:
    """The link reply whole (-s 4096: strace's default 32 elements stop before them):
    IFLA_XDP, IFLA_MAP and IFLA_AF_SPEC's AF_INET and AF_INET6 attributes, nested."""
    ours_text, theirs_text = _ours_and_strace(
        tmp_path, PROGRAM, strace=("-s", "4096", "-e", "trace=recvmsg"),
        record=("-s", "65536"), dump=("-s", "4096", "-e", "trace=recvmsg"))
    ours = [_COUNTERS.sub(r"\1=N", line) for line in _lines(ours_text)]
    theirs = [_COUNTERS.sub(r"\1=N", line) for line in _lines(theirs_text)]
    assert ours == theirs
    for expected in (
        "[{nla_len=12, nla_type=IFLA_XDP}, [{nla_len=5, nla_type=IFLA_XDP_ATTACHED}, "
        "XDP_ATTACHED_NONE]]",
        "nla_type=IFLA_MAP}, {mem_start=0, mem_end=0, base_addr=0, irq=0, dma=0, port=0}]",
        "nla_type=IFLA_AF_SPEC}, [[{nla_len=", "nla_type=AF_INET}, [{nla_len=",
        "nla_type=IFLA_INET_CONF}, [[IPV4_DEVCONF_FORWARDING-1]=",
        "{nla_len=8, nla_type=IFLA_INET6_FLAGS}, IF_READY]",
        "nla_type=IFLA_INET6_CONF}, [[DEVCONF_FORWARDING]=",
        "{nla_len=20, nla_type=IFLA_INET6_TOKEN}, inet_pton(AF_INET6, \"::\")]",
        "nla_type=IFLA_INET6_ADDR_GEN_MODE}, IN6_ADDR_GEN_MODE_",
    ):
        assert any(expected in line for line in theirs), expected


_DIAG_ONE = r"""#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
int main(void) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(listener, (struct sockaddr *)&a, sizeof a);
    listen(listener, 1);
    socklen_t len = sizeof a;
    getsockname(listener, (struct sockaddr *)&a, &len);
    int diag = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    bind(diag, (struct sockaddr *)&kernel, sizeof kernel);
    /* this socket alone (no dump: the machine's other listeners stay out of it),
       with ss -m's memory attributes */
    struct { struct nlmsghdr h; struct inet_diag_req_v2 r; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.h.nlmsg_seq = 6;
    req.r.sdiag_family = AF_INET;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = 1 << 10;
    req.r.idiag_ext = 1 << (INET_DIAG_MEMINFO - 1) | 1 << (INET_DIAG_SKMEMINFO - 1);
    req.r.id.idiag_sport = a.sin_port;
    req.r.id.idiag_src[0] = a.sin_addr.s_addr;
    req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    sendto(diag, &req, sizeof req, 0, NULL, 0);
    static char reply[8192];
    recvfrom(diag, reply, sizeof reply, 0, NULL, NULL);
    return 0;
}
"""


@pytest.mark.skipif(STRACE is None or GCC is None, reason="strace or gcc is not installed")
def test_inet_diag_memory_attributes_match_strace(tmp_path: Path) -> None:
    """INET_DIAG_MEMINFO and INET_DIAG_SKMEMINFO (``ss -m``) as strace prints them."""
    ours, reference = _ours_and_strace(tmp_path, _DIAG_ONE, strace=("-s", "4096"),
                                       dump=("-s", "4096"))

    def shown(text: str) -> list[str]:
        return [re.sub(r"htons\(\d+\)", "htons(PORT)", line) for line in _lines(text)]

    theirs = shown(reference)
    assert shown(ours) == theirs
    replies = [line for line in theirs if line.startswith("recvfrom(")]
    assert len(replies) == 1
    assert "[{nla_len=20, nla_type=INET_DIAG_MEMINFO}, {idiag_rmem=0, idiag_wmem=0, " \
        "idiag_fmem=0, idiag_tmem=0}]" in replies[0]
    assert "nla_type=INET_DIAG_SKMEMINFO}, [[SK_MEMINFO_RMEM_ALLOC]=0, [SK_MEMINFO_RCVBUF]=" \
        in replies[0]
    assert "idiag_ext=1<<(INET_DIAG_MEMINFO-1)|1<<(INET_DIAG_SKMEMINFO-1)" in "".join(theirs)


def test_render_never_raises_and_names_headers() -> None:
    # short and odd buffers print as strace prints them, never an exception
    assert _netlink.render(b"\x01\x02", 0, 32) == '"\\x01\\x02"'
    assert _netlink.render(bytes(16), None, 32) == (
        "{nlmsg_len=0, nlmsg_type=0 /* NLMSG_??? */, nlmsg_flags=0, nlmsg_seq=0, nlmsg_pid=0}")
    for size in range(0, 120, 7):
        for protocol in (0, 4, None):
            for kind in (2, 3, 16, 20, 24, 20 if protocol == 4 else 0x40):
                header = (size + 16).to_bytes(4, "little") + kind.to_bytes(2, "little")
                text = _netlink.render(header + bytes(10) + bytes(range(size)), protocol, 32)
                assert text.startswith(("[{nlmsg_len=", "{nlmsg_len="))


_TABLES = {
    "linux/rtnetlink.h": [_netlink.RTM_TYPES, _netlink.RTA_ATTRS, _netlink.RT_SCOPES,
                          _netlink.RTN_TYPES, _netlink.RTPROT, _netlink.RT_TABLES,
                          _netlink.RTM_F, _netlink.RTEXT_FILTER],
    "linux/if_link.h": [_netlink.IFLA_ATTRS, _netlink.IFLA_INET_ATTRS, _netlink.IFLA_INET6_ATTRS,
                        _netlink.IN6_ADDR_GEN_MODES, _netlink.IFLA_XDP_ATTRS,
                        _netlink.XDP_ATTACHED, _netlink.XDP_FLAGS, _netlink.IFLA_INFO_ATTRS],
    "linux/ip.h": [_netlink.IPV4_DEVCONF],
    "linux/ipv6.h": [_netlink.IPV6_DEVCONF],
    "linux/snmp.h": [_netlink.IPSTATS_MIB, _netlink.ICMP6_MIB],
    "linux/if_addr.h": [_netlink.IFA_ATTRS, _netlink.IFA_FLAGS],
    "linux/netlink.h": [_netlink.NLMSG_TYPES, _netlink.NLM_F_FLAGS, _netlink.NLM_F_GET_FLAGS,
                        _netlink.NLM_F_NEW_FLAGS, _netlink.NLM_F_DELETE_FLAGS,
                        _netlink.NLM_F_ACK_FLAGS, _netlink.NLMSGERR_ATTRS],
    "linux/sock_diag.h": [_netlink.SOCK_DIAG_TYPES, _netlink.SK_MEMINFO],
    "linux/inet_diag.h": [_netlink.INET_DIAG_ATTRS],
    "linux/if_arp.h": [_netlink.ARPHRD_TYPES],
    "linux/if.h": [_netlink.IFF_FLAGS],
    "netinet/tcp.h": [_netlink.TCP_STATES],
}


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
@pytest.mark.parametrize("header", sorted(_TABLES))
def test_values_match_installed_headers(tmp_path: Path, header: str) -> None:
    pairs = [pair for table in _TABLES[header] for pair in table]
    names = [name for name, _ in pairs]
    # enum constants are no macros: every name is compiled as an expression
    values = c_values(tmp_path, ["sys/socket.h", header], names)
    assert [(name, value & 0xFFFFFFFF) for name, value in zip(names, values, strict=True)] == [
        (name, value & 0xFFFFFFFF) for name, value in pairs]
