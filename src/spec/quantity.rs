//! Kubernetes resource quantities (`250m`, `0.5`, `64Mi`, `1G`, `1e3`).
//!
//! Follows `k8s.io/apimachinery/pkg/api/resource.Quantity`:
//!
//! ```text
//! quantity        ::= [sign] number [suffix]
//! number          ::= digits | digits "." [digits] | "." digits
//! suffix          ::= binarySI | decimalSI | ("e" | "E") [sign] digits
//! binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! decimalSI       ::= n | u | m | k | M | G | T | P | E
//! ```
//!
//! Like the API server, a parsed value is rounded up (away from zero) to a whole number of
//! nano-units and capped at 2^63-1 units, so nothing here can overflow or panic.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// Nano-units per unit.
const NANO: u128 = 1_000_000_000;
/// The largest magnitude Kubernetes keeps (2^63-1 units), in nano-units.
const MAX_NANO: u128 = i64::MAX as u128 * NANO;

/// A quantity as written in the manifest, with its value in nano-units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    text: String,
    negative: bool,
    /// Magnitude in nano-units, already rounded up and capped at [`MAX_NANO`].
    nano: u128,
}

/// Why a text is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid quantity: {reason}")]
pub struct QuantityError {
    pub input: String,
    pub reason: String,
}

impl QuantityError {
    /// What a valid quantity looks like, for "expected …" messages.
    pub const EXPECTED: &'static str =
        "a quantity such as 250m, 0.5, 2, 64Mi, 1Gi, 1G or 1e3 (no spaces, suffix right after the number)";

    fn new(input: &str, reason: impl Into<String>) -> QuantityError {
        QuantityError {
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

/// How the suffix scales the number: by a power of ten, times a power of two.
struct Scale {
    decimal_exponent: i64,
    binary_exponent: u32,
}

impl Quantity {
    /// Parses a quantity in the Kubernetes canonical grammar.
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::new(text, "it is empty"));
        }
        let bytes = text.as_bytes();
        let mut pos = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                pos += 1;
                true
            }
            Some(b'+') => {
                pos += 1;
                false
            }
            _ => false,
        };
        let int_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        let int_digits = &text[int_start..pos];
        let mut frac_digits = "";
        if pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
            let frac_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            frac_digits = &text[frac_start..pos];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(QuantityError::new(text, "it does not start with a number"));
        }
        let scale = parse_suffix(text, &text[pos..])?;
        let nano = nano_units(int_digits, frac_digits, &scale);
        Ok(Quantity {
            text: text.to_string(),
            negative: negative && nano != 0,
            nano,
        })
    }

    /// The text as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value in thousandths, rounded up (away from zero) like Kubernetes' `MilliValue`;
    /// saturates at `i64::MAX` / `-i64::MAX`.
    pub fn milli_value(&self) -> i64 {
        self.scaled(1_000_000)
    }

    /// The value in whole units, rounded up (away from zero) like Kubernetes' `Value`.
    pub fn value(&self) -> i64 {
        self.scaled(NANO)
    }

    pub fn is_zero(&self) -> bool {
        self.nano == 0
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Compares the values (not the texts): `1Gi` > `1G`, `500m` == `0.5`.
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.nano.cmp(&other.nano),
            (true, true) => other.nano.cmp(&self.nano),
        }
    }

    fn scaled(&self, nano_per_unit: u128) -> i64 {
        let magnitude = self.nano.div_ceil(nano_per_unit);
        let magnitude = i64::try_from(magnitude).unwrap_or(i64::MAX);
        if self.negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

fn parse_suffix(input: &str, suffix: &str) -> Result<Scale, QuantityError> {
    let decimal = |decimal_exponent| {
        Ok(Scale {
            decimal_exponent,
            binary_exponent: 0,
        })
    };
    let binary = |binary_exponent| {
        Ok(Scale {
            decimal_exponent: 0,
            binary_exponent,
        })
    };
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            if let Some(exponent) = suffix.strip_prefix(['e', 'E']) {
                return parse_exponent(input, exponent).map(decimal_scale);
            }
            Err(QuantityError::new(input, unknown_suffix_reason(suffix)))
        }
    }
}

fn decimal_scale(decimal_exponent: i64) -> Scale {
    Scale {
        decimal_exponent,
        binary_exponent: 0,
    }
}

fn unknown_suffix_reason(suffix: &str) -> String {
    let first = suffix.chars().next().unwrap_or(' ');
    if first.is_whitespace() {
        return "it has a space; write the suffix right after the number, e.g. 1Gi".into();
    }
    if ".,-+".contains(first) || first.is_ascii_digit() {
        return format!("unexpected {suffix:?} after the number");
    }
    let lower = suffix.to_ascii_lowercase();
    if lower.ends_with('b') || lower == "ki" || lower == "mi" || lower == "gi" {
        return format!(
            "unknown suffix {suffix:?}; Kubernetes writes bytes without B: Ki Mi Gi Ti Pi Ei \
             (powers of 1024) or k M G T P E (powers of 1000)"
        );
    }
    format!(
        "unknown suffix {suffix:?}; the suffixes are n u m k M G T P E, Ki Mi Gi Ti Pi Ei, \
         or an exponent such as e3"
    )
}

