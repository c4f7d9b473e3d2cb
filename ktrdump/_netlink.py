r"""Netlink messages as strace prints them (``[{nlmsg_len=20, nlmsg_type=NLMSG_DONE, ...}, 0]``).

``render(data, protocol, limit, ifname)`` decodes the bytes a send/recv-like
call moved on an AF_NETLINK socket (a GIO record's data, one iovec's share of
it) the way strace's netlink decoder does: each message's struct nlmsghdr
(type and flags named by the socket's protocol), its payload, and a list of
messages when the buffer holds more than one (at most ``limit`` of them, then
``...``, as strace's ``-s``).

Payloads decoded: NLMSG_ERROR (struct nlmsgerr, the request it answers, the
extended-ack attributes), NLMSG_DONE's int; NETLINK_ROUTE's struct ifinfomsg
(RTM_*LINK), ifaddrmsg (RTM_*ADDR, *MULTICAST, *ANYCAST) and rtmsg
(RTM_*ROUTE) with their attributes (the IFLA_, IFA_ and RTA_ ones strace
gives a value decoder; the others as hex strings, as strace); the family byte
of the other RTM_ messages (``{family=AF_INET, data="\x..."}``);
NETLINK_SOCK_DIAG's inet_diag_req_v2 and inet_diag_msg with the attributes
``ss`` gets by default and with ``-m`` (INET_DIAG_MEMINFO, INET_DIAG_SKMEMINFO;
INET_DIAG_INFO is hex, as strace 6.1 prints it; the others as hex). Other protocols' payloads, and
those of the messages above not listed, print as hex strings. Interface
indexes print as strace's ``if_nametoindex("lo")`` only through ``ifname``
(None: as numbers).

Names are Linux 6.1 uapi's (the installed headers, what strace 6.1 names);
``tests/test_strace_netlink.py`` checks every value against them with gcc.

Guarantees: never raises on any bytes (lengths are clipped to the data, short
structures print as strace prints them, hex); output depends only on its
arguments. Does not: decode the protocol-specific payloads not listed above
(strace's rtnl_neigh, rtnl_rule, tc, netfilter, generic netlink, crypto,
xfrm, unix/netlink/packet/smc diag decoders), the nested attributes other than
IFLA_AF_SPEC's AF_INET/AF_INET6 ones, IFLA_XDP's and IFLA_LINKINFO's kinds
(IFLA_INFO_DATA, IFLA_VFINFO_LIST, IFLA_PROP_LIST, ...: hex), NETLINK_KOBJECT_UEVENT's text.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from formats.linux import errno_name

from ._flags import INET_PROTOCOLS, SOCKET_DOMAINS, Table, render_flags
from ._text import strace_hex_string, strace_string

#: The socket protocols with decoders here (linux/netlink.h).
NETLINK_ROUTE = 0
NETLINK_SOCK_DIAG = 4
NETLINK_KOBJECT_UEVENT = 15

#: Interface index -> name, or None when unknown.
IfName = Callable[[int], "str | None"]

# --------------------------------------------------------------------------- tables

#: linux/netlink.h: control message types (below NLMSG_MIN_TYPE).
NLMSG_TYPES: Table = (
    ("NLMSG_NOOP", 1), ("NLMSG_ERROR", 2), ("NLMSG_DONE", 3), ("NLMSG_OVERRUN", 4),
)
NLMSG_MIN_TYPE = 0x10
#: linux/netlink.h: flags of every message, then those of GET, NEW, DELETE
#: requests and of acks (the same bits, named by the message type).
NLM_F_FLAGS: Table = (
    ("NLM_F_REQUEST", 1), ("NLM_F_MULTI", 2), ("NLM_F_ACK", 4), ("NLM_F_ECHO", 8),
    ("NLM_F_DUMP_INTR", 16), ("NLM_F_DUMP_FILTERED", 32),
)
NLM_F_GET_FLAGS: Table = (
    ("NLM_F_DUMP", 768), ("NLM_F_ROOT", 256), ("NLM_F_MATCH", 512), ("NLM_F_ATOMIC", 1024),
)
NLM_F_NEW_FLAGS: Table = (
    ("NLM_F_REPLACE", 256), ("NLM_F_EXCL", 512), ("NLM_F_CREATE", 1024), ("NLM_F_APPEND", 2048),
)
NLM_F_DELETE_FLAGS: Table = (("NLM_F_NONREC", 256), ("NLM_F_BULK", 512))
NLM_F_ACK_FLAGS: Table = (("NLM_F_CAPPED", 256), ("NLM_F_ACK_TLVS", 512))
#: linux/sock_diag.h
SOCK_DIAG_TYPES: Table = (("SOCK_DIAG_BY_FAMILY", 20), ("SOCK_DESTROY", 21))
#: netinet/tcp.h: TCP states (inet_diag's idiag_state, idiag_states bits).
TCP_STATES: Table = (
    ("TCP_ESTABLISHED", 1), ("TCP_SYN_SENT", 2), ("TCP_SYN_RECV", 3), ("TCP_FIN_WAIT1", 4),
    ("TCP_FIN_WAIT2", 5), ("TCP_TIME_WAIT", 6), ("TCP_CLOSE", 7), ("TCP_CLOSE_WAIT", 8),
    ("TCP_LAST_ACK", 9), ("TCP_LISTEN", 10), ("TCP_CLOSING", 11),
)

#: linux/if_link.h (Linux 6.1 uapi: the names strace 6.1 knows).
IFLA_ATTRS: Table = (
    ("IFLA_UNSPEC", 0), ("IFLA_ADDRESS", 1), ("IFLA_BROADCAST", 2), ("IFLA_IFNAME", 3),
    ("IFLA_MTU", 4), ("IFLA_LINK", 5), ("IFLA_QDISC", 6), ("IFLA_STATS", 7), ("IFLA_COST", 8),
    ("IFLA_PRIORITY", 9), ("IFLA_MASTER", 10), ("IFLA_WIRELESS", 11), ("IFLA_PROTINFO", 12),
    ("IFLA_TXQLEN", 13), ("IFLA_MAP", 14), ("IFLA_WEIGHT", 15), ("IFLA_OPERSTATE", 16),
    ("IFLA_LINKMODE", 17), ("IFLA_LINKINFO", 18), ("IFLA_NET_NS_PID", 19), ("IFLA_IFALIAS", 20),
    ("IFLA_NUM_VF", 21), ("IFLA_VFINFO_LIST", 22), ("IFLA_STATS64", 23), ("IFLA_VF_PORTS", 24),
    ("IFLA_PORT_SELF", 25), ("IFLA_AF_SPEC", 26), ("IFLA_GROUP", 27), ("IFLA_NET_NS_FD", 28),
    ("IFLA_EXT_MASK", 29), ("IFLA_PROMISCUITY", 30), ("IFLA_NUM_TX_QUEUES", 31),
    ("IFLA_NUM_RX_QUEUES", 32), ("IFLA_CARRIER", 33), ("IFLA_PHYS_PORT_ID", 34),
    ("IFLA_CARRIER_CHANGES", 35), ("IFLA_PHYS_SWITCH_ID", 36), ("IFLA_LINK_NETNSID", 37),
    ("IFLA_PHYS_PORT_NAME", 38), ("IFLA_PROTO_DOWN", 39), ("IFLA_GSO_MAX_SEGS", 40),
    ("IFLA_GSO_MAX_SIZE", 41), ("IFLA_PAD", 42), ("IFLA_XDP", 43), ("IFLA_EVENT", 44),
    ("IFLA_NEW_NETNSID", 45), ("IFLA_IF_NETNSID", 46), ("IFLA_TARGET_NETNSID", 46),
    ("IFLA_CARRIER_UP_COUNT", 47), ("IFLA_CARRIER_DOWN_COUNT", 48), ("IFLA_NEW_IFINDEX", 49),
    ("IFLA_MIN_MTU", 50), ("IFLA_MAX_MTU", 51), ("IFLA_PROP_LIST", 52), ("IFLA_ALT_IFNAME", 53),
    ("IFLA_PERM_ADDRESS", 54), ("IFLA_PROTO_DOWN_REASON", 55), ("IFLA_PARENT_DEV_NAME", 56),
    ("IFLA_PARENT_DEV_BUS_NAME", 57), ("IFLA_GRO_MAX_SIZE", 58), ("IFLA_TSO_MAX_SIZE", 59),
    ("IFLA_TSO_MAX_SEGS", 60), ("IFLA_ALLMULTI", 61),
)


IFA_ATTRS: Table = (
    ("IFA_UNSPEC", 0), ("IFA_ADDRESS", 1), ("IFA_LOCAL", 2), ("IFA_LABEL", 3),
    ("IFA_BROADCAST", 4), ("IFA_ANYCAST", 5), ("IFA_CACHEINFO", 6), ("IFA_MULTICAST", 7),
    ("IFA_FLAGS", 8), ("IFA_RT_PRIORITY", 9), ("IFA_TARGET_NETNSID", 10), ("IFA_PROTO", 11),
)


RTA_ATTRS: Table = (
    ("RTA_UNSPEC", 0), ("RTA_DST", 1), ("RTA_SRC", 2), ("RTA_IIF", 3), ("RTA_OIF", 4),
    ("RTA_GATEWAY", 5), ("RTA_PRIORITY", 6), ("RTA_PREFSRC", 7), ("RTA_METRICS", 8),
    ("RTA_MULTIPATH", 9), ("RTA_PROTOINFO", 10), ("RTA_FLOW", 11), ("RTA_CACHEINFO", 12),
    ("RTA_SESSION", 13), ("RTA_MP_ALGO", 14), ("RTA_TABLE", 15), ("RTA_MARK", 16),
    ("RTA_MFC_STATS", 17), ("RTA_VIA", 18), ("RTA_NEWDST", 19), ("RTA_PREF", 20),
    ("RTA_ENCAP_TYPE", 21), ("RTA_ENCAP", 22), ("RTA_EXPIRES", 23), ("RTA_PAD", 24),
    ("RTA_UID", 25), ("RTA_TTL_PROPAGATE", 26), ("RTA_IP_PROTO", 27), ("RTA_SPORT", 28),
    ("RTA_DPORT", 29), ("RTA_NH_ID", 30),
)


RTM_TYPES: Table = (
    ("RTM_NEWLINK", 16), ("RTM_DELLINK", 17), ("RTM_GETLINK", 18), ("RTM_SETLINK", 19),
    ("RTM_NEWADDR", 20), ("RTM_DELADDR", 21), ("RTM_GETADDR", 22), ("RTM_NEWROUTE", 24),
    ("RTM_DELROUTE", 25), ("RTM_GETROUTE", 26), ("RTM_NEWNEIGH", 28), ("RTM_DELNEIGH", 29),
    ("RTM_GETNEIGH", 30), ("RTM_NEWRULE", 32), ("RTM_DELRULE", 33), ("RTM_GETRULE", 34),
    ("RTM_NEWQDISC", 36), ("RTM_DELQDISC", 37), ("RTM_GETQDISC", 38), ("RTM_NEWTCLASS", 40),
    ("RTM_DELTCLASS", 41), ("RTM_GETTCLASS", 42), ("RTM_NEWTFILTER", 44),
    ("RTM_DELTFILTER", 45), ("RTM_GETTFILTER", 46), ("RTM_NEWACTION", 48),
    ("RTM_DELACTION", 49), ("RTM_GETACTION", 50), ("RTM_NEWPREFIX", 52),
    ("RTM_GETMULTICAST", 58), ("RTM_GETANYCAST", 62), ("RTM_NEWNEIGHTBL", 64),
    ("RTM_GETNEIGHTBL", 66), ("RTM_SETNEIGHTBL", 67), ("RTM_NEWNDUSEROPT", 68),
    ("RTM_NEWADDRLABEL", 72), ("RTM_DELADDRLABEL", 73), ("RTM_GETADDRLABEL", 74),
    ("RTM_GETDCB", 78), ("RTM_SETDCB", 79), ("RTM_NEWNETCONF", 80), ("RTM_DELNETCONF", 81),
    ("RTM_GETNETCONF", 82), ("RTM_NEWMDB", 84), ("RTM_DELMDB", 85), ("RTM_GETMDB", 86),
    ("RTM_NEWNSID", 88), ("RTM_DELNSID", 89), ("RTM_GETNSID", 90), ("RTM_NEWSTATS", 92),
    ("RTM_GETSTATS", 94), ("RTM_SETSTATS", 95), ("RTM_NEWCACHEREPORT", 96),
    ("RTM_NEWCHAIN", 100), ("RTM_DELCHAIN", 101), ("RTM_GETCHAIN", 102),
    ("RTM_NEWNEXTHOP", 104), ("RTM_DELNEXTHOP", 105), ("RTM_GETNEXTHOP", 106),
    ("RTM_NEWLINKPROP", 108), ("RTM_DELLINKPROP", 109), ("RTM_GETLINKPROP", 110),
    ("RTM_NEWVLAN", 112), ("RTM_DELVLAN", 113), ("RTM_GETVLAN", 114),
    ("RTM_NEWNEXTHOPBUCKET", 116), ("RTM_DELNEXTHOPBUCKET", 117), ("RTM_GETNEXTHOPBUCKET", 118),
    ("RTM_NEWTUNNEL", 120), ("RTM_DELTUNNEL", 121), ("RTM_GETTUNNEL", 122),
)


INET_DIAG_ATTRS: Table = (
    ("INET_DIAG_NONE", 0), ("INET_DIAG_MEMINFO", 1), ("INET_DIAG_INFO", 2),
    ("INET_DIAG_VEGASINFO", 3), ("INET_DIAG_CONG", 4), ("INET_DIAG_TOS", 5),
    ("INET_DIAG_TCLASS", 6), ("INET_DIAG_SKMEMINFO", 7), ("INET_DIAG_SHUTDOWN", 8),
    ("INET_DIAG_DCTCPINFO", 9), ("INET_DIAG_PROTOCOL", 10), ("INET_DIAG_SKV6ONLY", 11),
    ("INET_DIAG_LOCALS", 12), ("INET_DIAG_PEERS", 13), ("INET_DIAG_PAD", 14),
    ("INET_DIAG_MARK", 15), ("INET_DIAG_BBRINFO", 16), ("INET_DIAG_CLASS_ID", 17),
    ("INET_DIAG_MD5SIG", 18), ("INET_DIAG_ULP_INFO", 19), ("INET_DIAG_SK_BPF_STORAGES", 20),
    ("INET_DIAG_CGROUP_ID", 21), ("INET_DIAG_SOCKOPT", 22),
)


ARPHRD_TYPES: Table = (
    ("ARPHRD_NETROM", 0), ("ARPHRD_ETHER", 1), ("ARPHRD_EETHER", 2), ("ARPHRD_AX25", 3),
    ("ARPHRD_PRONET", 4), ("ARPHRD_CHAOS", 5), ("ARPHRD_IEEE802", 6), ("ARPHRD_ARCNET", 7),
    ("ARPHRD_APPLETLK", 8), ("ARPHRD_DLCI", 15), ("ARPHRD_ATM", 19), ("ARPHRD_METRICOM", 23),
    ("ARPHRD_IEEE1394", 24), ("ARPHRD_EUI64", 27), ("ARPHRD_INFINIBAND", 32),
    ("ARPHRD_SLIP", 256), ("ARPHRD_CSLIP", 257), ("ARPHRD_SLIP6", 258), ("ARPHRD_CSLIP6", 259),
    ("ARPHRD_RSRVD", 260), ("ARPHRD_ADAPT", 264), ("ARPHRD_ROSE", 270), ("ARPHRD_X25", 271),
    ("ARPHRD_HWX25", 272), ("ARPHRD_CAN", 280), ("ARPHRD_MCTP", 290), ("ARPHRD_PPP", 512),
    ("ARPHRD_CISCO", 513), ("ARPHRD_HDLC", 513), ("ARPHRD_LAPB", 516), ("ARPHRD_DDCMP", 517),
    ("ARPHRD_RAWHDLC", 518), ("ARPHRD_RAWIP", 519), ("ARPHRD_TUNNEL", 768),
    ("ARPHRD_TUNNEL6", 769), ("ARPHRD_FRAD", 770), ("ARPHRD_SKIP", 771),
    ("ARPHRD_LOOPBACK", 772), ("ARPHRD_LOCALTLK", 773), ("ARPHRD_FDDI", 774),
    ("ARPHRD_BIF", 775), ("ARPHRD_SIT", 776), ("ARPHRD_IPDDP", 777), ("ARPHRD_IPGRE", 778),
    ("ARPHRD_PIMREG", 779), ("ARPHRD_HIPPI", 780), ("ARPHRD_ASH", 781), ("ARPHRD_ECONET", 782),
    ("ARPHRD_IRDA", 783), ("ARPHRD_FCPP", 784), ("ARPHRD_FCAL", 785), ("ARPHRD_FCPL", 786),
    ("ARPHRD_FCFABRIC", 787), ("ARPHRD_IEEE802_TR", 800), ("ARPHRD_IEEE80211", 801),
    ("ARPHRD_IEEE80211_PRISM", 802), ("ARPHRD_IEEE80211_RADIOTAP", 803),
    ("ARPHRD_IEEE802154", 804), ("ARPHRD_IEEE802154_MONITOR", 805), ("ARPHRD_PHONET", 820),
    ("ARPHRD_PHONET_PIPE", 821), ("ARPHRD_CAIF", 822), ("ARPHRD_IP6GRE", 823),
    ("ARPHRD_NETLINK", 824), ("ARPHRD_6LOWPAN", 825), ("ARPHRD_VSOCKMON", 826),
    ("ARPHRD_VOID", 65535), ("ARPHRD_NONE", 65534),
)


IFF_FLAGS: Table = (
    ("IFF_UP", 1), ("IFF_BROADCAST", 2), ("IFF_DEBUG", 4), ("IFF_LOOPBACK", 8),
    ("IFF_POINTOPOINT", 16), ("IFF_NOTRAILERS", 32), ("IFF_RUNNING", 64), ("IFF_NOARP", 128),
    ("IFF_PROMISC", 256), ("IFF_ALLMULTI", 512), ("IFF_MASTER", 1024), ("IFF_SLAVE", 2048),
    ("IFF_MULTICAST", 4096), ("IFF_PORTSEL", 8192), ("IFF_AUTOMEDIA", 16384),
    ("IFF_DYNAMIC", 32768), ("IFF_LOWER_UP", 65536), ("IFF_DORMANT", 131072),
    ("IFF_ECHO", 262144),
)


IFA_FLAGS: Table = (
    ("IFA_F_SECONDARY", 1), ("IFA_F_TEMPORARY", 1), ("IFA_F_NODAD", 2), ("IFA_F_OPTIMISTIC", 4),
    ("IFA_F_DADFAILED", 8), ("IFA_F_HOMEADDRESS", 16), ("IFA_F_DEPRECATED", 32),
    ("IFA_F_TENTATIVE", 64), ("IFA_F_PERMANENT", 128), ("IFA_F_MANAGETEMPADDR", 256),
    ("IFA_F_NOPREFIXROUTE", 512), ("IFA_F_MCAUTOJOIN", 1024), ("IFA_F_STABLE_PRIVACY", 2048),
)


RT_SCOPES: Table = (
    ("RT_SCOPE_UNIVERSE", 0), ("RT_SCOPE_SITE", 200), ("RT_SCOPE_LINK", 253),
    ("RT_SCOPE_HOST", 254), ("RT_SCOPE_NOWHERE", 255),
)


RTN_TYPES: Table = (
    ("RTN_UNSPEC", 0), ("RTN_UNICAST", 1), ("RTN_LOCAL", 2), ("RTN_BROADCAST", 3),
    ("RTN_ANYCAST", 4), ("RTN_MULTICAST", 5), ("RTN_BLACKHOLE", 6), ("RTN_UNREACHABLE", 7),
    ("RTN_PROHIBIT", 8), ("RTN_THROW", 9), ("RTN_NAT", 10), ("RTN_XRESOLVE", 11),
)


RTPROT: Table = (
    ("RTPROT_UNSPEC", 0), ("RTPROT_REDIRECT", 1), ("RTPROT_KERNEL", 2), ("RTPROT_BOOT", 3),
    ("RTPROT_STATIC", 4), ("RTPROT_GATED", 8), ("RTPROT_RA", 9), ("RTPROT_MRT", 10),
    ("RTPROT_ZEBRA", 11), ("RTPROT_BIRD", 12), ("RTPROT_DNROUTED", 13), ("RTPROT_XORP", 14),
    ("RTPROT_NTK", 15), ("RTPROT_DHCP", 16), ("RTPROT_MROUTED", 17), ("RTPROT_KEEPALIVED", 18),
    ("RTPROT_BABEL", 42), ("RTPROT_OPENR", 99), ("RTPROT_BGP", 186), ("RTPROT_ISIS", 187),
    ("RTPROT_OSPF", 188), ("RTPROT_RIP", 189), ("RTPROT_EIGRP", 192),
)


RT_TABLES: Table = (
    ("RT_TABLE_UNSPEC", 0), ("RT_TABLE_COMPAT", 252), ("RT_TABLE_DEFAULT", 253),
    ("RT_TABLE_MAIN", 254), ("RT_TABLE_LOCAL", 255),
)


RTM_F: Table = (
    ("RTM_F_NOTIFY", 256), ("RTM_F_CLONED", 512), ("RTM_F_EQUALIZE", 1024),
    ("RTM_F_PREFIX", 2048), ("RTM_F_LOOKUP_TABLE", 4096), ("RTM_F_FIB_MATCH", 8192),
    ("RTM_F_OFFLOAD", 16384), ("RTM_F_TRAP", 32768), ("RTM_F_OFFLOAD_FAILED", 536870912),
)


RTEXT_FILTER: Table = (
    ("RTEXT_FILTER_VF", 1), ("RTEXT_FILTER_BRVLAN", 2), ("RTEXT_FILTER_BRVLAN_COMPRESSED", 4),
    ("RTEXT_FILTER_SKIP_STATS", 8), ("RTEXT_FILTER_MRP", 16), ("RTEXT_FILTER_CFM_CONFIG", 32),
    ("RTEXT_FILTER_CFM_STATUS", 64), ("RTEXT_FILTER_MST", 128),
)


NLMSGERR_ATTRS: Table = (
    ("NLMSGERR_ATTR_UNUSED", 0), ("NLMSGERR_ATTR_MSG", 1), ("NLMSGERR_ATTR_OFFS", 2),
    ("NLMSGERR_ATTR_COOKIE", 3), ("NLMSGERR_ATTR_POLICY", 4), ("NLMSGERR_ATTR_MISS_TYPE", 5),
    ("NLMSGERR_ATTR_MISS_NEST", 6),
)


#: linux/ip.h: IFLA_INET_CONF's indexes (strace prints ``[IPV4_DEVCONF_X-1]``).
IPV4_DEVCONF: Table = (
    ("IPV4_DEVCONF_FORWARDING", 1), ("IPV4_DEVCONF_MC_FORWARDING", 2),
    ("IPV4_DEVCONF_PROXY_ARP", 3), ("IPV4_DEVCONF_ACCEPT_REDIRECTS", 4),
    ("IPV4_DEVCONF_SECURE_REDIRECTS", 5), ("IPV4_DEVCONF_SEND_REDIRECTS", 6),
    ("IPV4_DEVCONF_SHARED_MEDIA", 7), ("IPV4_DEVCONF_RP_FILTER", 8),
    ("IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE", 9), ("IPV4_DEVCONF_BOOTP_RELAY", 10),
    ("IPV4_DEVCONF_LOG_MARTIANS", 11), ("IPV4_DEVCONF_TAG", 12), ("IPV4_DEVCONF_ARPFILTER", 13),
    ("IPV4_DEVCONF_MEDIUM_ID", 14), ("IPV4_DEVCONF_NOXFRM", 15), ("IPV4_DEVCONF_NOPOLICY", 16),
    ("IPV4_DEVCONF_FORCE_IGMP_VERSION", 17), ("IPV4_DEVCONF_ARP_ANNOUNCE", 18),
    ("IPV4_DEVCONF_ARP_IGNORE", 19), ("IPV4_DEVCONF_PROMOTE_SECONDARIES", 20),
    ("IPV4_DEVCONF_ARP_ACCEPT", 21), ("IPV4_DEVCONF_ARP_NOTIFY", 22),
    ("IPV4_DEVCONF_ACCEPT_LOCAL", 23), ("IPV4_DEVCONF_SRC_VMARK", 24),
    ("IPV4_DEVCONF_PROXY_ARP_PVLAN", 25), ("IPV4_DEVCONF_ROUTE_LOCALNET", 26),
    ("IPV4_DEVCONF_IGMPV2_UNSOLICITED_REPORT_INTERVAL", 27),
    ("IPV4_DEVCONF_IGMPV3_UNSOLICITED_REPORT_INTERVAL", 28),
    ("IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN", 29),
    ("IPV4_DEVCONF_DROP_UNICAST_IN_L2_MULTICAST", 30), ("IPV4_DEVCONF_DROP_GRATUITOUS_ARP", 31),
    ("IPV4_DEVCONF_BC_FORWARDING", 32), ("IPV4_DEVCONF_ARP_EVICT_NOCARRIER", 33),
)
#: linux/ipv6.h: IFLA_INET6_CONF's indexes (through strace 6.1's last).
IPV6_DEVCONF: Table = (
    ("DEVCONF_FORWARDING", 0), ("DEVCONF_HOPLIMIT", 1), ("DEVCONF_MTU6", 2),
    ("DEVCONF_ACCEPT_RA", 3), ("DEVCONF_ACCEPT_REDIRECTS", 4), ("DEVCONF_AUTOCONF", 5),
    ("DEVCONF_DAD_TRANSMITS", 6), ("DEVCONF_RTR_SOLICITS", 7), ("DEVCONF_RTR_SOLICIT_INTERVAL", 8),
    ("DEVCONF_RTR_SOLICIT_DELAY", 9), ("DEVCONF_USE_TEMPADDR", 10), ("DEVCONF_TEMP_VALID_LFT", 11),
    ("DEVCONF_TEMP_PREFERED_LFT", 12), ("DEVCONF_REGEN_MAX_RETRY", 13),
    ("DEVCONF_MAX_DESYNC_FACTOR", 14), ("DEVCONF_MAX_ADDRESSES", 15),
    ("DEVCONF_FORCE_MLD_VERSION", 16), ("DEVCONF_ACCEPT_RA_DEFRTR", 17),
    ("DEVCONF_ACCEPT_RA_PINFO", 18), ("DEVCONF_ACCEPT_RA_RTR_PREF", 19),
    ("DEVCONF_RTR_PROBE_INTERVAL", 20), ("DEVCONF_ACCEPT_RA_RT_INFO_MAX_PLEN", 21),
    ("DEVCONF_PROXY_NDP", 22), ("DEVCONF_OPTIMISTIC_DAD", 23), ("DEVCONF_ACCEPT_SOURCE_ROUTE", 24),
    ("DEVCONF_MC_FORWARDING", 25), ("DEVCONF_DISABLE_IPV6", 26), ("DEVCONF_ACCEPT_DAD", 27),
    ("DEVCONF_FORCE_TLLAO", 28), ("DEVCONF_NDISC_NOTIFY", 29),
    ("DEVCONF_MLDV1_UNSOLICITED_REPORT_INTERVAL", 30),
    ("DEVCONF_MLDV2_UNSOLICITED_REPORT_INTERVAL", 31), ("DEVCONF_SUPPRESS_FRAG_NDISC", 32),
    ("DEVCONF_ACCEPT_RA_FROM_LOCAL", 33), ("DEVCONF_USE_OPTIMISTIC", 34),
    ("DEVCONF_ACCEPT_RA_MTU", 35), ("DEVCONF_STABLE_SECRET", 36),
    ("DEVCONF_USE_OIF_ADDRS_ONLY", 37), ("DEVCONF_ACCEPT_RA_MIN_HOP_LIMIT", 38),
    ("DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN", 39), ("DEVCONF_DROP_UNICAST_IN_L2_MULTICAST", 40),
    ("DEVCONF_DROP_UNSOLICITED_NA", 41), ("DEVCONF_KEEP_ADDR_ON_DOWN", 42),
    ("DEVCONF_RTR_SOLICIT_MAX_INTERVAL", 43), ("DEVCONF_SEG6_ENABLED", 44),
    ("DEVCONF_SEG6_REQUIRE_HMAC", 45), ("DEVCONF_ENHANCED_DAD", 46), ("DEVCONF_ADDR_GEN_MODE", 47),
    ("DEVCONF_DISABLE_POLICY", 48), ("DEVCONF_ACCEPT_RA_RT_INFO_MIN_PLEN", 49),
    ("DEVCONF_NDISC_TCLASS", 50), ("DEVCONF_RPL_SEG_ENABLED", 51),
    ("DEVCONF_RA_DEFRTR_METRIC", 52), ("DEVCONF_IOAM6_ENABLED", 53), ("DEVCONF_IOAM6_ID", 54),
    ("DEVCONF_IOAM6_ID_WIDE", 55), ("DEVCONF_NDISC_EVICT_NOCARRIER", 56),
    ("DEVCONF_ACCEPT_UNTRACKED_NA", 57),
)
#: linux/snmp.h: IFLA_INET6_STATS' indexes (through strace 6.1's last).
IPSTATS_MIB: Table = (
    ("IPSTATS_MIB_NUM", 0), ("IPSTATS_MIB_INPKTS", 1), ("IPSTATS_MIB_INOCTETS", 2),
    ("IPSTATS_MIB_INDELIVERS", 3), ("IPSTATS_MIB_OUTFORWDATAGRAMS", 4), ("IPSTATS_MIB_OUTPKTS", 5),
    ("IPSTATS_MIB_OUTOCTETS", 6), ("IPSTATS_MIB_INHDRERRORS", 7),
    ("IPSTATS_MIB_INTOOBIGERRORS", 8), ("IPSTATS_MIB_INNOROUTES", 9),
    ("IPSTATS_MIB_INADDRERRORS", 10), ("IPSTATS_MIB_INUNKNOWNPROTOS", 11),
    ("IPSTATS_MIB_INTRUNCATEDPKTS", 12), ("IPSTATS_MIB_INDISCARDS", 13),
    ("IPSTATS_MIB_OUTDISCARDS", 14), ("IPSTATS_MIB_OUTNOROUTES", 15),
    ("IPSTATS_MIB_REASMTIMEOUT", 16), ("IPSTATS_MIB_REASMREQDS", 17), ("IPSTATS_MIB_REASMOKS", 18),
    ("IPSTATS_MIB_REASMFAILS", 19), ("IPSTATS_MIB_FRAGOKS", 20), ("IPSTATS_MIB_FRAGFAILS", 21),
    ("IPSTATS_MIB_FRAGCREATES", 22), ("IPSTATS_MIB_INMCASTPKTS", 23),
    ("IPSTATS_MIB_OUTMCASTPKTS", 24), ("IPSTATS_MIB_INBCASTPKTS", 25),
    ("IPSTATS_MIB_OUTBCASTPKTS", 26), ("IPSTATS_MIB_INMCASTOCTETS", 27),
    ("IPSTATS_MIB_OUTMCASTOCTETS", 28), ("IPSTATS_MIB_INBCASTOCTETS", 29),
    ("IPSTATS_MIB_OUTBCASTOCTETS", 30), ("IPSTATS_MIB_CSUMERRORS", 31),
    ("IPSTATS_MIB_NOECTPKTS", 32), ("IPSTATS_MIB_ECT1PKTS", 33), ("IPSTATS_MIB_ECT0PKTS", 34),
    ("IPSTATS_MIB_CEPKTS", 35), ("IPSTATS_MIB_REASM_OVERLAPS", 36),
)
#: linux/snmp.h: IFLA_INET6_ICMP6STATS' indexes (through strace 6.1's last).
ICMP6_MIB: Table = (
    ("ICMP6_MIB_NUM", 0), ("ICMP6_MIB_INMSGS", 1), ("ICMP6_MIB_INERRORS", 2),
    ("ICMP6_MIB_OUTMSGS", 3), ("ICMP6_MIB_OUTERRORS", 4), ("ICMP6_MIB_CSUMERRORS", 5),
)
#: linux/sock_diag.h: INET_DIAG_SKMEMINFO's indexes.
SK_MEMINFO: Table = (
    ("SK_MEMINFO_RMEM_ALLOC", 0), ("SK_MEMINFO_RCVBUF", 1), ("SK_MEMINFO_WMEM_ALLOC", 2),
    ("SK_MEMINFO_SNDBUF", 3), ("SK_MEMINFO_FWD_ALLOC", 4), ("SK_MEMINFO_WMEM_QUEUED", 5),
    ("SK_MEMINFO_OPTMEM", 6), ("SK_MEMINFO_BACKLOG", 7), ("SK_MEMINFO_DROPS", 8),
)
#: linux/if_link.h: IFLA_AF_SPEC's AF_INET and AF_INET6 attributes, IFLA_XDP's,
#: IFLA_LINKINFO's, and their values.
IFLA_INET_ATTRS: Table = (("IFLA_INET_UNSPEC", 0), ("IFLA_INET_CONF", 1))
IFLA_INET6_ATTRS: Table = (
    ("IFLA_INET6_UNSPEC", 0), ("IFLA_INET6_FLAGS", 1), ("IFLA_INET6_CONF", 2),
    ("IFLA_INET6_STATS", 3), ("IFLA_INET6_MCAST", 4), ("IFLA_INET6_CACHEINFO", 5),
    ("IFLA_INET6_ICMP6STATS", 6), ("IFLA_INET6_TOKEN", 7), ("IFLA_INET6_ADDR_GEN_MODE", 8),
    ("IFLA_INET6_RA_MTU", 9),
)
IN6_ADDR_GEN_MODES: Table = (
    ("IN6_ADDR_GEN_MODE_EUI64", 0), ("IN6_ADDR_GEN_MODE_NONE", 1),
    ("IN6_ADDR_GEN_MODE_STABLE_PRIVACY", 2), ("IN6_ADDR_GEN_MODE_RANDOM", 3),
)
IFLA_XDP_ATTRS: Table = (
    ("IFLA_XDP_UNSPEC", 0), ("IFLA_XDP_FD", 1), ("IFLA_XDP_ATTACHED", 2), ("IFLA_XDP_FLAGS", 3),
    ("IFLA_XDP_PROG_ID", 4), ("IFLA_XDP_DRV_PROG_ID", 5), ("IFLA_XDP_SKB_PROG_ID", 6),
    ("IFLA_XDP_HW_PROG_ID", 7), ("IFLA_XDP_EXPECTED_FD", 8),
)
XDP_ATTACHED: Table = (
    ("XDP_ATTACHED_NONE", 0), ("XDP_ATTACHED_DRV", 1), ("XDP_ATTACHED_SKB", 2),
    ("XDP_ATTACHED_HW", 3), ("XDP_ATTACHED_MULTI", 4),
)
XDP_FLAGS: Table = (
    ("XDP_FLAGS_UPDATE_IF_NOEXIST", 1), ("XDP_FLAGS_SKB_MODE", 2), ("XDP_FLAGS_DRV_MODE", 4),
    ("XDP_FLAGS_HW_MODE", 8), ("XDP_FLAGS_REPLACE", 16),
)
IFLA_INFO_ATTRS: Table = (
    ("IFLA_INFO_UNSPEC", 0), ("IFLA_INFO_KIND", 1), ("IFLA_INFO_DATA", 2),
    ("IFLA_INFO_XSTATS", 3), ("IFLA_INFO_SLAVE_KIND", 4), ("IFLA_INFO_SLAVE_DATA", 5),
)
#: The kernel's net/if_inet6.h (no uapi header): IFLA_INET6_FLAGS' bits, as strace names them.
INET6_IF_FLAGS: Table = (
    ("IF_RS_SENT", 0x10), ("IF_RA_RCVD", 0x20), ("IF_RA_MANAGED", 0x40),
    ("IF_RA_OTHERCONF", 0x80), ("IF_READY", 0x80000000),
)


def _names(table: Table) -> Mapping[int, str]:
    names: dict[int, str] = {}
    for name, value in table:
        names.setdefault(value, name)  # the first name of a value wins (aliases follow)
    return MappingProxyType(names)


_NLMSG_NAMES = _names(NLMSG_TYPES)
_RTM_NAMES = _names(RTM_TYPES)
_SOCK_DIAG_NAMES = _names(SOCK_DIAG_TYPES)
_FAMILY_NAMES = _names(SOCKET_DOMAINS)
_ARPHRD_NAMES = _names(ARPHRD_TYPES)
_SCOPE_NAMES = _names(RT_SCOPES)
_RTN_NAMES = _names(RTN_TYPES)
_RTPROT_NAMES = _names(RTPROT)
_TABLE_NAMES = _names(RT_TABLES)
_IFLA_NAMES = _names(IFLA_ATTRS)
_IFA_NAMES = _names(IFA_ATTRS)
_RTA_NAMES = _names(RTA_ATTRS)
_INET_DIAG_NAMES = _names(INET_DIAG_ATTRS)
_NLMSGERR_NAMES = _names(NLMSGERR_ATTRS)
_IPV4_DEVCONF_NAMES = _names(IPV4_DEVCONF)
_IPV6_DEVCONF_NAMES = _names(IPV6_DEVCONF)
_IFLA_INET_NAMES = _names(IFLA_INET_ATTRS)
_IFLA_INET6_NAMES = _names(IFLA_INET6_ATTRS)
_IN6_ADDR_GEN_MODE_NAMES = _names(IN6_ADDR_GEN_MODES)
_IFLA_XDP_NAMES = _names(IFLA_XDP_ATTRS)
_XDP_ATTACHED_NAMES = _names(XDP_ATTACHED)
_IFLA_INFO_NAMES = _names(IFLA_INFO_ATTRS)
_IPSTATS_MIB_NAMES = _names(IPSTATS_MIB)
_ICMP6_MIB_NAMES = _names(ICMP6_MIB)
_SK_MEMINFO_NAMES = _names(SK_MEMINFO)
_TCP_STATE_NAMES = _names(TCP_STATES)
_PROTOCOL_NAMES = _names(INET_PROTOCOLS)
_TCP_STATE_BITS: Table = tuple((f"1<<{name}", 1 << value) for name, value in TCP_STATES)
#: inet_diag's idiag_ext: bit N-1 asks for attribute N.
_INET_DIAG_EXT_BITS: Table = tuple((f"1<<({name}-1)", 1 << (value - 1))
                                   for name, value in INET_DIAG_ATTRS if value)

_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLM_F_REQUEST = 1
_NLM_F_CAPPED = 0x100
_RTM_DELACTION = 49
_AF_INET = 2
_AF_INET6 = 10
_NLA_F_NESTED = 1 << 15
_NLA_F_NET_BYTEORDER = 1 << 14
_NLA_TYPE_MASK = ~(_NLA_F_NESTED | _NLA_F_NET_BYTEORDER) & 0xFFFF
_HEADER = struct.Struct("<IHHII")  # struct nlmsghdr
_NLA = struct.Struct("<HH")  # struct nlattr


def _align(length: int) -> int:
    return (length + 3) & ~3


def _xval(names: Mapping[int, str], value: int, default: str) -> str:
    """strace's printxval: the name, else ``0x1f /* RTM_??? */``."""
    name = names.get(value)
    if name is not None:
        return name
    return f"{hex(value) if value else '0'} /* {default} */"


