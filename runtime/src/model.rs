//! A decoded model and its forward pass: the context window in, next-symbol logits out.

use crate::format::{decode, Header, Weights};
use crate::kernels;
use crate::tensor::{f32_le, F32Le, Matrix, MatrixData};
use crate::vocab::Vocab;
use crate::{DecodeError, Error};

/// f32 words of scratch a model with these dimensions needs (see [`Scratch`]):
/// `ceil(block_size / 4)` for the context ids, `block_size * n_embd` for the concatenated
/// embeddings, `n_hidden` for the hidden layer, `vocab_size` for the logits.
///
/// The default MLP (vocab 27, block 3, embd 10, hidden 200) needs 258 words, 1,032 bytes;
/// a bigram over 27 symbols needs 28 words.
pub const fn scratch_words(vocab_size: usize, block_size: usize, n_embd: usize, n_hidden: usize) -> usize {
    block_size
        .div_ceil(4)
        .saturating_add(block_size.saturating_mul(n_embd))
        .saturating_add(n_hidden)
        .saturating_add(vocab_size)
}

/// A validated model borrowing its weights from the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Model<'a> {
    header: Header<'a>,
    weights: Weights<'a>,
}

impl<'a> Model<'a> {
    /// Decodes and validates a model file in place (see [`crate::format`]). After this
    /// succeeds, running the model cannot fail because of its bytes.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (header, weights) = decode(bytes)?;
        Ok(Self { header, weights })
    }

    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    pub fn weights(&self) -> &Weights<'a> {
        &self.weights
    }

    pub fn vocab(&self) -> Vocab<'a> {
        self.header.vocab
    }

    pub fn block_size(&self) -> usize {
        self.header.block_size
    }

    /// Number of parameters (int8 scales not counted).
    pub fn n_params(&self) -> usize {
        self.weights.n_params()
    }

    /// f32 words of scratch this model needs: the size of the buffer for [`Scratch::new`].
    pub fn scratch_words(&self) -> usize {
        let h = &self.header;
        scratch_words(h.vocab.len(), h.block_size, h.n_embd, h.n_hidden)
    }

    /// Bytes of RAM the forward pass needs besides the stack (the scratch buffer); the
    /// weights stay where the model bytes are (flash on a microcontroller).
    pub fn ram_bytes(&self) -> usize {
        self.scratch_words().saturating_mul(4)
    }

    /// Logits of the next symbol after the context `ctx` (`[block_size]` symbol ids, oldest
    /// first, padded with 0, the boundary id). Returns `[vocab_size]` logits in `scratch`.
    pub fn forward<'s>(&self, ctx: &[u8], scratch: &'s mut Scratch<'_>) -> Result<&'s [f32], Error> {
        self.check_scratch(scratch)?;
        if ctx.len() != self.header.block_size {
            return Err(Error::ContextLength { expected: self.header.block_size, found: ctx.len() });
        }
        let vocab_size = self.header.vocab.len();
        if let Some(&id) = ctx.iter().find(|&&id| usize::from(id) >= vocab_size) {
            return Err(Error::SymbolOutOfRange { id, vocab_size });
        }
        self.run(ctx, scratch.x, scratch.h, scratch.logits);
        Ok(scratch.logits)
    }

    /// [`Model::forward`] on the context held in the scratch (for `generate` and `nll`, whose
    /// ids come from the vocabulary or the sampler and are in range by construction).
    pub(crate) fn forward_own_ctx<'s>(&self, scratch: &'s mut Scratch<'_>) -> Result<&'s mut [f32], Error> {
        self.check_scratch(scratch)?;
        self.run(scratch.ctx, scratch.x, scratch.h, scratch.logits);
        Ok(scratch.logits)
    }

    fn check_scratch(&self, s: &Scratch) -> Result<(), Error> {
        let h = &self.header;
        let fits = s.ctx.len() == h.block_size
            && s.x.len() == h.block_size * h.n_embd
            && s.h.len() == h.n_hidden
            && s.logits.len() == h.vocab.len();
        if fits {
            Ok(())
        } else {
            Err(Error::ScratchForOtherModel)
        }
    }

    /// The forward pass proper. Shapes (checked at load and by the callers):
    /// `ctx: [block_size]`, `x: [block_size * n_embd]`, `h: [n_hidden]`, `logits: [vocab]`.
    fn run(&self, ctx: &[u8], x: &mut [f32], h: &mut [f32], logits: &mut [f32]) {
        match &self.weights {
            Weights::Bigram { table } => {
                let prev = ctx.last().copied().unwrap_or(0);
                embed(logits, table, usize::from(prev));
            }
            Weights::Mlp { c, w1, b1, w2, b2 } => {
                if self.header.n_embd > 0 {
                    // x = concat(C[ctx[0]], ..., C[ctx[block_size - 1]])
                    for (x_i, &id) in x.chunks_exact_mut(self.header.n_embd).zip(ctx) {
                        embed(x_i, c, usize::from(id));
                    }
                }
                linear(h, x, w1, b1); // h = W1 x + b1
                kernels::tanh(h); // h = tanh(h)
                linear(logits, h, w2, b2); // logits = W2 h + b2
            }
        }
    }
}

