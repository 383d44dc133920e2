//! Human units in plans: durations ("30s"), percentages ("5%"), rates ("50/s") and sizes
//! ("10MiB"). Each is written as a string, checked by a schema pattern (so editors flag a
//! typo) and parsed once here; the rest of the tool only sees the parsed value.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines a unit newtype: kept as written (so overrides and reports show the author's
/// text) alongside its parsed value; serialized back as written.
macro_rules! unit_type {
    ($(#[$meta:meta])* $name:ident($inner:ty), $schema_name:literal, $title:literal, $pattern:expr,
     $description:literal, $examples:expr, $parse:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct $name {
            text: String,
            value: $inner,
        }

        impl $name {
            /// The parsed value.
            pub(crate) fn get(&self) -> $inner {
                self.value
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                let value = $parse(text.trim())?;
                Ok(Self { text: text.trim().to_owned(), value })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $schema_name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "title": $title,
                    "type": "string",
                    "pattern": $pattern,
                    "description": $description,
                    "examples": $examples,
                })
            }
        }
    };
}

/// A duration as a plan writes it (`30s`, `2m30s`) for a slip that is plainly one: a
/// word or a capital for its unit (`30 sec`, `5 min`, `2 Minutes`, `250 millis`, `10S`),
/// or a last number without one (`2m30` for `2m30s`, `1h30` for `1h30m`). `None` when
/// `text` is not such a slip, or already a duration (`500 ms` is one: spaces between a
/// number and its unit are allowed, by the schema's pattern as by the parser).
pub(crate) fn duration_for_words(text: &str) -> Option<String> {
    let mut written = String::new();
    let mut last_unit = None;
    let mut rest = text.trim();
    // Longer text than any duration a plan writes is not a slip of one.
    if rest.len() > 40 {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let (number, after) = rest.split_at(digits);
        let after = after.trim_start();
        let word_len = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let unit = match (after[..word_len].to_lowercase().as_str(), last_unit) {
            ("", Some("h")) if after.is_empty() => "m",
            ("", Some("m")) if after.is_empty() => "s",
            ("", _) => return None,
            (word, _) => unit_for_word(word)?,
        };
        written.push_str(number);
        written.push_str(unit);
        last_unit = Some(unit);
        rest = after[word_len..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    (parse_parts(text.trim()).is_err() && parse_parts(&written).is_ok()).then_some(written)
}

/// The unit a word for one stands for: `sec` and `seconds` for `s`.
fn unit_for_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "ms" | "msec" | "msecs" | "milli" | "millis" | "millisecond" | "milliseconds" => "ms",
        "us" | "µs" | "usec" | "usecs" | "micros" | "microsecond" | "microseconds" => "us",
        _ => return None,
    })
}

/// A rate as a plan writes it (`50/s`) for a slip that is plainly one: a word or a capital
/// for its unit (`50/sec`, `50 per second`, `300/min`, `2/H`), or a count's own unit
/// (`50 rps`, `600 rpm`). `None` when `text` is not such a slip, or already a rate.
pub(crate) fn rate_for_words(text: &str) -> Option<String> {
    let (number, unit) = number_and_word(text)?;
    let per = match unit.as_str() {
        "rps" | "qps" | "req/s" | "reqs/s" | "requests/s" => "s",
        "rpm" | "req/m" | "req/min" | "requests/m" => "m",
        _ => {
            let word = unit
                .strip_prefix('/')
                .or_else(|| unit.strip_prefix("per "))?
                .trim();
            match unit_for_word(word)? {
                per @ ("s" | "m" | "h") => per,
                _ => return None,
            }
        }
    };
    let written = format!("{number}/{per}");
    (exact_rate(text.trim()).is_err() && exact_rate(&written).is_ok()).then_some(written)
}

/// A percentage as a plan writes it (`5%`) for one written with a word (`5 percent`,
/// `0.5 pct`); `None` when `text` is not such a slip.
pub(crate) fn percent_for_words(text: &str) -> Option<String> {
    let (number, word) = number_and_word(text)?;
    if !matches!(word.as_str(), "percent" | "per cent" | "pct" | "percentage") {
        return None;
    }
    let written = format!("{number}%");
    exact_percent(&written).is_ok().then_some(written)
}

/// The number that starts `text` and the lowercase word after it (`50`, `/sec`), when a
/// slip is short enough to be one.
fn number_and_word(text: &str) -> Option<(&str, String)> {
    let text = text.trim();
    let digits = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, word) = text.split_at(digits);
    (!number.is_empty() && text.len() <= 40).then(|| (number, word.trim().to_lowercase()))
}

/// Schema pattern of a duration: one or more number+unit parts, as in `1m30s`.
pub(crate) const DURATION_PATTERN: &str = r"^\s*([0-9]+(\.[0-9]+)?\s*(us|ms|s|m|h)\s*)+$";

