//! Many names at once. The forward pass runs over a batch of contexts with activations kept
//! feature-major, so the inner loops run over the batch and vectorise, and each weight is
//! read once per step for the whole batch. Every name's arithmetic is the single-name
//! path's, in the same order for floats (integer sums do not depend on the order):
//! `generate_batch` with one RNG per name gives exactly the names `generate` gives with
//! those RNGs (the tests check it).

use crate::generation::{check_name, symbol_id};
use crate::network::{push_ctx, FirstLogits, Network};
use crate::rng::Pcg32;
use crate::sampler::SampleConfig;
use crate::vocab::MAX_VOCAB;
use crate::Error;

/// Most names one batch can hold.
pub const MAX_BATCH: usize = 256;

/// Words of scratch for `n_batch` names of `net`: every name's context and the packed
/// contexts of the running names (bytes), then the net's batch activations (at least one
/// context's work), then the all-boundary context's logits and one name's copy of them, then
/// every name's streaming state ([`Network::stream_words`]), then the second step of every
/// first symbol (its logits and state), then the first and second steps' logits made ready
/// for many draws ([`Network::prepare_draw`]).
pub fn batch_scratch_words<N: Network + ?Sized>(net: &N, n_batch: usize) -> usize {
    let ctx_bytes = n_batch.saturating_mul(net.block_size()).saturating_mul(2);
    ctx_bytes
        .div_ceil(4)
        .saturating_add(work_words(net, n_batch))
        .saturating_add(net.vocab().len().saturating_mul(2))
        .saturating_add(net.stream_words().saturating_mul(n_batch))
        .saturating_add(second_words(net).saturating_mul(net.vocab().len()))
        .saturating_add(prepared_words(net))
}

/// Words of the prepared draws: the first step's logits, then the second step's after each
/// symbol, each made ready for many draws with one call's sampler.
fn prepared_words<N: Network + ?Sized>(net: &N) -> usize {
    let vocab = net.vocab().len();
    vocab.saturating_add(1).saturating_mul(vocab)
}

/// Words of one entry of the second-step cache: the logits after a first symbol, then the
/// streaming state that has seen it.
fn second_words<N: Network + ?Sized>(net: &N) -> usize {
    net.vocab().len().saturating_add(net.stream_words())
}

/// The batch's work words: its activations, or one context's work if that is more (the
/// scratch runs the all-boundary context alone once).
fn work_words<N: Network + ?Sized>(net: &N, n_batch: usize) -> usize {
    net.batch_work_words(n_batch).max(net.work_words())
}

/// Caller-owned working memory for [`generate_batch`], carved from one buffer of words.
#[derive(Debug)]
pub struct BatchScratch<'b> {
    n_batch: usize,
    /// `[n_batch * block_size]`: each name's context.
    slot_ctx: &'b mut [u8],
    /// `[n_batch * block_size]`: the contexts of the names still running, packed.
    ctx: &'b mut [u8],
    /// The net's activations, logits and one name's weights.
    work: &'b mut [u32],
    /// The logits of the all-boundary context of the net the scratch was made for (see
    /// [`crate::Scratch`]), and `[vocab_size]` words for one name's draw from them.
    first: FirstLogits<'b>,
    draw: &'b mut [u32],
    /// `[n_batch * stream_words]`: each name's streaming state.
    stream: &'b mut [u32],
    /// `[vocab_size * (vocab_size + stream_words)]`: for each symbol id, the logits of the
    /// context that holds it alone (every name's second step when there is no prefix: it
    /// depends on the first symbol only), then the streaming state that has seen it. Valid
    /// while `first` is.
    second: &'b mut [u32],
    /// `[(1 + vocab_size) * vocab_size]`: the first step's logits, then the second step's for
    /// each symbol id, each prepared for many draws ([`Network::prepare_draw`]) on its first
    /// use in a call of [`generate_batch`] (the sampler is the call's).
    prepared: &'b mut [u32],
    /// The [`Network::model_key`] of the net whose batch tables ([`Network::begin_batch`])
    /// `work` holds, 0 when it holds none: built once per scratch, again only after
    /// something else used `work` (a prefix's streaming) or for another net.
    tables: usize,
}