def _flags(value: int, default: str, *tables: Table) -> str:
    """strace's printflags: names, then the bits left in hex; no name: ``0x... /* X_??? */``."""
    if value == 0:
        return "0"
    text = render_flags(tuple(entry for table in tables for entry in table), value)
    return text if not text.startswith("0x") else f"{text} /* {default} */"


class _Decoder:
    """One call's decoding context: the socket's protocol and the output's limits."""

    def __init__(self, protocol: int | None, limit: int, ifname: IfName | None,
                 hex_strings: int = 0) -> None:
        self.protocol = protocol
        self.limit = limit
        self.ifname = ifname
        self.hex_strings = hex_strings  # strace's -x (1) / -xx (2)

    # -- scalars ------------------------------------------------------------

    def hex(self, data: bytes) -> str:
        return strace_hex_string(data, self.limit)

    def ifindex(self, index: int) -> str:
        name = self.ifname(index) if self.ifname is not None and index else None
        return f'if_nametoindex("{name}")' if name is not None else str(index)

    def address(self, family: int, data: bytes, field: str | None = None) -> str | None:
        """``inet_addr("127.0.0.1")`` / ``inet_pton(AF_INET6, "::1")`` (``&field`` when named)."""
        if family == _AF_INET and len(data) >= 4:
            text = f'inet_addr("{ipaddress.IPv4Address(data[:4])}")'
            return text if field is None else f"{field}={text}"
        if family == _AF_INET6 and len(data) >= 16:
            address = ipaddress.IPv6Address(data[:16])
            tail = "" if field is None else f", &{field}"
            return f'inet_pton(AF_INET6, "{address}"{tail})'
        return None

    # -- messages -----------------------------------------------------------

    def messages(self, data: bytes) -> str:
        items: list[str] = []
        offset = 0
        length = len(data)
        is_array = False
        while True:
            if length < _HEADER.size:
                items.append(self.hex(data[offset:offset + length]))
                break
            if len(items) >= self.limit:
                items.append("...")
                break
            header = _HEADER.unpack_from(data, offset)
            aligned = _align(header[0])
            rest = 0
            if header[0] >= _HEADER.size:
                rest = length - aligned if length >= aligned else 0
            if rest and not is_array:
                is_array = True
            items.append(self.message(header, data[offset:offset + length]))
            if not rest:
                break
            offset += aligned
            length = rest
        return "[" + ", ".join(items) + "]" if is_array else items[0]

    def message(self, header: tuple[int, int, int, int, int], data: bytes) -> str:
        """``{nlmsghdr}`` or ``[{nlmsghdr}, payload]`` of the message at the start of ``data``."""
        size = min(header[0], len(data))
        text = self.header(header)
        if size <= _HEADER.size:
            return text
        return f"[{text}, {self.payload(header, data[_HEADER.size:size])}]"

    def header(self, header: tuple[int, int, int, int, int]) -> str:
        length, kind, flags, seq, pid = header
        protocol = self.protocol
        names, default = _NLMSG_NAMES, "NLMSG_???"
        extra: Table = ()
        if kind >= NLMSG_MIN_TYPE:
            if protocol == NETLINK_ROUTE:
                names, default = _RTM_NAMES, "RTM_???"
                extra = (NLM_F_GET_FLAGS if kind == _RTM_DELACTION else
                         (NLM_F_NEW_FLAGS, NLM_F_DELETE_FLAGS, NLM_F_GET_FLAGS, ())[kind & 3])
            elif protocol == NETLINK_SOCK_DIAG:
                names, default = _SOCK_DIAG_NAMES, "SOCK_DIAG_???"
                extra = NLM_F_GET_FLAGS
        elif kind == _NLMSG_ERROR:
            extra = NLM_F_ACK_FLAGS
        pid_signed = pid - (1 << 32) if pid & 0x8000_0000 else pid
        return (f"{{nlmsg_len={length}, nlmsg_type={_xval(names, kind, default)}, "
                f"nlmsg_flags={_flags(flags, 'NLM_F_???', NLM_F_FLAGS, extra)}, "
                f"nlmsg_seq={seq}, nlmsg_pid={pid_signed}}}")

    def payload(self, header: tuple[int, int, int, int, int], data: bytes) -> str:
        kind, flags = header[1], header[2]
        if kind == _NLMSG_ERROR:
            return self.error(data, bool(flags & _NLM_F_CAPPED))
        if kind >= NLMSG_MIN_TYPE:
            if self.protocol == NETLINK_ROUTE:
                return self.route(kind, data)
            if self.protocol == NETLINK_SOCK_DIAG:
                return self.sock_diag(flags, data)
        if kind == _NLMSG_DONE and len(data) == 4:
            return str(int.from_bytes(data, "little", signed=True))
        return self.hex(data)

    def error(self, data: bytes, capped: bool) -> str:
        """struct nlmsgerr: ``{error=-ENOENT, msg=...}``, then its extended-ack attributes."""
        if len(data) < 4 + _HEADER.size:
            return self.hex(data)
        error = int.from_bytes(data[:4], "little", signed=True)
        inner = _HEADER.unpack_from(data, 4)
        rest = data[4:]
        payload = min(len(rest), _HEADER.size if capped else max(_HEADER.size, inner[0]))
        name = errno_name(-error) if error < 0 else None
        text = (f"{{error={'-' + name if name else error}, "
                f"msg={self.message(inner, rest[:payload])}}}")
        if len(rest) <= payload:
            return text
        attrs = self.attributes(rest[payload:], _NLMSGERR_NAMES, "NLMSGERR_ATTR_???",
                                _NLMSGERR_DECODERS)
        return f"[{text}, {attrs}]"

    # -- attributes ---------------------------------------------------------

    def attributes(self, data: bytes, names: Mapping[int, str], default: str,
                   decoders: Mapping[int, _AttrDecoder], context: int = 0) -> str:
        """strace's decode_nlattr: ``[{nla_len=8, nla_type=IFLA_MTU}, 65536]`` each, a list of them
        when there are several."""
        items: list[str] = []
        offset = 0
        length = len(data)
        is_array = False
        while True:
            if length < _NLA.size:
                items.append(self.hex(data[offset:offset + length]))
                break
            if len(items) >= self.limit:
                items.append("...")
                break
            nla_len, nla_type = _NLA.unpack_from(data, offset)
            aligned = _align(nla_len)
            rest = 0
            if nla_len >= _NLA.size:
                rest = length - aligned if length >= aligned else 0
            if rest and not is_array:
                is_array = True
            size = min(nla_len, length)
            kind = nla_type & _NLA_TYPE_MASK
            type_text = _xval(names, kind, default)
            if nla_type & _NLA_F_NET_BYTEORDER:
                type_text = "NLA_F_NET_BYTEORDER|" + type_text
            if nla_type & _NLA_F_NESTED:
                type_text = "NLA_F_NESTED|" + type_text
            head = f"{{nla_len={nla_len}, nla_type={type_text}}}"
            if size <= _NLA.size:
                items.append(head)
            else:
                value = data[offset + _NLA.size:offset + size]
                decoder = decoders.get(kind)
                text = None if decoder is None else decoder(self, value, context)
                items.append(f"[{head}, {text if text is not None else self.hex(value)}]")
            if not rest:
                break
            offset += aligned
            length = rest
        return "[" + ", ".join(items) + "]" if is_array else items[0]

    # -- NETLINK_ROUTE ------------------------------------------------------

    def route(self, kind: int, data: bytes) -> str:
        family = data[0]
        decoder = _ROUTE_DECODERS.get(kind)
        if decoder is not None:
            return decoder(self, family, data)
        if kind in _ROUTE_UNDECODED:
            return self.hex(data)
        return self.family(family, data)

    def family(self, family: int, data: bytes) -> str:
        text = f"{{family={_xval(_FAMILY_NAMES, family, 'AF_???')}"
        if len(data) > 1:
            text += f", data={self.hex(data[1:])}"
        return text + "}"

    def ifinfomsg(self, family: int, data: bytes) -> str:
        text = f"{{ifi_family={_xval(_FAMILY_NAMES, family, 'AF_???')}, "
        if len(data) < 16:
            return text + "...}"
        kind, index, flags, change = struct.unpack_from("<HiII", data, 2)
        text += (f"ifi_type={_xval(_ARPHRD_NAMES, kind, 'ARPHRD_???')}, "
                 f"ifi_index={self.ifindex(index)}, "
                 f"ifi_flags={_flags(flags, 'IFF_???', IFF_FLAGS)}, "
                 f"ifi_change={hex(change) if change else '0'}}}")
        if len(data) > 16:
            text += ", " + self.attributes(data[16:], _IFLA_NAMES, "IFLA_???", _IFLA_DECODERS)
        return text

    def ifaddrmsg(self, family: int, data: bytes) -> str:
        text = f"{{ifa_family={_xval(_FAMILY_NAMES, family, 'AF_???')}, "
        if len(data) < 8:
            return text + "...}"
        prefixlen, flags, scope, index = struct.unpack_from("<BBBi", data, 1)
        text += (f"ifa_prefixlen={prefixlen}, ifa_flags={_flags(flags, 'IFA_F_???', IFA_FLAGS)}, "
                 f"ifa_scope={_xval(_SCOPE_NAMES, scope, 'RT_SCOPE_???')}, "
                 f"ifa_index={self.ifindex(index)}}}")
        if len(data) > 8:
            text += ", " + self.attributes(data[8:], _IFA_NAMES, "IFA_???", _IFA_DECODERS,
                                           family)
        return text

    def rtmsg(self, family: int, data: bytes) -> str:
        text = f"{{rtm_family={_xval(_FAMILY_NAMES, family, 'AF_???')}, "
        if len(data) < 12:
            return text + "...}"
        dst, src, tos, table, protocol, scope, kind, flags = struct.unpack_from("<BBBBBBBI",
                                                                                data, 1)
        text += (f"rtm_dst_len={dst}, rtm_src_len={src}, rtm_tos={hex(tos) if tos else '0'}, "
                 f"rtm_table={_xval(_TABLE_NAMES, table, 'RT_TABLE_???')}, "
                 f"rtm_protocol={_xval(_RTPROT_NAMES, protocol, 'RTPROT_???')}, "
                 f"rtm_scope={_xval(_SCOPE_NAMES, scope, 'RT_SCOPE_???')}, "
                 f"rtm_type={_xval(_RTN_NAMES, kind, 'RTN_???')}, "
                 f"rtm_flags={_flags(flags, 'RTM_F_???', RTM_F)}}}")
        if len(data) > 12:
            text += ", " + self.attributes(data[12:], _RTA_NAMES, "RTA_???", _RTA_DECODERS,
                                           family)
        return text

    # -- NETLINK_SOCK_DIAG --------------------------------------------------

    def sock_diag(self, flags: int, data: bytes) -> str:
        family = data[0]
        if family in (_AF_INET, _AF_INET6) and len(data) > 1:
            if flags & _NLM_F_REQUEST:
                return self.inet_diag_req(family, data)
            return self.inet_diag_msg(family, data)
        return self.family(family, data)

    def sockid(self, family: int, data: bytes) -> str:
        """struct inet_diag_sockid (48 bytes)."""
        sport, dport = struct.unpack_from(">HH", data, 0)
        index, cookie0, cookie1 = struct.unpack_from("<iII", data, 36)
        source = self.address(family, data[4:20], "idiag_src")
        destination = self.address(family, data[20:36], "idiag_dst")
        return (f"{{idiag_sport=htons({sport}), idiag_dport=htons({dport}), "
                f"{source or 'idiag_src=' + self.hex(data[4:20])}, "
                f"{destination or 'idiag_dst=' + self.hex(data[20:36])}, "
                f"idiag_if={self.ifindex(index)}, idiag_cookie=[{cookie0}, {cookie1}]}}")

    def inet_diag_req(self, family: int, data: bytes) -> str:
        text = f"{{sdiag_family={_xval(_FAMILY_NAMES, family, 'AF_???')}, "
        if len(data) < 56:
            return text + "...}"
        protocol, ext, _pad, states = struct.unpack_from("<BBBI", data, 1)
        text += (f"sdiag_protocol={_xval(_PROTOCOL_NAMES, protocol, 'IPPROTO_???')}, "
                 f"idiag_ext={_flags(ext, '1<<INET_DIAG_???-1', _INET_DIAG_EXT_BITS)}, "
                 f"idiag_states={_flags(states, '1<<TCP_???', _TCP_STATE_BITS)}, "
                 f"id={self.sockid(family, data[8:56])}}}")
        if len(data) > 56:
            text += ", " + self.hex(data[56:])
        return text

    def inet_diag_msg(self, family: int, data: bytes) -> str:
        text = f"{{idiag_family={_xval(_FAMILY_NAMES, family, 'AF_???')}, "
        if len(data) < 72:
            return text + "...}"
        state, timer, retrans = data[1], data[2], data[3]
        expires, rqueue, wqueue, uid, inode = struct.unpack_from("<IIIII", data, 52)
        text += (f"idiag_state={_xval(_TCP_STATE_NAMES, state, 'TCP_???')}, "
                 f"idiag_timer={timer}, idiag_retrans={retrans}, "
                 f"id={self.sockid(family, data[4:52])}, idiag_expires={expires}, "
                 f"idiag_rqueue={rqueue}, idiag_wqueue={wqueue}, idiag_uid={uid}, "
                 f"idiag_inode={inode}}}")
        if len(data) > 72:
            text += ", " + self.attributes(data[72:], _INET_DIAG_NAMES, "INET_DIAG_???",
                                           _INET_DIAG_DECODERS)
        return text