unit_type!(
    /// A length of time such as `30s`, `500ms`, `2m` or `1m30s`.
    HumanDuration(Duration),
    "Duration",
    "duration",
    DURATION_PATTERN,
    "A length of time: a number with a unit (`us`, `ms`, `s`, `m`, `h`), parts may be \
     combined; at most `8760h` (a year). Examples: `500ms`, `30s`, `2m`, `1m30s`.",
    ["500ms", "30s", "2m", "1m30s"],
    parse_duration
);

unit_type!(
    /// A share of a whole such as `5%` or `0.5%`; stored as a fraction (0.05).
    Percent(f64),
    "Percent",
    "percentage",
    r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$",
    "A percentage between 0% and 100%, written with a `%` sign. Examples: `5%`, `0.5%`, `99.9%`.",
    ["5%", "0.5%", "99.9%"],
    parse_percent
);

unit_type!(
    /// A rate such as `50/s`, `300/m` or `2/h`; stored per second.
    Rate(f64),
    "Rate",
    "rate",
    r"^\s*[0-9]+(\.[0-9]+)?\s*/\s*(s|m|h)\s*$",
    "A rate: a number per second (`/s`), minute (`/m`) or hour (`/h`). \
     Examples: `50/s`, `300/m`, `0.5/s`.",
    ["50/s", "300/m", "0.5/s"],
    parse_rate
);

unit_type!(
    /// An amount of bytes such as `10MiB`, `512KiB` or `1MB`.
    ByteSize(u64),
    "ByteSize",
    "size",
    r"^\s*[0-9]+\s*(B|KB|KiB|MB|MiB|GB|GiB)\s*$",
    "An amount of data: a whole number with a unit (`B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, \
     `GiB`). Examples: `10MiB`, `512KiB`.",
    ["10MiB", "512KiB", "1MB"],
    parse_size
);

/// Formats a duration for people: `850ms`, `1.5s`, `2m30s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{}us", d.as_micros())
    } else if ms < 1000.0 {
        format!("{}ms", trim_float(ms))
    } else if d.as_secs() < 60 {
        format!("{}s", trim_float(ms / 1000.0))
    } else {
        let s = d.as_secs();
        match (s / 60, s % 60) {
            (m, 0) => format!("{m}m"),
            (m, r) => format!("{m}m{r}s"),
        }
    }
}

fn trim_float(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

/// Parses a duration, suggesting what a slip meant (`30 sec`: did you mean `30s`?), so the
/// hint is the same wherever a duration is refused: the schema, a threshold, an override.
fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_parts(text).map_err(|e| match duration_for_words(text) {
        Some(meant) => format!("`{text}` is not a duration: did you mean `{meant}`?"),
        None => e,
    })
}

fn parse_parts(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: write a number and a unit, like `500ms`, `30s` or `2m`"
        )
    };
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "us" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = rest[unit_len..].trim_start();
    }
    let d = Duration::try_from_secs_f64(total).map_err(|_| bad())?;
    if d > MAX_DURATION {
        return Err(format!(
            "`{text}` is longer than 8760h (a year), the longest duration a plan may give"
        ));
    }
    Ok(d)
}

/// The longest duration a plan may give: a year. Longer means "never" in a load test, and
/// with every duration below it the engine adds durations to clock readings, sums stages and
/// multiplies think times without overflow.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

fn number_before(text: &str, suffix_start: usize, what: &str) -> Result<f64, String> {
    text[..suffix_start]
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("`{text}` is not {what}"))
}

/// Parses a percentage, suggesting what a slip meant (`5 percent`: did you mean `5%`?).
fn parse_percent(text: &str) -> Result<f64, String> {
    exact_percent(text).map_err(|e| match percent_for_words(text) {
        Some(meant) => format!("`{text}` is not a percentage: did you mean `{meant}`?"),
        None => e,
    })
}

fn exact_percent(text: &str) -> Result<f64, String> {
    let what = "a percentage: write it like `5%`";
    let end = text
        .find('%')
        .ok_or_else(|| format!("`{text}` is not {what}"))?;
    let value = number_before(text, end, what)?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("`{text}` is outside 0%..100%"));
    }
    Ok(value / 100.0)
}

/// Parses a rate, suggesting what a slip meant (`50/sec`: did you mean `50/s`?).
fn parse_rate(text: &str) -> Result<f64, String> {
    exact_rate(text).map_err(|e| match rate_for_words(text) {
        Some(meant) => format!("`{text}` is not a rate: did you mean `{meant}`?"),
        None => e,
    })
}

fn exact_rate(text: &str) -> Result<f64, String> {
    let what = "a rate: write it like `50/s`, `300/m` or `2/h`";
    let slash = text
        .find('/')
        .ok_or_else(|| format!("`{text}` is not {what}"))?;
    let value = number_before(text, slash, what)?;
    let per = match text[slash + 1..].trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("`{text}` is not {what}")),
    };
    Ok(value / per)
}

