//! Many names at once. The forward pass runs over a batch of contexts with activations kept
//! feature-major (`[features][batch]`), so the inner loops run over the batch and vectorise,
//! and each weight is read once per step for the whole batch. Every name's arithmetic is the
//! single-name path's, in the same order: `generate_batch` with one RNG per name gives
//! exactly the names `generate` gives with those RNGs (the tests check it).

use crate::format::Weights;
use crate::kernels;
use crate::model::{push_ctx, Model};
use crate::rng::Pcg32;
use crate::sampler::{sample, symbol_id, SampleConfig};
use crate::tensor::{F32Le, Matrix, MatrixData};
use crate::Error;

/// Most names one batch can hold.
pub const MAX_BATCH: usize = 256;

/// f32 words of scratch for `n_batch` names: every name's context and the packed contexts of
/// the running names (bytes), then `[block_size * n_embd]`, `[n_hidden]` and `[vocab_size]`
/// activations per name, and one row of probabilities.
pub const fn batch_scratch_words(
    vocab_size: usize,
    block_size: usize,
    n_embd: usize,
    n_hidden: usize,
    n_batch: usize,
) -> usize {
    let ctx_bytes = n_batch.saturating_mul(block_size).saturating_mul(2);
    let per_name = block_size.saturating_mul(n_embd).saturating_add(n_hidden).saturating_add(vocab_size);
    ctx_bytes.div_ceil(4).saturating_add(n_batch.saturating_mul(per_name)).saturating_add(vocab_size)
}

/// Caller-owned working memory for [`generate_batch`], carved from one f32 buffer.
#[derive(Debug)]
pub struct BatchScratch<'b> {
    n_batch: usize,
    /// `[n_batch * block_size]`: each name's context.
    slot_ctx: &'b mut [u8],
    /// `[n_batch * block_size]`: the contexts of the names still running, packed.
    ctx: &'b mut [u8],
    /// `[block_size * n_embd * n_batch]`, feature-major.
    x_t: &'b mut [f32],
    /// `[n_hidden * n_batch]`, feature-major.
    h_t: &'b mut [f32],
    /// `[vocab_size * n_batch]`, feature-major.
    logits_t: &'b mut [f32],
    /// `[vocab_size]`: one name's logits, then probabilities.
    probs: &'b mut [f32],
}

impl<'b> BatchScratch<'b> {
    /// Splits `buf` for up to `n_batch` names of `model`.
    pub fn new(model: &Model, n_batch: usize, buf: &'b mut [f32]) -> Result<Self, Error> {
        if n_batch == 0 || n_batch > MAX_BATCH {
            return Err(Error::BatchSize { n: n_batch, capacity: MAX_BATCH });
        }
        let h = model.header();
        let need = batch_scratch_words(h.vocab.len(), h.block_size, h.n_embd, h.n_hidden, n_batch);
        if buf.len() < need {
            return Err(Error::ScratchTooSmall { need, have: buf.len() });
        }
        let ctx_len = n_batch * h.block_size;
        let (ctx_words, rest) = buf.split_at_mut((2 * ctx_len).div_ceil(4));
        let (x_t, rest) = rest.split_at_mut(h.block_size * h.n_embd * n_batch);
        let (h_t, rest) = rest.split_at_mut(h.n_hidden * n_batch);
        let (logits_t, rest) = rest.split_at_mut(h.vocab.len() * n_batch);
        let (probs, _) = rest.split_at_mut(h.vocab.len());
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(ctx_words);
        let (slot_ctx, rest) = bytes.split_at_mut(ctx_len);
        let (ctx, _) = rest.split_at_mut(ctx_len);
        Ok(Self { n_batch, slot_ctx, ctx, x_t, h_t, logits_t, probs })
    }

    fn fits(&self, model: &Model) -> bool {
        let h = model.header();
        let n = self.n_batch;
        self.slot_ctx.len() == n * h.block_size
            && self.x_t.len() == n * h.block_size * h.n_embd
            && self.h_t.len() == n * h.n_hidden
            && self.logits_t.len() == n * h.vocab.len()
    }
}

/// Row `row` of `m`, dequantized, into column `k` of a feature-major buffer `dst_t` (`[cols * n]`).
fn embed_column(dst_t: &mut [f32], n: usize, k: usize, m: &Matrix, row: usize) {
    for (c, feature) in dst_t.chunks_exact_mut(n).enumerate() {
        if let (Some(slot), Some(v)) = (feature.get_mut(k), m.get(row, c)) {
            *slot = v;
        }
    }
}

fn linear_batch(out_t: &mut [f32], x_t: &[f32], n: usize, m: &Matrix, b: &[F32Le]) {
    match m.data() {
        MatrixData::F32(w) => kernels::linear_f32_batch(out_t, x_t, n, w, b),
        MatrixData::I8 { scales, values } => kernels::linear_i8_batch(out_t, x_t, n, values, scales, b),
    }
}