#: An attribute's value decoder: (decoder, the value's bytes, the message's
#: address family) -> text, or None to print the bytes in hex (strace: too short).
_AttrDecoder = Callable[[_Decoder, bytes, int], "str | None"]
_RouteDecoder = Callable[[_Decoder, int, bytes], str]


def _unsigned(size: int) -> _AttrDecoder:
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        return str(int.from_bytes(data[:size], "little")) if len(data) >= size else None
    return decode


def _signed(size: int) -> _AttrDecoder:
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        return (str(int.from_bytes(data[:size], "little", signed=True))
                if len(data) >= size else None)
    return decode


def _string(decoder: _Decoder, data: bytes, family: int) -> str | None:
    """strace's decode_nla_str: up to the first NUL (the expected trailing one is not shown)."""
    end = data.find(b"\0")
    if end < 0:
        return strace_string(data, decoder.limit, False, decoder.hex_strings)
    return strace_string(data[:end], decoder.limit, end >= decoder.limit, decoder.hex_strings)


def _flag_word(table: Table, default: str) -> _AttrDecoder:
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        if len(data) < 4:
            return None
        return _flags(int.from_bytes(data[:4], "little"), default, table)
    return decode


def _ifindex(decoder: _Decoder, data: bytes, family: int) -> str | None:
    return decoder.ifindex(int.from_bytes(data[:4], "little")) if len(data) >= 4 else None


