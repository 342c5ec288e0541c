//! Name tables for numeric values: route tables, protocols, scopes, DS fields, realms, route
//! types, IP protocols and interface groups, with iproute2's lookup order (exact name first,
//! then a number).

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use super::number::{get, get_unsigned, strtoul};

/// Route tables that iproute2 knows without a configuration file.
const TABLES: &[(&str, u32)] = &[
    ("local", 255),
    ("main", 254),
    ("default", 253),
    ("unspec", 0),
];

/// Route protocols of iproute2's rt_protos file.
const ROUTE_PROTOCOLS: &[(&str, u8)] = &[
    ("unspec", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("ovn", 84),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// Address protocols (IFAPROT_*) of iproute2's rt_addrprotos file.
const ADDRESS_PROTOCOLS: &[(&str, u8)] = &[
    ("unspec", 0),
    ("kernel_lo", 1),
    ("kernel_ra", 2),
    ("kernel_ll", 3),
];

/// Scopes of iproute2's rt_scopes file.
const SCOPES: &[(&str, u8)] = &[
    ("global", 0),
    ("site", 200),
    ("link", 253),
    ("host", 254),
    ("nowhere", 255),
];

/// DS field names of iproute2's rt_dsfield file.
const DSFIELDS: &[(&str, u8)] = &[
    ("default", 0x00),
    ("AF11", 0x28),
    ("AF12", 0x30),
    ("AF13", 0x38),
    ("AF21", 0x48),
    ("AF22", 0x50),
    ("AF23", 0x58),
    ("AF31", 0x68),
    ("AF32", 0x70),
    ("AF33", 0x78),
    ("AF41", 0x88),
    ("AF42", 0x90),
    ("AF43", 0x98),
    ("CS1", 0x20),
    ("CS2", 0x40),
    ("CS3", 0x60),
    ("CS4", 0x80),
    ("CS5", 0xA0),
    ("CS6", 0xC0),
    ("CS7", 0xE0),
    ("EF", 0xB8),
];

/// IP protocol names and aliases of netbase's /etc/protocols, which glibc's
/// `getprotobyname` reads for iproute2. The first name of each number is the canonical one.
const IP_PROTOCOLS: &[(&str, u8)] = &[
    ("ip", 0),
    ("IP", 0),
    ("hopopt", 0),
    ("HOPOPT", 0),
    ("icmp", 1),
    ("ICMP", 1),
    ("igmp", 2),
    ("IGMP", 2),
    ("ggp", 3),
    ("GGP", 3),
    ("ipencap", 4),
    ("IP-ENCAP", 4),
    ("st", 5),
    ("ST", 5),
    ("tcp", 6),
    ("TCP", 6),
    ("egp", 8),
    ("EGP", 8),
    ("igp", 9),
    ("IGP", 9),
    ("pup", 12),
    ("PUP", 12),
    ("udp", 17),
    ("UDP", 17),
    ("hmp", 20),
    ("HMP", 20),
    ("xns-idp", 22),
    ("XNS-IDP", 22),
    ("rdp", 27),
    ("RDP", 27),
    ("iso-tp4", 29),
    ("ISO-TP4", 29),
    ("dccp", 33),
    ("DCCP", 33),
    ("xtp", 36),
    ("XTP", 36),
    ("ddp", 37),
    ("DDP", 37),
    ("idpr-cmtp", 38),
    ("IDPR-CMTP", 38),
    ("ipv6", 41),
    ("IPv6", 41),
    ("ipv6-route", 43),
    ("IPv6-Route", 43),
    ("ipv6-frag", 44),
    ("IPv6-Frag", 44),
    ("idrp", 45),
    ("IDRP", 45),
    ("rsvp", 46),
    ("RSVP", 46),
    ("gre", 47),
    ("GRE", 47),
    ("esp", 50),
    ("IPSEC-ESP", 50),
    ("ah", 51),
    ("IPSEC-AH", 51),
    ("skip", 57),
    ("SKIP", 57),
    ("ipv6-icmp", 58),
    ("IPv6-ICMP", 58),
    ("ipv6-nonxt", 59),
    ("IPv6-NoNxt", 59),
    ("ipv6-opts", 60),
    ("IPv6-Opts", 60),
    ("rspf", 73),
    ("RSPF", 73),
    ("CPHB", 73),
    ("vmtp", 81),
    ("VMTP", 81),
    ("eigrp", 88),
    ("EIGRP", 88),
    ("ospf", 89),
    ("OSPFIGP", 89),
    ("ax.25", 93),
    ("AX.25", 93),
    ("ipip", 94),
    ("IPIP", 94),
    ("etherip", 97),
    ("ETHERIP", 97),
    ("encap", 98),
    ("ENCAP", 98),
    ("pim", 103),
    ("PIM", 103),
    ("ipcomp", 108),
    ("IPCOMP", 108),
    ("vrrp", 112),
    ("VRRP", 112),
    ("l2tp", 115),
    ("L2TP", 115),
    ("isis", 124),
    ("ISIS", 124),
    ("sctp", 132),
    ("SCTP", 132),
    ("fc", 133),
    ("FC", 133),
    ("mobility-header", 135),
    ("Mobility-Header", 135),
    ("udplite", 136),
    ("UDPLite", 136),
    ("mpls-in-ip", 137),
    ("MPLS-in-IP", 137),
    ("manet", 138),
    ("hip", 139),
    ("HIP", 139),
    ("shim6", 140),
    ("Shim6", 140),
    ("wesp", 141),
    ("WESP", 141),
    ("rohc", 142),
    ("ROHC", 142),
    ("ethernet", 143),
    ("Ethernet", 143),
];

/// Route types (RTN_*) in the order iproute2's `rtnl_rtntype_a2n` tries them, with whether
/// an abbreviation matches.
const ROUTE_TYPES: &[(&str, bool, u8)] = &[
    ("local", false, 2),
    ("nat", false, 10),
    ("broadcast", true, 3),
    ("brd", false, 3),
    ("anycast", true, 4),
    ("multicast", true, 5),
    ("prohibit", true, 8),
    ("unreachable", true, 7),
    ("blackhole", true, 6),
    ("xresolve", true, 11),
    ("unicast", true, 1),
    ("throw", false, 9),
];

/// Directories that iproute2 reads its configuration from, newest first.
const CONFIG_DIRS: &[&str] = &["/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"];

fn by_name<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, v)| *v)
}

