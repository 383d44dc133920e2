//! Histograms as text, for reports and shard merges: HdrHistogram's V2 + DEFLATE encoding
//! (what the Java and Go implementations read too), then standard base64 so it fits in JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{
    DeserializeError, Deserializer, Serializer as _, V2DeflateSerializeError, V2DeflateSerializer,
};
use thiserror::Error;

/// Why a histogram could not be encoded or decoded.
#[derive(Debug, Error)]
pub(crate) enum HistogramCodecError {
    /// The histogram could not be serialized (a count beyond the format's range).
    #[error("cannot encode the histogram: {0}")]
    Encode(#[source] V2DeflateSerializeError),
    /// The text is not base64.
    #[error("histogram is not valid base64")]
    Base64(#[source] base64::DecodeError),
    /// The bytes are not a V2 (optionally DEFLATE-compressed) histogram.
    #[error("histogram is not a valid HdrHistogram V2 encoding")]
    Decode(#[source] DeserializeError),
}

/// `histogram` as base64 of its V2 + DEFLATE encoding.
pub(crate) fn encode_histogram<C: hdrhistogram::Counter>(
    histogram: &Histogram<C>,
) -> Result<String, HistogramCodecError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(HistogramCodecError::Encode)?;
    Ok(STANDARD.encode(bytes))
}

/// A histogram from [`encode_histogram`]'s text (plain V2 is accepted too). It grows as
/// ours do: the encoder sized it to its own largest value, and a merge adds larger ones
/// (merging into one of ours still clamps at our one-hour ceiling).
pub(crate) fn decode_histogram(text: &str) -> Result<Histogram<u64>, HistogramCodecError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(HistogramCodecError::Base64)?;
    let mut histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HistogramCodecError::Decode)?;
    histogram.auto(true);
    Ok(histogram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{HIGHEST_MICROS, new_counts};

    #[test]
    fn round_trip_keeps_every_count_and_the_bounds() {
        let mut h = new_counts::<u64>();
        for us in (1..=100_000).step_by(7) {
            h.record(us).unwrap();
        }
        h.record(HIGHEST_MICROS).unwrap();
        h.saturating_record_n(0, 3);
        let text = encode_histogram(&h).unwrap();
        assert!(text.is_ascii() && !text.contains('\n'));
        let back = decode_histogram(&text).unwrap();
        assert_eq!(back, h);
        assert_eq!(
            (back.low(), back.high(), back.sigfig()),
            (h.low(), h.high(), h.sigfig())
        );
        assert_eq!(back.len(), h.len());
        assert_eq!(back.max(), h.max());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_histogram("not base64!"),
            Err(HistogramCodecError::Base64(_))
        ));
        assert!(matches!(
            decode_histogram(&STANDARD.encode(b"nope")),
            Err(HistogramCodecError::Decode(_))
        ));
    }
}