def _hwaddr(decoder: _Decoder, data: bytes, family: int) -> str | None:
    return ":".join(f"{byte:02x}" for byte in data)


def _address(decoder: _Decoder, data: bytes, family: int) -> str | None:
    return decoder.address(family, data)


def _stats(fields: tuple[str, ...], size: int) -> _AttrDecoder:
    """struct rtnl_link_stats (u32 fields) / rtnl_link_stats64 (u64)."""
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        if len(data) < len(fields) * size:
            return None
        values = [int.from_bytes(data[i * size:(i + 1) * size], "little")
                  for i in range(len(fields))]
        return "{" + ", ".join(f"{name}={value}" for name, value in zip(fields, values,
                                                                         strict=True)) + "}"
    return decode


def _cacheinfo(decoder: _Decoder, data: bytes, family: int) -> str | None:
    if len(data) < 16:
        return None
    prefered, valid, cstamp, tstamp = struct.unpack_from("<IIII", data)
    return (f"{{ifa_prefered={prefered}, ifa_valid={valid}, cstamp={cstamp}, "
            f"tstamp={tstamp}}}")


def _route_table(decoder: _Decoder, data: bytes, family: int) -> str | None:
    if len(data) < 4:
        return None
    return _xval(_TABLE_NAMES, int.from_bytes(data[:4], "little"), "RT_TABLE_???")