/// Row `row` of `m`, dequantized into `out` (`[m.cols()]`).
fn embed(out: &mut [f32], m: &Matrix, row: usize) {
    let cols = m.cols();
    let range = row * cols..(row + 1) * cols;
    match m.data() {
        MatrixData::F32(data) => kernels::dequant_f32(out, data.get(range).unwrap_or(&[])),
        MatrixData::I8 { scales, values } => {
            let scale = scales.get(row).map_or(0.0, f32_le);
            kernels::dequant_i8(out, values.get(range).unwrap_or(&[]), scale);
        }
    }
}

/// Whether the int8 layers run the reference kernel rather than the four-row one (the same
/// bits either way). Measured, int8 MLP names/s: baseline x86-64 (SSE2) 14,018 with the
/// reference and 10,738 with four rows; with AVX2/AVX-512 23,428 and 44,832; on the
/// Cortex-M4F four rows save 19% of the instructions (BENCHMARKS.md).
const I8_REFERENCE_KERNEL: bool = cfg!(all(target_arch = "x86_64", not(target_feature = "avx2")));

/// `out = m x + b` in the encoding of `m`.
fn linear(out: &mut [f32], x: &[f32], m: &Matrix, b: &[F32Le]) {
    match m.data() {
        MatrixData::F32(w) => kernels::linear_f32_x4(out, x, w, b),
        MatrixData::I8 { scales, values } if I8_REFERENCE_KERNEL => kernels::linear_i8(out, x, values, scales, b),
        MatrixData::I8 { scales, values } => kernels::linear_i8_x4(out, x, values, scales, b),
    }
}

/// Caller-owned working memory for one forward pass at a time, carved out of one f32 buffer
/// of [`Model::scratch_words`] words (stack, `static`, or [`ScratchBuf`]). Nothing else in
/// the runtime uses RAM beyond a few stack frames.
#[derive(Debug)]
pub struct Scratch<'b> {
    /// `[block_size]` context ids (oldest first), for `generate` and `nll`.
    pub(crate) ctx: &'b mut [u8],
    /// `[block_size * n_embd]` concatenated embeddings.
    x: &'b mut [f32],
    /// `[n_hidden]` hidden activations.
    h: &'b mut [f32],
    /// `[vocab_size]` logits, then probabilities while sampling.
    pub(crate) logits: &'b mut [f32],
}

impl<'b> Scratch<'b> {
    /// Splits `buf` into the buffers `model` needs; fails if `buf` is too small.
    pub fn new(model: &Model, buf: &'b mut [f32]) -> Result<Self, Error> {
        let h = model.header();
        let need = model.scratch_words();
        if buf.len() < need {
            return Err(Error::ScratchTooSmall { need, have: buf.len() });
        }
        let (ctx_words, rest) = buf.split_at_mut(h.block_size.div_ceil(4));
        let (x, rest) = rest.split_at_mut(h.block_size * h.n_embd);
        let (hidden, rest) = rest.split_at_mut(h.n_hidden);
        let (logits, _) = rest.split_at_mut(h.vocab.len());
        let ctx_bytes: &mut [u8] = bytemuck::cast_slice_mut(ctx_words);
        let (ctx, _) = ctx_bytes.split_at_mut(h.block_size);
        Ok(Self { ctx, x, h: hidden, logits })
    }
}

/// A scratch buffer of `N` f32 words with a fixed size, for a `static` or a stack frame on a
/// microcontroller: size `N` with [`scratch_words`] for the model you embed.
#[derive(Clone, Debug)]
pub struct ScratchBuf<const N: usize> {
    buf: [f32; N],
}

impl<const N: usize> ScratchBuf<N> {
    pub const fn new() -> Self {
        Self { buf: [0.0; N] }
    }

    /// The scratch for `model`, or [`Error::ScratchTooSmall`] if `N` is too small.
    pub fn scratch(&mut self, model: &Model) -> Result<Scratch<'_>, Error> {
        Scratch::new(model, &mut self.buf)
    }
}

impl<const N: usize> Default for ScratchBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Shifts the context window left by one symbol and appends `id`.
pub(crate) fn push_ctx(ctx: &mut [u8], id: u8) {
    if let Some(last) = ctx.len().checked_sub(1) {
        ctx.rotate_left(1);
        if let Some(slot) = ctx.get_mut(last) {
            *slot = id;
        }
    }
}