/// Logits for the `n` packed contexts of `s.ctx`, into `s.logits_t[..vocab * n]`.
fn forward_batch(model: &Model, s: &mut BatchScratch, n: usize) {
    let h = model.header();
    let (block, embd, v) = (h.block_size, h.n_embd, h.vocab.len());
    let ctx = s.ctx.get(..n * block).unwrap_or(&[]);
    let logits_t = s.logits_t.get_mut(..v * n).unwrap_or(&mut []);
    match model.weights() {
        Weights::Bigram { table } => {
            for (k, c) in ctx.chunks_exact(block.max(1)).enumerate() {
                embed_column(logits_t, n, k, table, usize::from(c.last().copied().unwrap_or(0)));
            }
        }
        Weights::Mlp { c, w1, b1, w2, b2 } => {
            let x_t = s.x_t.get_mut(..block * embd * n).unwrap_or(&mut []);
            let h_t = s.h_t.get_mut(..h.n_hidden * n).unwrap_or(&mut []);
            for (k, ids) in ctx.chunks_exact(block.max(1)).enumerate() {
                // Symbol p of the context fills features [p * n_embd, (p + 1) * n_embd).
                for (x_p, &id) in x_t.chunks_exact_mut(embd * n).zip(ids) {
                    embed_column(x_p, n, k, c, usize::from(id));
                }
            }
            linear_batch(h_t, x_t, n, w1, b1);
            kernels::tanh(h_t);
            linear_batch(logits_t, h_t, n, w2, b2);
        }
    }
}

/// Generates one word per entry of `outs`, name `i` drawing from `rngs[i]`: exactly the word
/// [`crate::generate`] would produce with `rngs[i]`, prefix and config, computed for the
/// whole batch at once. `rngs` and `outs` have the same length, at most the scratch's batch.
pub fn generate_batch<const N: usize>(
    model: &Model,
    s: &mut BatchScratch,
    rngs: &mut [Pcg32],
    cfg: &SampleConfig,
    prefix: &str,
    outs: &mut [heapless::String<N>],
) -> Result<(), Error> {
    let n_names = rngs.len();
    if n_names != outs.len() || n_names > s.n_batch {
        return Err(Error::BatchSize { n: n_names.max(outs.len()), capacity: s.n_batch });
    }
    if !s.fits(model) {
        return Err(Error::ScratchForOtherModel);
    }
    let block = model.block_size();
    let max_len = cfg.max_len.min(N);
    let prefix_len = prefix.chars().count();
    if prefix_len > max_len || prefix.len() > N {
        return Err(Error::PrefixTooLong { len: prefix_len, max: max_len });
    }
    let vocab = model.vocab();
    let mut active: heapless::Vec<u16, MAX_BATCH> = heapless::Vec::new();
    for ((slot, ctx), out) in s.slot_ctx.chunks_exact_mut(block).enumerate().zip(outs.iter_mut()) {
        ctx.fill(0);
        out.clear();
        for symbol in prefix.chars() {
            push_ctx(ctx, symbol_id(model, symbol)?);
            out.push(symbol).map_err(|_| Error::PrefixTooLong { len: prefix_len, max: max_len })?;
        }
        // slot < n_batch <= MAX_BATCH, so both conversions and the push succeed.
        let _ = active.push(u16::try_from(slot).unwrap_or(0));
    }
    for _ in prefix_len..max_len {
        let n = active.len();
        if n == 0 {
            break;
        }
        for (packed, &slot) in s.ctx.chunks_exact_mut(block).zip(&active) {
            if let Some(src) = s.slot_ctx.chunks_exact(block).nth(usize::from(slot)) {
                packed.copy_from_slice(src);
            }
        }
        forward_batch(model, s, n);
        let mut still: heapless::Vec<u16, MAX_BATCH> = heapless::Vec::new();
        for (k, &slot) in active.iter().enumerate() {
            let slot_idx = usize::from(slot);
            for (p, row) in s.probs.iter_mut().zip(s.logits_t.chunks_exact(n)) {
                *p = row.get(k).copied().unwrap_or(f32::NEG_INFINITY);
            }
            let Some(rng) = rngs.get_mut(slot_idx) else { continue };
            let id = sample(s.probs, cfg, rng)?;
            let Some((id, symbol)) = u8::try_from(id).ok().and_then(|id| Some((id, vocab.symbol(id)?))) else {
                continue;
            };
            if id == 0 {
                continue; // the boundary: this word is complete
            }
            let Some(out) = outs.get_mut(slot_idx) else { continue };
            if out.push(symbol).is_err() {
                continue; // full: stops at max length, as `generate` does
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