def _shutdown(decoder: _Decoder, data: bytes, family: int) -> str | None:
    """strace's verbose style (the kernel's RCV_SHUTDOWN/SEND_SHUTDOWN are not uapi)."""
    if not data:
        return None
    value = data[0]
    if not value:
        return "0"
    names = [name for bit, name in ((1, "RCV_SHUTDOWN"), (2, "SEND_SHUTDOWN")) if value & bit]
    rest = value & ~3
    if rest:
        names.append(hex(rest))
    return f"{hex(value)} /* {'|'.join(names)} */"


_SOCKOPT_BITS = ("recverr", "is_icsk", "freebind", "hdrincl", "mc_loop", "transparent",
                 "mc_all", "nodefrag", "bind_address_no_port", "recverr_rfc4884",
                 "defer_connect")


def _sockopt(decoder: _Decoder, data: bytes, family: int) -> str | None:
    """struct inet_diag_sockopt: the bits that are set (strace's abbreviated form)."""
    if len(data) < 2:
        return None
    word = data[0] | data[1] << 8
    parts = [f"{name}=1" for bit, name in enumerate(_SOCKOPT_BITS) if word >> bit & 1]
    if word >> 11:
        parts.append(f"unused={word >> 11:#x}")
    return "{" + ", ".join(parts) + "}"


