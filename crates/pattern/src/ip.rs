//! IP addresses and CIDR blocks for `cidr` matching.
//!
//! AWS only treats text as an address when it has the shape of one (four dot
//! separated digit runs, or hex digits and colons with at least one colon);
//! other text is "nonstandard". Exact string values with an address shape are
//! compared as addresses too, so `"::1"` matches `"0:0:0:0:0:0:0:1"`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An address as a number plus its family; families never match each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ip {
    v6: bool,
    bits: u128,
}

/// An inclusive address range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IpRange {
    low: Ip,
    high: Ip,
}

impl IpRange {
    pub(crate) fn contains(&self, ip: Ip) -> bool {
        self.low <= ip && ip <= self.high
    }
}

fn has_v4_shape(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn has_v6_shape(s: &str) -> bool {
    s.contains(':') && s.bytes().all(|b| b == b':' || b.is_ascii_hexdigit())
}

enum Parsed {
    Ip(Ip),
    /// Address-shaped but not an address.
    Invalid,
    /// Not address-shaped at all.
    Nonstandard,
}

fn parse(s: &str) -> Parsed {
    if has_v4_shape(s) {
        return match s.parse::<Ipv4Addr>() {
            Ok(a) => Parsed::Ip(Ip {
                v6: false,
                bits: u128::from(u32::from(a)),
            }),
            Err(_) => Parsed::Invalid,
        };
    }
    if has_v6_shape(s) {
        return match s.parse::<Ipv6Addr>() {
            // AWS folds IPv4-mapped addresses into IPv4.
            Ok(a) => match a.to_ipv4_mapped() {
                Some(v4) => Parsed::Ip(Ip {
                    v6: false,
                    bits: u128::from(u32::from(v4)),
                }),
                None => Parsed::Ip(Ip {
                    v6: true,
                    bits: u128::from(a),
                }),
            },
            Err(_) => Parsed::Invalid,
        };
    }
    Parsed::Nonstandard
}

/// The address in `s`, if it is one.
pub(crate) fn address(s: &str) -> Option<Ip> {
    match parse(s) {
        Parsed::Ip(ip) => Some(ip),
        _ => None,
    }
}

/// Parses a CIDR block; errors are AWS's reason texts.
pub(crate) fn cidr(s: &str) -> Result<IpRange, String> {
    // Splitting drops trailing empty parts, so "10.0.0.0/" has no mask.
    let mut parts: Vec<&str> = s.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() != 2 {
        return Err("Malformed CIDR, one '/' required".to_string());
    }
    let mask: i64 = parse_mask(parts[1])
        .ok_or_else(|| "Malformed CIDR, mask bits must be an integer".to_string())?;
    if mask < 0 {
        return Err("Malformed CIDR, mask bits must not be negative".to_string());
    }
    let ip = match parse(parts[0]) {
        Parsed::Ip(ip) => ip,
        Parsed::Invalid => return Err(format!("Invalid IP address: {}", parts[0])),
        Parsed::Nonstandard => return Err(format!("Nonstandard IP address: {}", parts[0])),
    };
    let width: u32 = if ip.v6 { 128 } else { 32 };
    // AWS rejects full-length masks; a single address is written without one.
    if mask >= i64::from(width) {
        return Err(if ip.v6 {
            "IPv6 mask bits must be < 128".to_string()
        } else {
            "IPv4 mask bits must be < 32".to_string()
        });
    }
    let host_bits = width - mask as u32;
    let host_mask = (1u128 << host_bits) - 1;
    Ok(IpRange {
        low: Ip {
            v6: ip.v6,
            bits: ip.bits & !host_mask,
        },
        high: Ip {
            v6: ip.v6,
            bits: ip.bits | host_mask,
        },
    })
}

/// An integer the way Java's `Integer.parseInt` reads it: optional sign, digits.
fn parse_mask(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = s.parse().ok()?;
    i32::try_from(value).ok().map(i64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(block: &str, inside: &[&str], outside: &[&str]) {
        let range = cidr(block).unwrap_or_else(|e| panic!("{block}: {e}"));
        for s in inside {
            assert!(range.contains(address(s).unwrap()), "{s} in {block}");
        }
        for s in outside {
            assert!(
                !address(s).is_some_and(|ip| range.contains(ip)),
                "{s} not in {block}"
            );
        }
    }

    #[test]
    fn blocks() {
        check(
            "10.0.0.0/24",
            &["10.0.0.0", "10.0.0.255"],
            &["10.0.1.0", "::a00:1", "x"],
        );
        check("0.0.0.0/0", &["255.255.255.255"], &["::1"]);
        check(
            "2001:db8:1234:1a00::/64",
            &[
                "2001:0db8:1234:1a00:0000:0000:0000:0000",
                "2001:db8:1234:1a00:ffff::1",
            ],
            &["2001:db8:1234:1a01::"],
        );
        // IPv4-mapped addresses count as IPv4.
        check("10.0.0.0/8", &["::ffff:0a01:0203"], &[]);
    }

    #[test]
    fn errors() {
        for (block, reason) in [
            ("10.0.0.0", "Malformed CIDR, one '/' required"),
            ("10.0.0.0/", "Malformed CIDR, one '/' required"),
            ("1/2/3", "Malformed CIDR, one '/' required"),
            ("10.0.0.0/x", "Malformed CIDR, mask bits must be an integer"),
            (
                "10.0.0.0/-1",
                "Malformed CIDR, mask bits must not be negative",
            ),
            ("xx.11.xx/24", "Nonstandard IP address: xx.11.xx"),
            ("1.2.3.999/24", "Invalid IP address: 1.2.3.999"),
            ("10.0.0.1/32", "IPv4 mask bits must be < 32"),
            ("::1/128", "IPv6 mask bits must be < 128"),
        ] {
            assert_eq!(cidr(block), Err(reason.to_string()), "{block}");
        }
    }
}