fn by_value<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(name, _)| *name)
}

/// Reads a number from 0 to 255 with base 0, as iproute2's name tables fall back to.
fn small_number(word: &str) -> Option<u8> {
    get::<u8>(word)
}

/// Reads a route table: a built-in name, a name from the host's rt_tables files, or a number.
pub(super) fn table(word: &str) -> Option<u32> {
    by_name(TABLES, word)
        .or_else(|| {
            host_tables()
                .iter()
                .find(|(name, _)| name == word)
                .map(|(_, id)| *id)
        })
        .or_else(|| get::<u32>(word))
}

/// Returns the built-in name of a table, used when printing.
pub(super) fn table_name(id: u32) -> Option<&'static str> {
    match id {
        0 => None,
        id => by_value(TABLES, id),
    }
}

/// Reads a route protocol name or a number from 0 to 255.
pub(super) fn route_protocol(word: &str) -> Option<u8> {
    by_name(ROUTE_PROTOCOLS, word).or_else(|| small_number(word))
}

/// Returns the name of a route protocol, used when printing.
pub(super) fn route_protocol_name(id: u8) -> Option<&'static str> {
    by_value(ROUTE_PROTOCOLS, id)
}

/// Reads an address protocol name or a number from 0 to 255.
pub(super) fn address_protocol(word: &str) -> Option<u8> {
    by_name(ADDRESS_PROTOCOLS, word).or_else(|| small_number(word))
}

/// Returns the name of an address protocol, used when printing.
pub(super) fn address_protocol_name(id: u8) -> Option<&'static str> {
    by_value(ADDRESS_PROTOCOLS, id)
}

/// Reads a scope name or a number from 0 to 255.
pub(super) fn scope(word: &str) -> Option<u8> {
    by_name(SCOPES, word).or_else(|| small_number(word))
}

/// Returns the name of a scope, used when printing.
pub(super) fn scope_name(id: u8) -> Option<&'static str> {
    by_value(SCOPES, id)
}

