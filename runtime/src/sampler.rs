//! Sampling settings ([`SampleConfig`], [`Temperature`]) and the pieces of a draw both number
//! formats share (top-k); [`crate::generate`] runs them.

use crate::quant::MAX_TEMPERATURE_MILLI;
use crate::Error;

/// Most symbols in a generated name (the prefix included), on every platform: the host's
/// `trainer sample` and the firmware stop at the same length, so they print the same names.
pub const MAX_LEN: usize = 32;

/// Bytes a string needs to hold `max_len` symbols of a vocabulary whose widest symbol takes
/// `widest` bytes in UTF-8 ([`crate::Vocab::widest_symbol`]): size the output string of
/// [`crate::generate()`] with it.
pub const fn name_capacity(max_len: usize, widest: usize) -> usize {
    max_len.saturating_mul(widest)
}

/// A softmax temperature in thousandths: `Temperature::from_milli(800)` is 0.8. Exact and
/// integer, so the float reference and the integer model read the same setting, and a
/// board's config needs no floating point. 0 picks the most likely symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Temperature(u32);

impl Temperature {
    /// Always the most likely symbol; no random numbers are drawn.
    pub const ARGMAX: Self = Self(0);
    /// The model's own distribution.
    pub const ONE: Self = Self(1000);

    /// `milli / 1000`.
    pub const fn from_milli(milli: u32) -> Self {
        Self(milli)
    }

    /// The temperature in thousandths.
    pub const fn milli(self) -> u32 {
        self.0
    }

    /// Parses a decimal such as `0.8`, `1`, `1.25` or `.5` exactly (at most three decimals,
    /// at most 100).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const WHAT: &str = "a temperature is a decimal from 0 to 100 with at most three decimals, such as 0.8";
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        if (int.is_empty() && frac.is_empty())
            || frac.len() > 3
            || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(WHAT);
        }
        let mut milli: u64 = 0;
        for b in int.bytes() {
            milli = milli.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        }
        let mut scale = 1000;
        milli = milli.saturating_mul(1000);
        for b in frac.bytes() {
            scale /= 10;
            milli = milli.saturating_add(u64::from(b - b'0') * scale);
        }
        match u32::try_from(milli) {
            Ok(m) if m <= MAX_TEMPERATURE_MILLI => Ok(Self(m)),
            _ => Err(WHAT),
        }
    }

    /// [`Error::BadTemperature`] above 100.
    pub fn check(self) -> Result<(), Error> {
        if self.0 > MAX_TEMPERATURE_MILLI {
            return Err(Error::BadTemperature { milli: self.0 });
        }
        Ok(())
    }
}

impl core::fmt::Display for Temperature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let frac = self.0 % 1000;
        match frac {
            0 => write!(f, "{}", self.0 / 1000),
            _ if frac.is_multiple_of(100) => write!(f, "{}.{}", self.0 / 1000, frac / 100),
            _ if frac.is_multiple_of(10) => write!(f, "{}.{:02}", self.0 / 1000, frac / 10),
            _ => write!(f, "{}.{frac:03}", self.0 / 1000),
        }
    }
}

/// How to pick each next symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleConfig {
    /// Divides the logits before the softmax; 0 picks the most likely symbol (argmax) and
    /// draws no random numbers.
    pub temperature: Temperature,
    /// Sample among the `top_k` most likely symbols only; 0 means all of them.
    pub top_k: usize,
    /// Most symbols in a word (the prefix included); generation stops there.
    pub max_len: usize,
}

impl SampleConfig {
    /// Temperature 1, all symbols, [`MAX_LEN`].
    pub const DEFAULT: Self = Self { temperature: Temperature::ONE, top_k: 0, max_len: MAX_LEN };
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Keeps the `k` largest logits (ties broken towards the lower index) and sets the rest to
/// `lowest` (`-inf` for f32 logits, `i32::MIN` for integer ones). `k = 0` or `k >= len`
/// keeps everything.
///
/// Works in place with no extra buffer: it walks down the distinct values, O(k * len).
pub fn top_k<T: Copy + PartialOrd>(logits: &mut [T], k: usize, lowest: T) {
    if k == 0 || k >= logits.len() {
        return;
    }
    // Find the k-th largest value `threshold`, and how many entries equal to it to keep.
    let mut remaining = k;
    let mut bound: Option<T> = None;
    let (threshold, mut keep_equal) = loop {
        // The largest value below `bound` (`lowest` when nothing is left).
        let below = logits.iter().fold(lowest, |m, &v| if bound.is_none_or(|b| v < b) && v > m { v } else { m });
        let count = logits.iter().filter(|&&v| v == below).count();
        if below == lowest || count >= remaining {
            break (below, remaining);
        }
        remaining -= count;
        bound = Some(below);
    };
    for v in logits.iter_mut() {
        if *v > threshold {
            continue;
        }
        if *v == threshold && keep_equal > 0 {
            keep_equal -= 1;
        } else {
            *v = lowest;
        }
    }
}

/// The distribution of the argmax path (temperature 0): all of it on symbol `best`.
pub(crate) fn one_hot(probs: &mut [f64], best: usize) {
    for (i, p) in probs.iter_mut().enumerate() {
        *p = if i == best { 1.0 } else { 0.0 };
    }
}
