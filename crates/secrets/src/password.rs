//! GetRandomPassword: which characters a password may use, and drawing it without bias
//! from a random source the caller gives (the operating system's CSPRNG when serving).

use crate::error::{Result, SecretsError};

pub const LENGTH_DEFAULT: u64 = 32;
pub const LENGTH_MAX: u64 = 4096;

/// The punctuation AWS uses: ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";

/// GetRandomPassword's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub length: u64,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub include_space: bool,
    pub require_each_included_type: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            length: LENGTH_DEFAULT,
            exclude_characters: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each_included_type: true,
        }
    }
}

/// The character classes a password draws from, each without the excluded characters;
/// classes left empty are dropped.
fn classes(o: &Options) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    for (set, excluded) in [
        (UPPER, o.exclude_uppercase),
        (LOWER, o.exclude_lowercase),
        (DIGITS, o.exclude_numbers),
        (PUNCTUATION, o.exclude_punctuation),
        (" ", !o.include_space),
    ] {
        if excluded {
            continue;
        }
        let chars: Vec<char> = set
            .chars()
            .filter(|c| !o.exclude_characters.contains(*c))
            .collect();
        if !chars.is_empty() {
            out.push(chars);
        }
    }
    out
}

/// A uniform index below `n` (rejection sampling, so no value is favoured).
fn below(n: usize, random: &mut dyn FnMut() -> u64) -> usize {
    debug_assert!(n > 0);
    let n = n as u64;
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let r = random();
        if r < zone {
            return (r % n) as usize;
        }
    }
}

/// Draws a password. With RequireEachIncludedType, one character of every class that is
/// left comes first, then the rest from all of them, and the whole is shuffled.
pub fn generate(o: &Options, random: &mut dyn FnMut() -> u64) -> Result<String> {
    if o.length == 0 || o.length > LENGTH_MAX {
        return Err(SecretsError::Validation(format!(
            "1 validation error detected: Value '{}' at 'passwordLength' failed to satisfy constraint: Member must have value between 1 and {LENGTH_MAX}",
            o.length
        )));
    }
    let classes = classes(o);
    if classes.is_empty() {
        return Err(SecretsError::InvalidParameter(
            "The password can't be generated because every character is excluded.".into(),
        ));
    }
    let length = o.length as usize;
    if o.require_each_included_type && length < classes.len() {
        return Err(SecretsError::InvalidParameter(
            "Password length is too short based on the required types.".into(),
        ));
    }
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    let mut out: Vec<char> = Vec::with_capacity(length);
    if o.require_each_included_type {
        for class in &classes {
            out.push(class[below(class.len(), random)]);
        }
    }
    while out.len() < length {
        out.push(all[below(all.len(), random)]);
    }
    // Fisher-Yates, so the required characters are not always in front.
    for i in (1..out.len()).rev() {
        let j = below(i + 1, random);
        out.swap(i, j);
    }
    Ok(out.into_iter().collect())
}

/// Random numbers from the operating system's CSPRNG, read in blocks.
pub struct OsRandom {
    buf: [u8; 512],
    at: usize,
}

impl OsRandom {
    pub fn new() -> Self {
        Self {
            buf: [0; 512],
            at: 512,
        }
    }