/// Reads a DS field (TOS): a name, else a hex number no greater than 0xff, so `10` is 0x10.
pub(super) fn dsfield(word: &str) -> Option<u8> {
    by_name(DSFIELDS, word)
        .or_else(|| get_unsigned(word, 16, 255).and_then(|v| u8::try_from(v).ok()))
}

/// Reads one realm: `cosmos` (0) or a number from 0 to 255.
fn realm(word: &str) -> Option<u32> {
    if word == "cosmos" {
        return Some(0);
    }
    small_number(word).map(u32::from)
}

/// Reads `realms [FROM/]TO` as iproute2's `get_rt_realms_or_raw` does: FROM goes to the high
/// 16 bits. A word that is no realm pair is read as a raw 32-bit number.
pub(super) fn realms(word: &str) -> Option<u32> {
    let pair = match word.split_once('/') {
        Some((from, to)) => {
            let from = realm(from)?;
            let to = if to.is_empty() { Some(0) } else { realm(to) };
            to.map(|to| (from << 16) | to)
        }
        None => realm(word),
    };
    pair.or_else(|| get::<u32>(word))
}

/// Formats realms so that [`realms`] reads the same value back.
pub(super) fn realms_text(value: u32) -> String {
    let (from, to) = (value >> 16, value & 0xffff);
    if from != 0 && from <= 255 && to <= 255 {
        format!("{from}/{to}")
    } else {
        value.to_string()
    }
}

/// Reads a route type as iproute2's `rtnl_rtntype_a2n` does: a name (some abbreviate), else a
/// number from 0 to 255.
pub(super) fn route_type(word: &str) -> Option<u8> {
    let named = ROUTE_TYPES.iter().find(|(name, abbreviates, _)| {
        *name == word || (*abbreviates && !word.is_empty() && name.starts_with(word))
    });
    match named {
        Some((_, _, id)) => Some(*id),
        None => small_number(word),
    }
}

/// Returns the full name of a route type, used when printing.
pub(super) fn route_type_name(id: u8) -> Option<&'static str> {
    ROUTE_TYPES
        .iter()
        .find(|(name, _, v)| *v == id && *name != "brd")
        .map(|(name, _, _)| *name)
}

/// Reads an IP protocol as iproute2's `inet_proto_a2n` does: a decimal number from 0 to
/// 255, else a name or alias from /etc/protocols.
pub(super) fn ip_protocol(word: &str) -> Option<u8> {
    get_unsigned(word, 10, 255)
        .and_then(|v| u8::try_from(v).ok())
        .or_else(|| by_name(IP_PROTOCOLS, word))
}

/// Returns the canonical name of an IP protocol, used when printing.
pub(super) fn ip_protocol_name(id: u8) -> Option<&'static str> {
    by_value(IP_PROTOCOLS, id)
}

/// Reads an interface group: `default` (0) or a number from 0 to 2^31 − 1, as iproute2's
/// `rtnl_group_a2n` reads it into a C int and rejects negative values.
pub(super) fn interface_group(word: &str) -> Option<u32> {
    if word == "default" {
        return Some(0);
    }
    get_unsigned(word, 0, i32::MAX as u64).and_then(|v| u32::try_from(v).ok())
}

/// Returns the table names of the host's rt_tables files, read once.
fn host_tables() -> &'static [(String, u32)] {
    static TABLE_NAMES: OnceLock<Vec<(String, u32)>> = OnceLock::new();
    TABLE_NAMES.get_or_init(|| {
        CONFIG_DIRS
            .iter()
            .flat_map(|dir| table_files(Path::new(dir)))
            .filter_map(|path| fs::read_to_string(path).ok())
            .flat_map(|text| parse_names_file(&text))
            .collect()
    })
}

/// Lists `DIR/rt_tables` and `DIR/rt_tables.d/*.conf`, sorted, as iproute2 reads them.
fn table_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![dir.join("rt_tables")];
    let mut conf: Vec<_> = fs::read_dir(dir.join("rt_tables.d"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    conf.sort();
    files.append(&mut conf);
    files
}

/// Parses the lines `ID NAME` of an iproute2 names file. The ID is `0x` hex or decimal, and
/// lines with a negative or unreadable ID are skipped, as iproute2 does.
fn parse_names_file(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let id = fields.next().filter(|f| !f.starts_with('#'))?;
            let name = fields.next().filter(|f| !f.starts_with('#'))?;
            let id = match id.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => u32::try_from(id.parse::<i32>().ok()?).ok()?,
            };
            Some((name.to_string(), id))
        })
        .collect()
}

