//! `generate` and `next_distribution`: the same code for the float reference and the integer
//! model ([`Network`]); each net brings its own softmax and draw.

use crate::network::{push_ctx, Network, Scratch};
use crate::rng::Pcg32;
use crate::sampler::{name_capacity, SampleConfig};
use crate::vocab::BOUNDARY;
use crate::Error;

/// Why `generate` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model produced the boundary token: the word is complete.
    Boundary,
    /// The word reached `max_len` symbols.
    MaxLen,
}

/// Generates one word into `out`: the context starts as boundary tokens, `prefix` is
/// appended as given, then symbols are sampled until the boundary token or `cfg.max_len`
/// symbols. `out` must hold `max_len` of the vocabulary's widest symbols ([`name_capacity`]),
/// so that the length limit, not the buffer, ends a name, on every platform alike.
///
/// `out` is cleared first. Same model, seed, prefix and config give the same word on every
/// platform: the arithmetic is in a fixed order and `rng` draws one number per sampled
/// symbol (none at temperature 0).
pub fn generate<N: Network + ?Sized, const B: usize>(
    net: &N,
    scratch: &mut Scratch,
    rng: &mut Pcg32,
    cfg: &SampleConfig,
    prefix: &str,
    out: &mut heapless::String<B>,
) -> Result<Stop, Error> {
    scratch.check(net)?;
    let sampler = net.sampler(cfg)?;
    out.clear();
    let vocab = net.vocab();
    let prefix_len = check_name::<N, B>(net, cfg, prefix)?;
    scratch.ctx.fill(0);
    // A hierarchy streams: one output per layer per step, from rings of earlier outputs.
    let streams = scratch.streams(net);
    if streams {
        net.stream_begin(scratch.stream);
    }
    for symbol in prefix.chars() {
        let id = symbol_id(net, symbol)?;
        push_ctx(scratch.ctx, id);
        if streams {
            net.stream_push(scratch.ctx, scratch.stream, scratch.work);
        }
        out.push(symbol).map_err(|_| Error::PrefixTooLong { len: prefix_len, max: cfg.max_len })?;
    }
    for step in prefix_len..cfg.max_len {
        let id = if step == 0 {
            scratch.first_symbol(net, &sampler, rng) // no prefix: the all-boundary context
        } else if streams {
            net.stream_next(scratch.ctx, scratch.stream, scratch.work, &sampler, rng)
        } else {
            net.next_symbol(scratch.ctx, scratch.work, &sampler, rng)
        };
        // The id indexes `[vocab_size]` logits, so it is a valid symbol (0 is the boundary).
        let Some((id, symbol)) = u8::try_from(id).ok().and_then(|id| Some((id, vocab.symbol(id)?))) else {
            return Ok(Stop::Boundary);
        };
        if id == 0 {
            return Ok(Stop::Boundary);
        }
        if out.push(symbol).is_err() {
            return Ok(Stop::MaxLen); // unreachable: `out` holds max_len of the widest symbols
        }
        push_ctx(scratch.ctx, id);
        if streams && step + 1 < cfg.max_len {
            net.stream_push(scratch.ctx, scratch.stream, scratch.work);
        }
    }
    Ok(Stop::MaxLen)
}

/// The distribution [`generate`] draws the symbol after `text` from, with `cfg` (its
/// temperature and top-k): `probs[id]` for each symbol id of the vocabulary
/// ([`crate::Vocab::symbol`]), summing to 1 up to rounding; at temperature 0 all of it lies on
/// the symbol chosen. `text` is what a name holds so far (a prefix, possibly empty): the
/// context is its last `block_size` symbols after boundary padding, as in [`generate`].
///
/// This is the lectures' softmax made visible: the playground draws it as a bar chart.
pub fn next_distribution<N: Network + ?Sized>(
    net: &N,
    scratch: &mut Scratch,
    cfg: &SampleConfig,
    text: &str,
    probs: &mut [f64],
) -> Result<(), Error> {
    scratch.check(net)?;
    let sampler = net.sampler(cfg)?;
    let vocab_size = net.vocab().len();
    let Some(probs) = probs.get_mut(..vocab_size) else {
        return Err(Error::ProbsTooSmall { need: vocab_size, have: probs.len() });
    };
    scratch.ctx.fill(0);
    for symbol in text.chars() {
        push_ctx(scratch.ctx, symbol_id(net, symbol)?);
    }
    net.distribution(scratch.ctx, scratch.work, &sampler, probs);
    Ok(())
}

/// Checks that a name of `cfg.max_len` symbols fits `B` bytes and that `prefix` fits the
/// name; returns the prefix's length in symbols ([`generate`] and `generate_batch`).
pub(crate) fn check_name<N: Network + ?Sized, const B: usize>(
    net: &N,
    cfg: &SampleConfig,
    prefix: &str,
) -> Result<usize, Error> {
    let need = name_capacity(cfg.max_len, net.vocab().widest_symbol());
    if B < need {
        return Err(Error::NameBufferTooSmall { need, have: B });
    }
    let prefix_len = crate::vocab::count_chars(prefix);
    if prefix_len > cfg.max_len {
        return Err(Error::PrefixTooLong { len: prefix_len, max: cfg.max_len });
    }
    Ok(prefix_len)
}

/// The id of a symbol of a user-supplied word or prefix.
pub(crate) fn symbol_id<N: Network + ?Sized>(net: &N, symbol: char) -> Result<u8, Error> {
    if symbol == BOUNDARY {
        return Err(Error::BoundaryInWord);
    }
    net.vocab().id(symbol).ok_or(Error::UnknownSymbol { symbol })
}