/// The digits after `e`/`E`: an optional sign and at least one digit. Saturates: a huge
/// exponent just means "too big" or "too small" later.
fn parse_exponent(input: &str, exponent: &str) -> Result<i64, QuantityError> {
    let (negative, digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QuantityError::new(
            input,
            format!("the exponent {exponent:?} is not a whole number"),
        ));
    }
    let value = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Ok(if negative { -value } else { value })
}

/// `int.frac × 10^decimal_exponent × 2^binary_exponent` in nano-units, rounded up and capped.
fn nano_units(int_digits: &str, frac_digits: &str, scale: &Scale) -> u128 {
    let mut digits: Vec<u8> = int_digits
        .bytes()
        .chain(frac_digits.bytes())
        .map(|b| b - b'0')
        .collect();
    // The value is 0.d1d2d3… × 10^point.
    let mut point = i64::try_from(int_digits.len()).unwrap_or(i64::MAX);
    point = point
        .saturating_add(scale.decimal_exponent)
        .saturating_add(9);

    let leading_zeros = digits.iter().take_while(|&&d| d == 0).count();
    digits.drain(..leading_zeros);
    point = point.saturating_sub(i64::try_from(leading_zeros).unwrap_or(i64::MAX));
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        return 0;
    }
    // Now value ∈ [10^(point-1), 10^point) × 2^binary (2^60 < 10^19).
    if point > 29 {
        return MAX_NANO;
    }
    if point < -19 {
        return 1; // non-zero but below one nano-unit: rounded up, like Kubernetes
    }
    if point < 0 {
        let pad = usize::try_from(-point).unwrap_or(0);
        digits.splice(0..0, std::iter::repeat_n(0, pad));
        point = 0;
    }
    for _ in 0..scale.binary_exponent / 10 {
        let carry_digits = multiply_digits(&mut digits, 1024);
        point += i64::try_from(carry_digits).unwrap_or(0);
    }
    let point = usize::try_from(point).unwrap_or(0);
    let (int_part, frac_part) = digits.split_at(point.min(digits.len()));
    let int_len = point;
    let significant = int_part.iter().skip_while(|&&d| d == 0).count() + (int_len - int_part.len());
    if significant > 28 {
        return MAX_NANO;
    }
    let mut value = int_part
        .iter()
        .fold(0u128, |acc, &d| acc * 10 + u128::from(d));
    for _ in int_part.len()..int_len {
        value *= 10;
    }
    if frac_part.iter().any(|&d| d != 0) {
        value += 1;
    }
    value.min(MAX_NANO)
}