/// Returns true when the word begins with a decimal digit, because iproute2 tries a route type only
/// for words that do not.
pub(super) fn starts_with_digit(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit())
}

/// Reads the unsigned number that C `sscanf("%u")` reads at the start of `text`: decimal,
/// optionally signed, truncated to 32 bits. Returns the value and the bytes read.
pub(super) fn scanf_u32(text: &str) -> Option<(u32, usize)> {
    let read = strtoul(text, 10);
    if read.consumed == 0 {
        return None;
    }
    // glibc reads into an unsigned long (ULONG_MAX on overflow) and stores the low 32 bits.
    let value = read.value.unwrap_or(u64::MAX) as u32;
    Some((value, read.consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_and_numbers() {
        assert_eq!(table("main"), Some(254));
        assert_eq!(table("local"), Some(255));
        assert_eq!(table("default"), Some(253));
        assert_eq!(table("unspec"), Some(0));
        assert_eq!(table("0x64"), Some(100));
        assert_eq!(table("0100"), Some(64));
        assert_eq!(table("4294967295"), Some(u32::MAX));
        assert_eq!(table("4294967296"), None);
        assert_eq!(table("Main"), None);
    }

    #[test]
    fn names_file_lines() {
        let text = "# comment\n255\tlocal\n  100 vpn # office\n0x10 hexed\n-1 negative\n\nbad\n";
        assert_eq!(
            parse_names_file(text),
            vec![
                ("local".to_string(), 255),
                ("vpn".to_string(), 100),
                ("hexed".to_string(), 16)
            ]
        );
    }

    #[test]
    fn dsfield_is_hex() {
        assert_eq!(dsfield("10"), Some(0x10));
        assert_eq!(dsfield("0x10"), Some(0x10));
        assert_eq!(dsfield("ff"), Some(0xff));
        assert_eq!(dsfield("EF"), Some(0xb8));
        assert_eq!(dsfield("default"), Some(0));
        assert_eq!(dsfield("100"), None);
        assert_eq!(dsfield("eth0"), None);
    }

    #[test]
    fn realm_pairs() {
        assert_eq!(realms("5"), Some(5));
        assert_eq!(realms("1/2"), Some(0x0001_0002));
        assert_eq!(realms("1/"), Some(0x0001_0000));
        assert_eq!(realms("cosmos/7"), Some(7));
        assert_eq!(realms("1000"), Some(1000));
        assert_eq!(realms("/2"), None);
        assert_eq!(realms("x"), None);
        assert_eq!(realms_text(0x0001_0002), "1/2");
        assert_eq!(realms_text(1000), "1000");
    }

    #[test]
    fn route_type_order() {
        let cases: &[(&str, Option<u8>)] = &[
            ("u", Some(7)),
            ("un", Some(7)),
            ("uni", Some(1)),
            ("b", Some(3)),
            ("bl", Some(6)),
            ("brd", Some(3)),
            ("a", Some(4)),
            ("p", Some(8)),
            ("loc", None),
            ("local", Some(2)),
            ("thr", None),
            ("throw", Some(9)),
            ("5", Some(5)),
            ("256", None),
        ];
        for (word, expected) in cases {
            assert_eq!(route_type(word), *expected, "{word:?}");
        }
    }

    #[test]
    fn ip_protocols() {
        assert_eq!(ip_protocol("tcp"), Some(6));
        assert_eq!(ip_protocol("TCP"), Some(6));
        assert_eq!(ip_protocol("ipv6-icmp"), Some(58));
        assert_eq!(ip_protocol("17"), Some(17));
        assert_eq!(ip_protocol("0x11"), None);
        assert_eq!(ip_protocol("Tcp"), None);
        assert_eq!(ip_protocol_name(132), Some("sctp"));
    }

    #[test]
    fn scanf_reads_prefix() {
        assert_eq!(scanf_u32("1000-2000"), Some((1000, 4)));
        assert_eq!(scanf_u32("-1"), Some((u32::MAX, 2)));
        assert_eq!(scanf_u32("x"), None);
        assert_eq!(scanf_u32("0x10"), Some((0, 1)));
    }
}