def _nested(names: Mapping[int, str], default: str,
            decoders: Callable[[], Mapping[int, _AttrDecoder]]) -> _AttrDecoder:
    """A nested attribute: its own attributes (strace's decode_nlattr on the value)."""
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        return decoder.attributes(data, names, default, decoders(), family)
    return decode


def _xval_byte(names: Mapping[int, str], default: str) -> _AttrDecoder:
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        return _xval(names, data[0], default) if data else None
    return decode


def _indexed(names: Mapping[int, str], default: str, offset: int = 0, size: int = 4,
             signed: bool = True) -> _AttrDecoder:
    """An array of numbers by index, ``[[NAME]=v, ...]`` (at most the limit of them):
    IFLA_INET_CONF / IFLA_INET6_CONF (s32; IPv4's names are 1-based, printed
    ``[IPV4_DEVCONF_X-1]``), IFLA_INET6_STATS / ICMP6STATS (u64)."""
    def decode(decoder: _Decoder, data: bytes, family: int) -> str | None:
        count = len(data) // size
        if not count:
            return None
        items = []
        for index in range(count):
            if index >= decoder.limit:
                items.append("...")
                break
            name = names.get(index + offset)
            label = (f"{name}-{offset}" if offset else name) if name is not None else (
                f"{index} /* {default} */")
            value = int.from_bytes(data[index * size:(index + 1) * size], "little",
                                   signed=signed)
            items.append(f"[{label}]={value}")
        return "[" + ", ".join(items) + "]"
    return decode