impl<'b> BatchScratch<'b> {
    /// Splits `buf` for up to `n_batch` names of `net` and runs `net` once on the
    /// all-boundary context (every name's first step, drawn from these logits by
    /// [`generate_batch`]). `net` stays borrowed while the scratch lives.
    pub fn new<N: Network + ?Sized>(net: &'b N, n_batch: usize, buf: &'b mut [u32]) -> Result<Self, Error> {
        if n_batch == 0 || n_batch > MAX_BATCH {
            return Err(Error::BatchSize { n: n_batch, capacity: MAX_BATCH });
        }
        let need = batch_scratch_words(net, n_batch);
        if buf.len() < need {
            return Err(Error::ScratchTooSmall { need, have: buf.len() });
        }
        let ctx_len = n_batch * net.block_size();
        let too_small = Error::ScratchTooSmall { need, have: buf.len() };
        let (ctx_words, rest) = buf.split_at_mut_checked((2 * ctx_len).div_ceil(4)).ok_or(too_small)?;
        let (work, rest) = rest.split_at_mut_checked(work_words(net, n_batch)).ok_or(too_small)?;
        let vocab = net.vocab().len();
        let (first, rest) = rest.split_at_mut_checked(vocab).ok_or(too_small)?;
        let (draw, rest) = rest.split_at_mut_checked(vocab).ok_or(too_small)?;
        let words = net.stream_words();
        let (stream, rest) = rest.split_at_mut_checked(words * n_batch).ok_or(too_small)?;
        let (second, rest) = rest.split_at_mut_checked(second_words(net) * vocab).ok_or(too_small)?;
        let (prepared, _) = rest.split_at_mut_checked(prepared_words(net)).ok_or(too_small)?;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(ctx_words);
        let (slot_ctx, rest) = bytes.split_at_mut_checked(ctx_len).ok_or(too_small)?;
        let (ctx, _) = rest.split_at_mut_checked(ctx_len).ok_or(too_small)?;
        let first = FirstLogits::new(net, ctx.get_mut(..net.block_size()).ok_or(too_small)?, work, first);
        // The stream's constants once, copied to every name's state.
        if let Some((state0, others)) = stream.split_at_mut_checked(words) {
            net.stream_init(state0, work);
            for state in others.chunks_exact_mut(words.max(1)) {
                state.copy_from_slice(state0);
            }
        }
        // Every first symbol's second step, as a name with that symbol alone computes it.
        let one = ctx.get_mut(..net.block_size()).ok_or(too_small)?;
        let state0 = stream.get(..words).unwrap_or(&[]);
        for (id, entry) in second.chunks_exact_mut(second_words(net).max(1)).enumerate() {
            let (logits, state) = entry.split_at_mut(vocab);
            one.fill(0);
            push_ctx(one, u8::try_from(id).unwrap_or(0));
            if words > 0 {
                state.copy_from_slice(state0);
                net.stream_begin(state);
                net.stream_push(one, state, work);
                net.stream_logits(one, state, work, logits);
            } else {
                net.logits_into(one, work, logits);
            }
        }
        // The batch's tables last: the steps above used `work` as one name's.
        net.begin_batch(work);
        let tables = net.model_key();
        Ok(Self { n_batch, slot_ctx, ctx, work, first, draw, stream, second, prepared, tables })
    }

    /// Whether generation with `net` may stream (see [`crate::Scratch`]).
    fn streams<N: Network + ?Sized>(&self, net: &N) -> bool {
        let words = net.stream_words();
        words > 0 && self.stream.len() >= words * self.n_batch && self.first.of(net).is_some()
    }

    fn fits<N: Network + ?Sized>(&self, net: &N) -> bool {
        self.slot_ctx.len() == self.n_batch * net.block_size() && self.work.len() >= work_words(net, self.n_batch)
    }
}