    pub fn next_u64(&mut self) -> Result<u64> {
        if self.at + 8 > self.buf.len() {
            getrandom::fill(&mut self.buf).map_err(|e| {
                SecretsError::Internal(format!("the operating system's random source failed: {e}"))
            })?;
            self.at = 0;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[self.at..self.at + 8]);
        self.at += 8;
        Ok(u64::from_le_bytes(b))
    }
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

/// [`generate`] from the operating system's CSPRNG.
pub fn generate_os(o: &Options) -> Result<String> {
    let mut rng = OsRandom::new();
    let mut failed = None;
    let out = generate(o, &mut || match rng.next_u64() {
        Ok(v) => v,
        Err(e) => {
            failed.get_or_insert(e);
            0
        }
    });
    // A random source that failed once is not trusted for any character.
    match failed {
        Some(e) => Err(e),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic source (splitmix64) so tests see the same passwords every run.
    fn seeded(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    fn check(o: Options, ok: impl Fn(&str) -> bool) {
        for seed in 0..200 {
            let p = generate(&o, &mut seeded(seed)).unwrap();
            assert_eq!(p.chars().count() as u64, o.length, "{o:?}");
            assert!(ok(&p), "{o:?}: {p:?}");
        }
    }

    fn has(p: &str, set: &str) -> bool {
        p.chars().any(|c| set.contains(c))
    }

    #[test]
    fn character_choices() {
        check(Options::default(), |p| {
            has(p, UPPER)
                && has(p, LOWER)
                && has(p, DIGITS)
                && has(p, PUNCTUATION)
                && !p.contains(' ')
        });
        check(
            Options {
                exclude_punctuation: true,
                length: 12,
                ..Default::default()
            },
            |p| p.chars().all(|c| c.is_ascii_alphanumeric()),
        );
        check(
            Options {
                exclude_numbers: true,
                exclude_uppercase: true,
                exclude_punctuation: true,
                length: 40,
                ..Default::default()
            },
            |p| p.chars().all(|c| c.is_ascii_lowercase()),
        );
        check(
            Options {
                exclude_lowercase: true,
                exclude_uppercase: true,
                exclude_punctuation: true,
                length: 6,
                ..Default::default()
            },
            |p| p.chars().all(|c| c.is_ascii_digit()),
        );
        check(
            Options {
                include_space: true,
                exclude_uppercase: true,
                exclude_lowercase: true,
                exclude_numbers: true,
                exclude_punctuation: true,
                length: 3,
                ..Default::default()
            },
            |p| p == "   ",
        );
        check(
            Options {
                include_space: true,
                length: 5,
                ..Default::default()
            },
            |p| p.contains(' '),
        );
        check(
            Options {
                exclude_characters: "abcdefghijklmnopqrstuvwxyz0123456789\"'\\/@".into(),
                length: 64,
                ..Default::default()
            },
            |p| {
                !p.chars()
                    .any(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && !p.contains(['"', '\'', '\\', '/', '@'])
            },
        );
        // Without RequireEachIncludedType a short password may miss classes, but never
        // leaves the allowed set.
        check(
            Options {
                require_each_included_type: false,
                length: 1,
                ..Default::default()
            },
            |p| !p.contains(' '),
        );
    }

    #[test]
    fn lengths_and_impossible_requests() {
        let cases: &[(Options, Option<&str>)] = &[
            (
                Options {
                    length: 1,
                    require_each_included_type: false,
                    ..Default::default()
                },
                None,
            ),
            (
                Options {
                    length: 4,
                    ..Default::default()
                },
                None,
            ),
            (
                Options {
                    length: 3,
                    ..Default::default()
                },
                Some("InvalidParameterException"),
            ),
            (
                Options {
                    length: 4096,
                    ..Default::default()
                },
                None,
            ),
            (
                Options {
                    length: 4097,
                    ..Default::default()
                },
                Some("ValidationException"),
            ),
            (
                Options {
                    length: 0,
                    ..Default::default()
                },
                Some("ValidationException"),
            ),
            (
                Options {
                    exclude_numbers: true,
                    exclude_punctuation: true,
                    exclude_uppercase: true,
                    exclude_lowercase: true,
                    ..Default::default()
                },
                Some("InvalidParameterException"),
            ),
            (
                Options {
                    exclude_characters: format!("{UPPER}{LOWER}{DIGITS}{PUNCTUATION}"),
                    ..Default::default()
                },
                Some("InvalidParameterException"),
            ),
        ];
        for (o, want) in cases {
            let got = generate(o, &mut seeded(1))
                .err()
                .map(|e| e.status_and_code().1);
            assert_eq!(got, *want, "{o:?}");
        }
    }

    #[test]
    fn draws_are_spread_evenly() {
        // 26 lower-case letters, 26,000 draws: every letter should come up near 1,000 times.
        let o = Options {
            exclude_numbers: true,
            exclude_uppercase: true,
            exclude_punctuation: true,
            require_each_included_type: false,
            length: 4096,
            ..Default::default()
        };
        let mut counts = [0usize; 26];
        let mut rng = seeded(42);
        let mut total = 0;
        while total < 26_000 {
            for c in generate(&o, &mut rng).unwrap().bytes() {
                counts[(c - b'a') as usize] += 1;
                total += 1;
            }
        }
        let expected = total as f64 / 26.0;
        for (i, n) in counts.iter().enumerate() {
            let off = (*n as f64 - expected).abs() / expected;
            assert!(
                off < 0.15,
                "letter {} drawn {n} times of {total}",
                (b'a' + i as u8) as char
            );
        }
    }

    #[test]
    fn the_os_source_differs_every_call() {
        let a = generate_os(&Options::default()).unwrap();
        let b = generate_os(&Options::default()).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