def _inet6_cacheinfo(decoder: _Decoder, data: bytes, family: int) -> str | None:
    if len(data) < 16:
        return None
    reasm, tstamp, reachable, retrans = struct.unpack_from("<IIII", data)
    return (f"{{max_reasm_len={reasm}, tstamp={tstamp}, reachable_time={reachable}, "
            f"retrans_time={retrans}}}")


def _inet6_token(decoder: _Decoder, data: bytes, family: int) -> str | None:
    return decoder.address(_AF_INET6, data) if len(data) >= 16 else None


def _diag_meminfo(decoder: _Decoder, data: bytes, family: int) -> str | None:
    """struct inet_diag_meminfo."""
    if len(data) < 16:
        return None
    rmem, wmem, fmem, tmem = struct.unpack_from("<IIII", data)
    return f"{{idiag_rmem={rmem}, idiag_wmem={wmem}, idiag_fmem={fmem}, idiag_tmem={tmem}}}"


def _ifmap(decoder: _Decoder, data: bytes, family: int) -> str | None:
    """struct rtnl_link_ifmap."""
    if len(data) < 28:
        return None
    start, end, base, irq, dma, port = struct.unpack_from("<QQQHBB", data)
    return (f"{{mem_start={hex(start) if start else 0}, mem_end={hex(end) if end else 0}, "
            f"base_addr={hex(base) if base else 0}, irq={irq}, dma={dma}, port={port}}}")