fn parse_size(text: &str) -> Result<u64, String> {
    let what = "a size: write it like `10MiB` or `512KiB`";
    let unit_at = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("`{text}` is not {what}"))?;
    let value: u64 = text[..unit_at]
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not {what}"))?;
    let unit = match &text[unit_at..] {
        "B" => 1,
        "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(format!("`{text}` is not {what}")),
    };
    value
        .checked_mul(unit)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_written_as_a_word_is_suggested_as_the_plan_writes_it() {
        for (written, meant) in [
            ("30 sec", "30s"),
            ("30 secs", "30s"),
            ("30 seconds", "30s"),
            ("30sec", "30s"),
            ("5 min", "5m"),
            ("2 minutes", "2m"),
            ("1.5 hours", "1.5h"),
            (" 250 milliseconds ", "250ms"),
            ("250 msec", "250ms"),
            ("250 millis", "250ms"),
            ("10 Secs", "10s"),
            ("10S", "10s"),
            ("2m30", "2m30s"),
            ("1h30", "1h30m"),
            ("1 min 30 sec", "1m30s"),
            ("1 minute, 30 seconds", "1m30s"),
        ] {
            assert_eq!(
                duration_for_words(written).as_deref(),
                Some(meant),
                "{written}"
            );
        }
        // `500 ms` and `1.5 s` are durations already; `30` alone has no unit to infer.
        for nothing in [
            "sec",
            "30 fortnights",
            "thirty sec",
            "99999999 hours",
            "",
            "500 ms",
            "1.5 s",
            "30",
            "2s30",
        ] {
            assert_eq!(duration_for_words(nothing), None, "{nothing}");
        }
    }

    #[test]
    fn a_rate_or_percentage_written_with_a_word_is_suggested_as_the_plan_writes_it() {
        for (written, meant) in [
            ("50/sec", "50/s"),
            ("50 / second", "50/s"),
            ("50 per second", "50/s"),
            ("300/min", "300/m"),
            ("2/H", "2/h"),
            ("0.5 per hour", "0.5/h"),
            ("50 rps", "50/s"),
            ("600 RPM", "600/m"),
        ] {
            assert_eq!(rate_for_words(written).as_deref(), Some(meant), "{written}");
        }
        for nothing in ["50/s", "50 / s", "50", "/s", "50/ms", "50/day", "fast rps"] {
            assert_eq!(rate_for_words(nothing), None, "{nothing}");
        }
        assert_eq!(percent_for_words("5 percent").as_deref(), Some("5%"));
        assert_eq!(percent_for_words("0.5 pct").as_deref(), Some("0.5%"));
        for nothing in ["5%", "5", "150 percent", "percent"] {
            assert_eq!(percent_for_words(nothing), None, "{nothing}");
        }
        let e = "50/sec".parse::<Rate>().unwrap_err();
        assert_eq!(e, "`50/sec` is not a rate: did you mean `50/s`?");
        let e = "1 percent".parse::<Percent>().unwrap_err();
        assert_eq!(e, "`1 percent` is not a percentage: did you mean `1%`?");
    }

    #[test]
    fn durations_parse_combined_parts() {
        let d: HumanDuration = "1m30s".parse().unwrap();
        assert_eq!(d.get(), Duration::from_secs(90));
        assert_eq!(
            "500ms".parse::<HumanDuration>().unwrap().get().as_millis(),
            500
        );
        assert_eq!(
            "1.5s".parse::<HumanDuration>().unwrap().get().as_millis(),
            1500
        );
        assert!("30".parse::<HumanDuration>().is_err());
        assert_eq!(
            "8760h".parse::<HumanDuration>().unwrap().get(),
            MAX_DURATION
        );
        let e = "2562047788015215h".parse::<HumanDuration>().unwrap_err();
        assert!(e.contains("longer than 8760h"), "{e}");
        let e = "30 sec".parse::<HumanDuration>().unwrap_err();
        assert_eq!(e, "`30 sec` is not a duration: did you mean `30s`?");
        assert_eq!(
            "500 ms".parse::<HumanDuration>().unwrap().get().as_millis(),
            500
        );
        assert!("".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn durations_format_for_people() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(150)), "2m30s");
        assert_eq!(format_duration(Duration::from_micros(20)), "20us");
    }

    #[test]
    fn percent_rate_and_size_parse() {
        assert!(("5%".parse::<Percent>().unwrap().get() - 0.05).abs() < 1e-12);
        assert!("150%".parse::<Percent>().is_err());
        assert!(("300/m".parse::<Rate>().unwrap().get() - 5.0).abs() < 1e-12);
        assert!("5/d".parse::<Rate>().is_err());
        assert_eq!("10MiB".parse::<ByteSize>().unwrap().get(), 10 << 20);
        assert!("10mb".parse::<ByteSize>().is_err());
    }

    #[test]
    fn patterns_agree_with_parsers() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for ok in [
            "500ms", "30s", "2m", "1m30s", "1h", "0.5s", "10us", "500 ms", "1.5 s",
        ] {
            assert!(re.is_match(ok), "{ok}");
            assert!(ok.parse::<HumanDuration>().is_ok(), "{ok}");
        }
        for bad in [
            "30", "s", "1d", "1m30", "-1s", "30 sec", "30sec", "5 min", "10S",
        ] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(bad.parse::<HumanDuration>().is_err(), "{bad}");
        }
    }
}
