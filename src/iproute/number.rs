//! Numbers as iproute2 reads them: C `strtoul` with base 0 (`0x` hex, a leading `0` octal),
//! whole-word checks, and the millisecond times of `rtt`, `rttvar` and `rto_min`.

use super::ParseError;

/// The result of reading digits at the start of a string, as C `strtoul` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Strtoul {
    /// The value, or `None` when the digits overflow 64 bits (C sets ERANGE).
    pub value: Option<u64>,
    /// The bytes read, or 0 when there was no digit, so that C's end pointer equals the start.
    pub consumed: usize,
}

/// Reads an optionally signed number at the start of `text` as glibc `strtoul` does on a
/// 64-bit system: base 0 picks hex for `0x`, octal for a leading `0`, else decimal, and base 16
/// allows a `0x` prefix. A minus sign negates modulo 2^64, as C does.
pub(super) fn strtoul(text: &str, base: u32) -> Strtoul {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos = 1;
            true
        }
        Some(b'+') => {
            pos = 1;
            false
        }
        _ => false,
    };

    let has_hex_prefix = |at: usize| {
        bytes.get(at) == Some(&b'0')
            && matches!(bytes.get(at + 1), Some(b'x' | b'X'))
            && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit)
    };
    let radix = match base {
        0 if has_hex_prefix(pos) => {
            pos += 2;
            16
        }
        0 if bytes.get(pos) == Some(&b'0') => 8,
        0 => 10,
        16 if has_hex_prefix(pos) => {
            pos += 2;
            16
        }
        other => other,
    };

    let digits_start = pos;
    let mut value: Option<u64> = Some(0);
    while let Some(digit) = bytes.get(pos).and_then(|b| char::from(*b).to_digit(radix)) {
        value = value
            .and_then(|v| v.checked_mul(u64::from(radix)))
            .and_then(|v| v.checked_add(u64::from(digit)));
        pos += 1;
    }
    if pos == digits_start {
        return Strtoul {
            value: Some(0),
            consumed: 0,
        };
    }

    let value = if negative {
        value.map(u64::wrapping_neg)
    } else {
        value
    };
    Strtoul {
        value,
        consumed: pos,
    }
}

/// Reads a whole word as an unsigned number no greater than `max`, like iproute2's `get_u32`,
/// `get_u16` and `get_u8`. Returns `None` for trailing characters, overflow or a value above
/// `max`.
pub(super) fn get_unsigned(text: &str, base: u32, max: u64) -> Option<u64> {
    let read = strtoul(text, base);
    if read.consumed == 0 || read.consumed != text.len() {
        return None;
    }
    read.value.filter(|v| *v <= max)
}

/// Reads a whole word as a number that fits `T`, for example `u32`, with base 0.
pub(super) fn get<T: TryFrom<u64>>(text: &str) -> Option<T> {
    let max = max_of::<T>();
    get_unsigned(text, 0, max).and_then(|v| T::try_from(v).ok())
}

/// Returns the largest u64 that converts into `T`.
fn max_of<T: TryFrom<u64>>() -> u64 {
    [
        u64::MAX,
        u64::from(u32::MAX),
        u64::from(u16::MAX),
        u64::from(u8::MAX),
    ]
    .into_iter()
    .find(|m| T::try_from(*m).is_ok())
    .unwrap_or(0)
}

/// Reads the value of `keyword` as a base-0 number that fits `T`, or reports the range.
pub(super) fn value<T: TryFrom<u64>>(word: &str, what: &str) -> Result<T, ParseError> {
    get::<T>(word).ok_or_else(|| {
        ParseError::at_word(
            word,
            format!(
                "invalid {what}: expected a number from 0 to {}",
                max_of::<T>()
            ),
        )
    })
}

/// Reads a number from 0 to `i32::MAX`, as iproute2's `get_s32` followed by a check for a
/// negative value does.
pub(super) fn non_negative_i32(word: &str, what: &str) -> Result<u32, ParseError> {
    get_unsigned(word, 0, i32::MAX as u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            ParseError::at_word(
                word,
                format!("invalid {what}: expected a number from 0 to {}", i32::MAX),
            )
        })
}

/// A time in milliseconds as iproute2's `get_time_rtt` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RttTime {
    pub millis: u32,
    /// True when the word had no unit, so the number goes to the kernel unscaled.
    pub raw: bool,
}