/// Generates one word per entry of `outs`, name `i` drawing from `rngs[i]`: exactly the word
/// [`crate::generate`] would produce with `rngs[i]`, prefix and config, computed for the
/// whole batch at once. `rngs` and `outs` have the same length, at most the scratch's batch.
pub fn generate_batch<N: Network + ?Sized, const B: usize>(
    net: &N,
    s: &mut BatchScratch,
    rngs: &mut [Pcg32],
    cfg: &SampleConfig,
    prefix: &str,
    outs: &mut [heapless::String<B>],
) -> Result<(), Error> {
    let n_names = rngs.len();
    if n_names != outs.len() || n_names > s.n_batch {
        return Err(Error::BatchSize { n: n_names.max(outs.len()), capacity: s.n_batch });
    }
    if !s.fits(net) {
        return Err(Error::ScratchForOtherModel);
    }
    let sampler = net.sampler(cfg)?;
    let block = net.block_size();
    let vocab = net.vocab();
    let prefix_len = check_name::<N, B>(net, cfg, prefix)?;
    // A hierarchy streams: each name's state follows its context, a step computes one
    // output per layer for the whole batch.
    let streams = s.streams(net);
    let words = net.stream_words().max(1);
    let mut active: heapless::Vec<u16, MAX_BATCH> = heapless::Vec::new();
    if !prefix.is_empty() {
        s.tables = 0; // the prefixes' streaming uses `work`, where the tables live
    }
    let mut states = s.stream.chunks_exact_mut(words);
    for ((slot, ctx), out) in s.slot_ctx.chunks_exact_mut(block).enumerate().zip(outs.iter_mut()) {
        ctx.fill(0);
        out.clear();
        let mut state = states.next().filter(|_| streams);
        if let Some(state) = state.as_deref_mut() {
            net.stream_begin(state);
        }
        for symbol in prefix.chars() {
            push_ctx(ctx, symbol_id(net, symbol)?);
            if let Some(state) = state.as_deref_mut() {
                net.stream_push(ctx, state, s.work);
            }
            out.push(symbol).map_err(|_| Error::PrefixTooLong { len: prefix_len, max: cfg.max_len })?;
        }
        // slot < n_batch <= MAX_BATCH, so both conversions and the push succeed.
        let _ = active.push(u16::try_from(slot).unwrap_or(0));
    }
    // After the prefixes (their streaming used the work memory the batch's tables live in),
    // unless the scratch holds this net's tables already.
    let key = net.model_key();
    if key == 0 || s.tables != key {
        net.begin_batch(s.work);
        s.tables = key;
    }
    // Which entries of `s.prepared` this call has made (bit e: entry e).
    let mut ready = [0u64; (MAX_VOCAB + 1).div_ceil(64)];
    let n_vocab = vocab.len();
    for step in prefix_len..cfg.max_len {
        let n = active.len();
        if n == 0 {
            break;
        }
        // No prefix: every name's first context is all boundary, whose logits the scratch holds.
        let cached = if step == 0 { s.first.of(net) } else { None };
        // No prefix: every name's second step depends on its first symbol only, and the
        // scratch holds it for each (logits and state) when it holds the first step.
        let second = step == 1 && prefix_len == 0 && s.first.of(net).is_some();
        if cached.is_none() && !second {
            for (packed, &slot) in s.ctx.chunks_exact_mut(block).zip(&active) {
                if let Some(src) = s.slot_ctx.chunks_exact(block).nth(usize::from(slot)) {
                    for (p, &c) in packed.iter_mut().zip(src) {
                        *p = c;
                    }
                }
            }
            let ctx = s.ctx.get(..n * block).unwrap_or(&[]);
            if streams {
                // Every state but at the first step has yet to take its name's newest symbol.
                net.stream_batch(ctx, n, s.stream, &active, step > prefix_len, s.work);
            } else {
                net.forward_batch(ctx, n, s.work);
            }
        }
        let mut still: heapless::Vec<u16, MAX_BATCH> = heapless::Vec::new();
        for (k, &slot) in active.iter().enumerate() {
            let slot_idx = usize::from(slot);
            let Some(rng) = rngs.get_mut(slot_idx) else { continue };
            let id = if let Some(first) = cached {
                let Some(p) = prepare(net, &sampler, s.prepared, &mut ready, 0, first) else { continue };
                net.draw_prepared(p, s.draw, &sampler, rng)
            } else if second {
                let first_id = s.slot_ctx.chunks_exact(block).nth(slot_idx).and_then(|c| c.last()).copied();
                let entry = first_id.and_then(|id| Some((id, second_entry(s.second, n_vocab, id)?)));
                let Some((first_id, (logits, state))) = entry else { continue };
                if streams {
                    if let Some(dst) = s.stream.chunks_exact_mut(words).nth(slot_idx) {
                        dst.copy_from_slice(state);
                    }
                }
                let e = 1 + usize::from(first_id);
                let Some(p) = prepare(net, &sampler, s.prepared, &mut ready, e, logits) else { continue };
                net.draw_prepared(p, s.draw, &sampler, rng)
            } else {
                net.sample_batch(s.work, n, k, &sampler, rng)
            };
            let Some((id, symbol)) = u8::try_from(id).ok().and_then(|id| Some((id, vocab.symbol(id)?))) else {
                continue;
            };
            if id == 0 {
                continue; // the boundary: this word is complete
            }
            let Some(out) = outs.get_mut(slot_idx) else { continue };
            if out.push(symbol).is_err() {
                continue; // unreachable: `out` holds max_len of the widest symbols
            }
            if let Some(ctx) = s.slot_ctx.chunks_exact_mut(block).nth(slot_idx) {
                push_ctx(ctx, id);
            }
            let _ = still.push(slot);
        }
        active = still;
    }
    Ok(())
}

