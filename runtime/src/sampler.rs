//! Sampling: temperature, top-k, multinomial draw with the coin passed in, and `generate`.

use crate::kernels;
use crate::model::{push_ctx, Model, Scratch};
use crate::rng::Pcg32;
use crate::vocab::BOUNDARY;
use crate::Error;

/// How to pick each next symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleConfig {
    /// Divides the logits before the softmax; 0 picks the most likely symbol (argmax) and
    /// draws no random numbers.
    pub temperature: f32,
    /// Sample among the `top_k` most likely symbols only; 0 means all of them.
    pub top_k: usize,
    /// Most symbols in a word (the prefix included); generation stops there.
    pub max_len: usize,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self { temperature: 1.0, top_k: 0, max_len: 32 }
    }
}

/// Why `generate` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model produced the boundary token: the word is complete.
    Boundary,
    /// The word reached `max_len` symbols or filled the output string.
    MaxLen,
}

/// Index drawn from the distribution `probs` with `coin` in `[0, 1)` (llama2.c's
/// `sample_mult`): the first index whose running sum exceeds `coin * sum(probs)`.
///
/// Rounding can leave the running sum just below the target; then the last index with a
/// nonzero probability is returned, so a masked-out symbol is never picked. Returns 0 for an
/// empty or all-zero slice.
pub fn sample_mult(probs: &[f32], coin: f32) -> usize {
    let total: f32 = probs.iter().sum();
    let target = coin * total;
    let mut cdf = 0.0f32;
    let mut last_nonzero = 0;
    for (i, &p) in probs.iter().enumerate() {
        cdf += p;
        if p > 0.0 {
            last_nonzero = i;
            if target < cdf {
                return i;
            }
        }
    }
    last_nonzero
}

/// Keeps the `k` largest logits (ties broken towards the lower index) and sets the rest to
/// `-inf`. `k = 0` or `k >= len` keeps everything.
///
/// Works in place with no extra buffer: it walks down the distinct values, O(k * len).
pub fn top_k(logits: &mut [f32], k: usize) {
    if k == 0 || k >= logits.len() {
        return;
    }
    // Find the k-th largest value `threshold`, and how many entries equal to it to keep.
    let mut remaining = k;
    let mut bound = f32::INFINITY;
    let (threshold, mut keep_equal) = loop {
        // `below` is an entry (so `count >= 1`) unless nothing finite is left.
        let below = logits.iter().fold(f32::NEG_INFINITY, |m, &v| if v < bound && v > m { v } else { m });
        let count = logits.iter().filter(|&&v| v == below).count();
        if below == f32::NEG_INFINITY || count >= remaining {
            break (below, remaining);
        }
        remaining -= count;
        bound = below;
    };
    for v in logits.iter_mut() {
        if *v > threshold {
            continue;
        }
        if *v == threshold && keep_equal > 0 {
            keep_equal -= 1;
        } else {
            *v = f32::NEG_INFINITY;
        }
    }
}

/// Picks the next symbol from `logits` (`[vocab]`, overwritten with the probabilities):
/// argmax at temperature 0, else top-k, softmax(logits / temperature) and one coin from `rng`.
pub fn sample(logits: &mut [f32], cfg: &SampleConfig, rng: &mut Pcg32) -> Result<usize, Error> {
    if !(cfg.temperature >= 0.0 && cfg.temperature.is_finite()) {
        return Err(Error::BadTemperature);
    }
    if cfg.temperature == 0.0 {
        return Ok(kernels::argmax(logits));
    }
    for v in logits.iter_mut() {
        *v /= cfg.temperature;
    }
    top_k(logits, cfg.top_k);
    kernels::softmax(logits);
    Ok(sample_mult(logits, rng.next_f32()))
}

/// Generates one word into `out`: the context starts as boundary tokens, `prefix` is
/// appended as given, then symbols are sampled until the boundary token or `cfg.max_len`.
///
/// `out` is cleared first. Same model, seed, prefix and config give the same word on every
/// platform: the arithmetic is in a fixed order and `rng` draws one number per sampled
/// symbol (none at temperature 0).
pub fn generate<const N: usize>(
    model: &Model,
    scratch: &mut Scratch,
    rng: &mut Pcg32,
    cfg: &SampleConfig,
    prefix: &str,
    out: &mut heapless::String<N>,
) -> Result<Stop, Error> {
    out.clear();
    let max_len = cfg.max_len.min(N);
    let prefix_len = prefix.chars().count();
    if prefix_len > max_len || prefix.len() > N {
        return Err(Error::PrefixTooLong { len: prefix_len, max: max_len });
    }
    scratch.ctx.fill(0);
    for symbol in prefix.chars() {
        let id = symbol_id(model, symbol)?;
        push_ctx(scratch.ctx, id);
        out.push(symbol).map_err(|_| Error::PrefixTooLong { len: prefix_len, max: max_len })?;
    }
    let vocab = model.vocab();
    for _ in prefix_len..max_len {
        let logits = model.forward_own_ctx(scratch)?;
        let id = sample(logits, cfg, rng)?;
        if id == 0 {
            return Ok(Stop::Boundary);
        }
        // The id indexes `[vocab_size]` logits, so it is a valid symbol; the fallback is unreachable.
        let Some((id, symbol)) = u8::try_from(id).ok().and_then(|id| Some((id, vocab.symbol(id)?))) else {
            return Ok(Stop::Boundary);
        };
        if out.push(symbol).is_err() {
            return Ok(Stop::MaxLen);
        }
        push_ctx(scratch.ctx, id);
    }
    Ok(Stop::MaxLen)
}

/// The id of a symbol of a user-supplied word or prefix.
pub(crate) fn symbol_id(model: &Model, symbol: char) -> Result<u8, Error> {
    if symbol == BOUNDARY {
        return Err(Error::BoundaryInWord);
    }
    model.vocab().id(symbol).ok_or(Error::UnknownSymbol { symbol })
}