/// Reads `N`, `N.N` or either with a unit `s`, `sec`, `secs`, `ms`, `msec`, `msecs` (any case).
/// The value is rounded up to a whole millisecond.
pub(super) fn rtt_time(word: &str, what: &str) -> Result<RttTime, ParseError> {
    let invalid = || {
        ParseError::at_word(
            word,
            format!(
                "invalid {what}: expected milliseconds, or a time with a unit such as 100ms or 1.5s"
            ),
        )
    };

    let (number, rest) = if word.contains('.') {
        let end = float_prefix_len(word);
        let number: f64 = word
            .get(..end)
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid)?;
        if number < 0.0 {
            return Err(invalid());
        }
        (number, word.get(end..).unwrap_or(""))
    } else {
        let read = strtoul(word, 0);
        let value = read
            .value
            .filter(|_| read.consumed > 0)
            .ok_or_else(invalid)?;
        (value as f64, word.get(read.consumed..).unwrap_or(""))
    };

    let unit = rest.to_ascii_lowercase();
    let (millis, raw) = match unit.as_str() {
        "" => (number, true),
        "s" | "sec" | "secs" => (number * 1000.0, false),
        "ms" | "msec" | "msecs" => (number, false),
        _ => return Err(invalid()),
    };

    // iproute2 converts to unsigned and adds one when the conversion dropped a fraction, which
    // rounds up; the addition wraps as C unsigned arithmetic does.
    if millis.is_nan() || millis >= 4_294_967_296.0 {
        return Err(ParseError::at_word(
            word,
            format!("invalid {what}: the time is longer than 4294967295 ms"),
        ));
    }
    let whole = millis as u32;
    let millis = if f64::from(whole) < millis {
        whole.wrapping_add(1)
    } else {
        whole
    };
    Ok(RttTime { millis, raw })
}

/// Returns the length of the decimal floating-point number at the start of `text`
/// (sign, digits, point, digits, exponent), as C `strtod` reads it.
fn float_prefix_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut pos = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |from: usize| {
        bytes.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };

    let int_digits = digits(pos);
    pos += int_digits;
    let mut frac_digits = 0;
    if bytes.get(pos) == Some(&b'.') {
        frac_digits = digits(pos + 1);
        if int_digits + frac_digits > 0 {
            pos += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return 0;
    }

    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(pos + 1), Some(b'+' | b'-')));
        let exp_digits = digits(pos + 1 + sign);
        if exp_digits > 0 {
            pos += 1 + sign + exp_digits;
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_bases() {
        let cases: &[(&str, u32, Option<u64>)] = &[
            ("10", 0, Some(10)),
            ("010", 0, Some(8)),
            ("0x64", 0, Some(100)),
            ("0X64", 0, Some(100)),
            ("0", 0, Some(0)),
            ("08", 0, None),
            ("0x", 0, None),
            ("+5", 0, Some(5)),
            ("-0", 0, Some(0)),
            ("-1", 0, Some(u64::MAX)),
            ("10", 16, Some(16)),
            ("0x10", 16, Some(16)),
            ("ff", 16, Some(255)),
            ("", 0, None),
            ("12a", 0, None),
            ("18446744073709551615", 0, Some(u64::MAX)),
            ("18446744073709551616", 0, None),
        ];
        for (text, base, expected) in cases {
            assert_eq!(
                get_unsigned(text, *base, u64::MAX),
                *expected,
                "{text:?} base {base}"
            );
        }
    }

    #[test]
    fn get_checks_range() {
        assert_eq!(get::<u8>("255"), Some(255));
        assert_eq!(get::<u8>("256"), None);
        assert_eq!(get::<u16>("0xffff"), Some(65535));
        assert_eq!(get::<u32>("4294967295"), Some(u32::MAX));
        assert_eq!(get::<u32>("4294967296"), None);
        assert_eq!(get::<u32>("-1"), None);
        assert_eq!(get::<u64>("-1"), Some(u64::MAX));
    }

    #[test]
    fn non_negative_i32_range() {
        assert_eq!(non_negative_i32("0", "x"), Ok(0));
        assert_eq!(non_negative_i32("-0", "x"), Ok(0));
        assert_eq!(non_negative_i32("2147483647", "x"), Ok(2147483647));
        assert!(non_negative_i32("2147483648", "x").is_err());
        assert!(non_negative_i32("-1", "x").is_err());
    }

    #[test]
    fn rtt_times() {
        let cases: &[(&str, Option<(u32, bool)>)] = &[
            ("100", Some((100, true))),
            ("100ms", Some((100, false))),
            ("100MS", Some((100, false))),
            ("1s", Some((1000, false))),
            ("1.5s", Some((1500, false))),
            ("1.5", Some((2, true))),
            ("0.0001ms", Some((1, false))),
            ("2secs", Some((2000, false))),
            ("0x10ms", Some((16, false))),
            ("1e3", None),
            ("1.5e3ms", Some((1500, false))),
            ("-1.5", None),
            ("5000000s", None),
            ("ms", None),
            ("10min", None),
            (".5s", Some((500, false))),
            ("4294967295.5", Some((0, true))),
        ];
        for (text, expected) in cases {
            let got = rtt_time(text, "rtt").ok().map(|t| (t.millis, t.raw));
            assert_eq!(got, *expected, "{text:?}");
        }
    }
}