/// Entry `e` of [`BatchScratch`]'s prepared draws (`vocab` words each), made from `logits`
/// with `sampler` unless `ready` says this call made it already.
fn prepare<'p, N: Network + ?Sized>(
    net: &N,
    sampler: &N::Sampler,
    prepared: &'p mut [u32],
    ready: &mut [u64],
    e: usize,
    logits: &[u32],
) -> Option<&'p [u32]> {
    let entry = prepared.chunks_exact_mut(logits.len().max(1)).nth(e)?;
    let bit = ready.get_mut(e / 64)?;
    if *bit & (1 << (e % 64)) == 0 {
        entry.copy_from_slice(logits);
        net.prepare_draw(entry, sampler);
        *bit |= 1 << (e % 64);
    }
    Some(entry)
}

/// The entry of [`BatchScratch`]'s second-step cache (`second`, `vocab` entries) for first
/// symbol `id`: its logits and state.
fn second_entry(second: &[u32], vocab: usize, id: u8) -> Option<(&[u32], &[u32])> {
    let entry = second.chunks_exact((second.len() / vocab.max(1)).max(1)).nth(usize::from(id))?;
    Some(entry.split_at(vocab))
}

/// Names `range` (indices) of the list `net` draws with `seed`: name `i` from
/// [`Pcg32::for_name`]`(seed, i)`, computed [`MAX_BATCH`] at a time with [`generate_batch`].
/// The list `trainer sample`, the firmware and the playground print.
#[cfg(feature = "alloc")]
pub fn names<N: Network + ?Sized>(
    net: &N,
    seed: u64,
    range: core::ops::Range<u64>,
    cfg: &SampleConfig,
    prefix: &str,
) -> Result<alloc::vec::Vec<alloc::string::String>, Error> {
    use alloc::vec::Vec;
    let total = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(usize::MAX);
    let n_batch = total.clamp(1, MAX_BATCH);
    let mut buf = alloc::vec![0u32; batch_scratch_words(net, n_batch)];
    let mut s = BatchScratch::new(net, n_batch, &mut buf)?;
    // The widest name: MAX_LEN symbols of at most 4 UTF-8 bytes.
    let mut outs: Vec<heapless::String<{ 4 * crate::MAX_LEN }>> = Vec::new();
    outs.resize(n_batch, heapless::String::new());
    let mut names = Vec::with_capacity(total.min(1 << 20));
    let mut next = range.start;
    while next < range.end {
        let count = usize::try_from(range.end - next).unwrap_or(usize::MAX).min(n_batch);
        let mut rngs: Vec<Pcg32> = (next..).take(count).map(|i| Pcg32::for_name(seed, i)).collect();
        let outs = outs.get_mut(..count).unwrap_or(&mut []);
        generate_batch(net, &mut s, &mut rngs, cfg, prefix, outs)?;
        names.extend(outs.iter().map(|n| alloc::string::String::from(n.as_str())));
        next += count as u64;
    }
    Ok(names)
}