/// Multiplies a big-endian decimal digit vector in place; returns how many digits were added
/// at the front.
fn multiply_digits(digits: &mut Vec<u8>, factor: u32) -> usize {
    let mut carry: u32 = 0;
    for digit in digits.iter_mut().rev() {
        let product = u32::from(*digit) * factor + carry;
        *digit = (product % 10) as u8;
        carry = product / 10;
    }
    let mut front = Vec::new();
    while carry > 0 {
        front.push((carry % 10) as u8);
        carry /= 10;
    }
    front.reverse();
    let added = front.len();
    digits.splice(0..0, front);
    added
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

struct QuantityVisitor;

impl QuantityVisitor {
    fn parse<E: de::Error>(text: &str) -> Result<Quantity, E> {
        Quantity::parse(text)
            .map_err(|e| E::custom(format_args!("{e}, expected {}", QuantityError::EXPECTED)))
    }
}

impl Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(QuantityError::EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        Self::parse(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        if !v.is_finite() {
            return Err(E::custom(format_args!(
                "{v} is not a valid quantity, expected {}",
                QuantityError::EXPECTED
            )));
        }
        // Rust prints the shortest text that reads back as the same float: 0.1 → "0.1".
        Self::parse(&v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_relevant_values() {
        let cases: &[(&str, i64, i64)] = &[
            // text, milli_value, value
            ("250m", 250, 1),
            ("0.5", 500, 1),
            ("1", 1000, 1),
            ("2000m", 2000, 2),
            ("0.1", 100, 1),
            (".5", 500, 1),
            ("1.", 1000, 1),
            ("+1", 1000, 1),
            ("0", 0, 0),
            ("-0", 0, 0),
            ("000", 0, 0),
            ("64Mi", 67_108_864_000, 67_108_864),
            ("128974848", 128_974_848_000, 128_974_848),
            ("129e6", 129_000_000_000, 129_000_000),
            ("123Mi", 128_974_848_000, 128_974_848),
            ("1G", 1_000_000_000_000, 1_000_000_000),
            ("1Gi", 1_073_741_824_000, 1_073_741_824),
            ("1.5Gi", 1_610_612_736_000, 1_610_612_736),
            ("1e3", 1_000_000, 1000),
            ("1E3", 1_000_000, 1000),
            ("1e-3", 1, 1),
            ("1E", i64::MAX, 1_000_000_000_000_000_000),
            ("100n", 1, 1),
            ("1u", 1, 1),
            ("1k", 1_000_000, 1000),
            ("0.5Ki", 512_000, 512),
            ("1Ki", 1_024_000, 1024),
            ("1.000001m", 2, 1),
            ("-250m", -250, -1),
            ("-100n", -1, -1),
            ("0.0000000001", 1, 1),
            ("1Ei", i64::MAX, 1_152_921_504_606_846_976),
            ("8Ei", i64::MAX, i64::MAX),
            ("99999999999999999999999", i64::MAX, i64::MAX),
            ("1e400", i64::MAX, i64::MAX),
            ("1e-400", 1, 1),
            ("-1e400", -i64::MAX, -i64::MAX),
            ("1e99999999999999999999999", i64::MAX, i64::MAX),
            ("0e99999999999999999999999", 0, 0),
        ];
        for &(text, milli, value) in cases {
            let q = Quantity::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(q.milli_value(), milli, "milli_value of {text}");
            assert_eq!(q.value(), value, "value of {text}");
            assert_eq!(q.to_string(), text);
            assert_eq!(q.as_str(), text);
        }
    }

    #[test]
    fn rejects_non_canonical_text() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("1.5.5", "unexpected \".5\""),
            ("Mi", "does not start with a number"),
            ("64MB", "without B"),
            ("64mb", "without B"),
            ("1 Gi", "space"),
            ("--1", "does not start with a number"),
            ("+-1", "does not start with a number"),
            ("-", "does not start with a number"),
            (".", "does not start with a number"),
            ("1e", "exponent"),
            ("1e1.5", "not a whole number"),
            ("1e+", "not a whole number"),
            ("1x", "unknown suffix"),
            ("1K", "unknown suffix"),
            ("1mi", "without B"),
            ("1Gi ", "unknown suffix"),
            (" 1", "does not start"),
            ("0x10", "unknown suffix"),
            ("1,5", "unexpected"),
            ("½", "does not start"),
        ];
        for &(text, fragment) in cases {
            match Quantity::parse(text) {
                Ok(q) => panic!("{text:?} parsed as {q:?}"),
                Err(e) => assert!(e.to_string().contains(fragment), "{text:?}: {e}"),
            }
        }
    }

    #[test]
    fn compares_values_not_texts() {
        let q = |s| Quantity::parse(s).expect("valid quantity");
        assert_eq!(q("500m").cmp_value(&q("0.5")), Ordering::Equal);
        assert_eq!(q("1Gi").cmp_value(&q("1G")), Ordering::Greater);
        assert_eq!(q("-1").cmp_value(&q("0")), Ordering::Less);
        assert_eq!(q("-2").cmp_value(&q("-1")), Ordering::Less);
        assert!(q("-1m").is_negative());
        assert!(!q("-0").is_negative());
        assert!(q("0Gi").is_zero());
    }

    #[test]
    fn long_inputs_do_not_hang() {
        let long_fraction = format!("0.{}1Ei", "0".repeat(200_000));
        assert_eq!(
            Quantity::parse(&long_fraction).map(|q| q.milli_value()),
            Ok(1)
        );
        let long_integer = "9".repeat(200_000);
        assert_eq!(
            Quantity::parse(&long_integer).map(|q| q.value()),
            Ok(i64::MAX)
        );
    }

    #[test]
    fn serde_reads_strings_and_numbers_and_writes_text() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct Holder {
            q: Quantity,
        }
        let from = |json: &str| serde_json::from_str::<Holder>(json).map(|h| h.q.milli_value());
        assert_eq!(from(r#"{"q": "250m"}"#).ok(), Some(250));
        assert_eq!(from(r#"{"q": 2}"#).ok(), Some(2000));
        assert_eq!(from(r#"{"q": -2}"#).ok(), Some(-2000));
        assert_eq!(from(r#"{"q": 0.1}"#).ok(), Some(100));
        let err = from(r#"{"q": "64MB"}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("without B"), "{err}");
        assert!(from(r#"{"q": true}"#).is_err());
        let holder = Holder {
            q: Quantity::parse("64Mi").expect("valid"),
        };
        assert_eq!(
            serde_json::to_string(&holder).ok().as_deref(),
            Some(r#"{"q":"64Mi"}"#)
        );
    }
}
