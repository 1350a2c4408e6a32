//! Identifiers: request ids and other UUID-shaped names. Not for secrets: the generator is
//! fast, not cryptographic.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut buf = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut buf);
    }
    let t = crate::time::now_ms() as u64;
    let s = u64::from_le_bytes(buf) ^ t.rotate_left(17) ^ u64::from(std::process::id());
    s | 1
}

/// A pseudo-random 64-bit number (xorshift64*).
pub fn next_u64() -> u64 {
    STATE.with(|c| {
        let mut x = c.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        c.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A version-4 UUID in its usual text form.
pub fn uuid4() -> String {
    let a = next_u64();
    let b = next_u64();
    let hi = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// `n` lower-case hex digits.
pub fn hex_id(n: usize) -> String {
    let mut s = String::with_capacity(n + 16);
    while s.len() < n {
        s.push_str(&format!("{:016x}", next_u64()));
    }
    s.truncate(n);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_shape() {
        let u = super::uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, super::uuid4());
        assert_eq!(super::hex_id(24).len(), 24);
    }
}