def _af_spec(decoder: _Decoder, data: bytes, family: int) -> str | None:
    """IFLA_AF_SPEC: attributes typed by address family, AF_INET's and AF_INET6's decoded."""
    return decoder.attributes(data, _FAMILY_NAMES, "AF_???", _AF_SPEC_DECODERS, family)


def _af_inet(decoder: _Decoder, data: bytes, family: int) -> str | None:
    return decoder.attributes(data, _IFLA_INET_NAMES, "IFLA_INET_???",
                              _IFLA_INET_DECODERS, family)


def _af_inet6(decoder: _Decoder, data: bytes, family: int) -> str | None:
    return decoder.attributes(data, _IFLA_INET6_NAMES, "IFLA_INET6_???",
                              _IFLA_INET6_DECODERS, family)


_STATS_FIELDS = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped",
    "tx_dropped", "multicast", "collisions", "rx_length_errors", "rx_over_errors",
    "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors", "rx_missed_errors",
    "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors", "tx_heartbeat_errors",
    "tx_window_errors", "rx_compressed", "tx_compressed", "rx_nohandler")

_U8, _U16, _U32, _U64, _S32 = _unsigned(1), _unsigned(2), _unsigned(4), _unsigned(8), _signed(4)

_IFLA_INET_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _indexed(_IPV4_DEVCONF_NAMES, "IPV4_DEVCONF_???", 1),
})
_IFLA_INET6_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _flag_word(INET6_IF_FLAGS, "IF_???"),
    2: _indexed(_IPV6_DEVCONF_NAMES, "DEVCONF_???"),
    3: _indexed(_IPSTATS_MIB_NAMES, "IPSTATS_MIB_???", size=8, signed=False),
    5: _inet6_cacheinfo,
    6: _indexed(_ICMP6_MIB_NAMES, "ICMP6_MIB_???", size=8, signed=False),
    7: _inet6_token,
    8: _xval_byte(_IN6_ADDR_GEN_MODE_NAMES, "IN6_ADDR_GEN_MODE_???"),
})
_AF_SPEC_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    _AF_INET: _af_inet, _AF_INET6: _af_inet6,
})
_IFLA_XDP_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _S32, 2: _xval_byte(_XDP_ATTACHED_NAMES, "XDP_ATTACHED_???"),
    3: _flag_word(XDP_FLAGS, "XDP_FLAGS_???"), 4: _U32, 5: _U32, 6: _U32, 7: _U32, 8: _S32,
})
#: IFLA_LINKINFO: the kind names (the kind-specific data: hex).
_IFLA_INFO_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({1: _string, 4: _string})

#: strace's value decoders of IFLA_ attributes (the others: hex).
_IFLA_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _hwaddr, 2: _hwaddr, 3: _string, 4: _U32, 5: _U32, 6: _string,
    7: _stats(_STATS_FIELDS, 4), 10: _U32, 13: _U32, 15: _U32, 16: _U8, 17: _U8, 19: _U32,
    20: _string, 21: _U32, 23: _stats((*_STATS_FIELDS, "rx_otherhost_dropped"), 8), 27: _U32,
    29: _flag_word(RTEXT_FILTER, "RTEXT_FILTER_???"), 30: _U32, 31: _U32, 32: _U32, 33: _U8,
    35: _U32, 37: _S32, 38: _string, 39: _U8, 40: _U32, 41: _U32, 45: _S32, 46: _S32,
    47: _U32, 48: _U32, 49: _ifindex, 50: _U32, 51: _U32, 53: _string, 54: _hwaddr,
    56: _string, 57: _string, 58: _U32, 59: _U32, 60: _U32, 61: _U32,
    14: _ifmap, 26: _af_spec,
    18: _nested(_IFLA_INFO_NAMES, "IFLA_INFO_???", lambda: _IFLA_INFO_DECODERS),
    43: _nested(_IFLA_XDP_NAMES, "IFLA_XDP_???", lambda: _IFLA_XDP_DECODERS),
})
#: IFA_: addresses by the message's family, the label, cache info, flags.
_IFA_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _address, 2: _address, 3: _string, 4: _address, 5: _address, 6: _cacheinfo,
    7: _address, 8: _flag_word(IFA_FLAGS, "IFA_F_???"), 9: _U32, 10: _S32,
})
#: RTA_: the addresses, interfaces, numbers and table (metrics, multipath, cache info: hex).
_RTA_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _address, 2: _address, 3: _ifindex, 4: _ifindex, 5: _address, 6: _U32, 7: _address,
    10: _U32, 11: _U32, 14: _U32, 15: _route_table, 16: _U32, 19: _address, 20: _U8,
    23: _U64, 25: _U32, 26: _U8, 27: _U8, 28: _U16, 29: _U16, 30: _U32,
})
#: INET_DIAG_: what ``ss`` gets by default, and the simple numbers and strings.
_INET_DIAG_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({
    1: _diag_meminfo, 7: _indexed(_SK_MEMINFO_NAMES, "SK_MEMINFO_???", signed=False),
    4: _string, 5: _U8, 6: _U8, 8: _shutdown, 11: _U8, 15: _U32, 17: _U32, 21: _U64,
    22: _sockopt,
})
_NLMSGERR_DECODERS: Mapping[int, _AttrDecoder] = MappingProxyType({1: _string, 2: _U32})

_ROUTE_DECODERS: Mapping[int, _RouteDecoder] = MappingProxyType({
    **{kind: _Decoder.ifinfomsg for kind in (16, 17, 18, 19)},
    **{kind: _Decoder.ifaddrmsg for kind in (20, 21, 22, 56, 57, 58, 60, 61, 62)},
    **{kind: _Decoder.rtmsg for kind in (24, 25, 26)},
})
#: RTM_ types whose payload strace decodes with a decoder this module lacks
#: (neighbours, rules, traffic control, ...): their bytes print as hex, not as
#: strace's generic family form, which would claim a decoding strace does not show.
_ROUTE_UNDECODED = frozenset(value for _name, value in RTM_TYPES) - frozenset(_ROUTE_DECODERS) - {
    52, 68}  # RTM_NEWPREFIX, RTM_NEWNDUSEROPT: strace prints their family form too


def render(data: bytes, protocol: int | None, limit: int, ifname: IfName | None = None,
           truncated: bool = False, hex_strings: int = 0) -> str:
    """``data`` (what a call sent or received on a netlink socket) as strace prints it.

    ``protocol``: the socket's (None: unknown, the headers alone are named);
    ``limit``: strace's ``-s`` (messages, attributes and string bytes shown);
    ``truncated``: ``data`` is the start of what moved (the recording's ``-s``
    cut it), ``...`` follows; ``hex_strings``: strace's -x (1) / -xx (2).
    """
    try:
        text = _Decoder(protocol, limit, ifname, hex_strings).messages(data)
    except (struct.error, IndexError, ValueError):  # a decoder's bug must not end the dump
        text = strace_hex_string(data, limit)
    return text + "..." if truncated else text


def same_boot(header: Any) -> bool:
    """Whether the trace was recorded on this boot of this machine (its BEGIN/header
    ``recorder`` option names it): then interface indexes still name this host's
    interfaces, as strace resolves them while tracing. (The network namespace is
    not recorded: a trace of a program in another one is resolved in ours.)"""
    options = getattr(header, "options", None)
    recorder = options.get("recorder") if isinstance(options, Mapping) else None
    boot = recorder.get("boot_id") if isinstance(recorder, Mapping) else None
    if not isinstance(boot, str):
        return False
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() == boot
    except (OSError, ValueError):
        return False
