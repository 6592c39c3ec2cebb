//! The [`Network`] interface that generation and evaluation run on (the float reference and
//! the integer model implement it), and the caller-owned scratch memory.

use crate::format::{Header, Weights};
use crate::rng::Pcg32;
use crate::sampler::SampleConfig;
use crate::vocab::Vocab;
use crate::Error;

/// What [`crate::generate`], [`crate::generate_batch`] and [`crate::nll`] need from a model.
///
/// Working memory comes from the caller as 32-bit words; a context is `[block_size]` symbol
/// ids, oldest first, padded with 0 (the boundary id), all below the vocabulary size.
pub trait Network {
    /// The sampling settings converted to this net's numbers, once per call.
    type Sampler;

    /// The model's header (shape, vocabulary, number format, card).
    fn header(&self) -> &Header<'_>;

    /// Words of working memory for one context (besides the context itself).
    fn work_words(&self) -> usize;

    /// Words of working memory for a batch of `n` contexts.
    fn batch_work_words(&self, n: usize) -> usize;

    /// Checks `cfg` and converts it.
    fn sampler(&self, cfg: &SampleConfig) -> Result<Self::Sampler, Error>;

    /// The next symbol after `ctx`: the forward pass, then one draw from `rng` (none at
    /// temperature 0). `work` has at least [`Network::work_words`] words.
    fn next_symbol(&self, ctx: &[u8], work: &mut [u32], sampler: &Self::Sampler, rng: &mut Pcg32) -> usize;

    /// The forward pass for `ctx`, its `[vocab_size]` logits copied into `logits` (this net's
    /// numbers as words: Q12 `i32` for the integer model, `f32` bits for the float one), for
    /// [`Network::draw`]. `work` as for [`Network::next_symbol`].
    fn logits_into(&self, ctx: &[u8], work: &mut [u32], logits: &mut [u32]);

    /// The symbol [`Network::next_symbol`] draws from `logits` (as [`Network::logits_into`]
    /// wrote them; overwritten): `next_symbol(ctx) == draw(logits_into(ctx))` for the same `rng`.
    fn draw(&self, logits: &mut [u32], sampler: &Self::Sampler, rng: &mut Pcg32) -> usize;

    /// Does to `logits` (as [`Network::draw`] takes them) the work that every draw from them
    /// repeats (the integer model: top-k and the softmax's weights), for many draws from the
    /// same logits with [`Network::draw_prepared`]. By default nothing.
    fn prepare_draw(&self, logits: &mut [u32], sampler: &Self::Sampler) {
        let _ = (logits, sampler);
    }

    /// The symbol [`Network::draw`] gives for the logits `prepared` was made from by
    /// [`Network::prepare_draw`] with the same `sampler`, for the same `rng`. `scratch` has as
    /// many words as `prepared` (by default `prepared` is copied there and drawn from).
    fn draw_prepared(&self, prepared: &[u32], scratch: &mut [u32], sampler: &Self::Sampler, rng: &mut Pcg32) -> usize {
        scratch.copy_from_slice(prepared);
        self.draw(scratch, sampler, rng)
    }

    /// Which model's weights this net reads: the address of its first tensor, or 0 (the
    /// default) for a net whose first distribution must not be cached. Two nets alive at the
    /// same time with the same non-zero key compute the same function: [`Scratch`] keeps the
    /// all-boundary context's logits (the first symbol of every name) under it.
    fn model_key(&self) -> usize {
        0
    }

    /// Words of per-name state for streaming generation (the WaveNet-style hierarchy: a ring
    /// of recent outputs per hidden layer, see [`crate::stream`]); 0 (the default) for a net
    /// that runs the full forward pass at every step.
    fn stream_words(&self) -> usize {
        0
    }

    /// Computes the stream's constants (each layer's output for the all-boundary context)
    /// into `state` (`[stream_words]`), once per scratch. `work` as for [`Network::next_symbol`].
    fn stream_init(&self, state: &mut [u32], work: &mut [u32]) {
        let _ = (state, work);
    }

    /// Starts a name in `state` (made by [`Network::stream_init`]): the all-boundary context.
    fn stream_begin(&self, state: &mut [u32]) {
        let _ = state;
    }

    /// `ctx` has grown by one symbol (its last) since the context `state` has seen: each
    /// hidden layer's newest output into `state`. Contexts must follow each other this way
    /// from [`Network::stream_begin`].
    fn stream_push(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32]) {
        let _ = (ctx, state, work);
    }

    /// [`Network::logits_into`] for the context `state` has seen (`ctx`), from the state:
    /// the same bits, one output per layer computed instead of all of them.
    fn stream_logits(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32], logits: &mut [u32]) {
        let _ = state;
        self.logits_into(ctx, work, logits);
    }

    /// [`Network::next_symbol`] for the context `state` has seen (`ctx`), from the state.
    fn stream_next(
        &self,
        ctx: &[u8],
        state: &mut [u32],
        work: &mut [u32],
        sampler: &Self::Sampler,
        rng: &mut Pcg32,
    ) -> usize {
        let _ = state;
        self.next_symbol(ctx, work, sampler, rng)
    }

    /// [`Network::forward_batch`] for a batch of streaming names: lane `k` of the batch is the
    /// name whose state is `states[slots[k] * stream_words..]` (each made by
    /// [`Network::stream_begin`] and kept up to date), its context `ctx[k * block_size..]`. With
    /// `push`, each state first takes its context's newest symbol ([`Network::stream_push`]).
    /// Leaves the logits for [`Network::sample_batch`], exactly those of `forward_batch`. The
    /// default runs `forward_batch` (a net that does not stream).
    fn stream_batch(&self, ctx: &[u8], n: usize, states: &mut [u32], slots: &[u16], push: bool, work: &mut [u32]) {
        let _ = (states, slots, push);
        self.forward_batch(ctx, n, work);
    }

    /// The distribution [`Network::next_symbol`] draws from after `ctx` with `sampler`, into
    /// `probs` (`[vocab_size]`, symbol id order): at temperature 0 all of it on the symbol
    /// chosen. `work` as for [`Network::next_symbol`].
    fn distribution(&self, ctx: &[u8], work: &mut [u32], sampler: &Self::Sampler, probs: &mut [f64]);

    /// `ln p(target | ctx)` under the distribution the sampler draws from at temperature 1
    /// (no top-k), for evaluation.
    fn log_prob(&self, ctx: &[u8], work: &mut [u32], target: u8) -> f64;

    /// Prepares `work` for a batch of this model's names (tables derived from the weights):
    /// call it once before [`Network::forward_batch`] runs on `work`.
    fn begin_batch(&self, work: &mut [u32]) {
        let _ = work;
    }

    /// The forward pass for `n` contexts at once (`ctx: [n * block_size]`), leaving every
    /// name's logits in `work` for [`Network::sample_batch`]; `work` must have been through
    /// [`Network::begin_batch`] for this model.
    fn forward_batch(&self, ctx: &[u8], n: usize, work: &mut [u32]);

    /// The next symbol of name `k` after [`Network::forward_batch`]: exactly what
    /// [`Network::next_symbol`] gives for that context and `rng`.
    fn sample_batch(&self, work: &mut [u32], n: usize, k: usize, sampler: &Self::Sampler, rng: &mut Pcg32) -> usize;

    /// The symbols in id order.
    fn vocab(&self) -> Vocab<'_> {
        self.header().vocab
    }

    /// Context length in symbols.
    fn block_size(&self) -> usize {
        self.header().block_size
    }

    /// Words of scratch ([`Scratch::new`]) for one context: the context's bytes, the work, the
    /// cached logits of the all-boundary context (`[vocab_size]` words) and the streaming
    /// state ([`Network::stream_words`]).
    fn scratch_words(&self) -> usize {
        self.block_size()
            .div_ceil(4)
            .saturating_add(self.work_words())
            .saturating_add(self.vocab().len())
            .saturating_add(self.stream_words())
    }

    /// Bytes of RAM the forward pass needs besides the stack (the scratch); the weights stay
    /// where the model bytes are (flash on a microcontroller).
    fn ram_bytes(&self) -> usize {
        self.scratch_words().saturating_mul(4)
    }
}

/// The largest activation buffers of a model, in values: `(even, odd)`, where the embedding's
/// output and every even layer's input go to the first, every odd layer's input to the second
/// (the last layer writes the logits).
pub(crate) fn stage_sizes(h: &Header) -> (usize, usize) {
    let mut sizes = (0usize, 0usize);
    for k in 0..h.layers.as_slice().len() {
        let (t, c) = h.stage(k);
        let size = t.saturating_mul(c);
        if k % 2 == 0 {
            sizes.0 = sizes.0.max(size);
        } else {
            sizes.1 = sizes.1.max(size);
        }
    }
    sizes
}

/// The start of lane `k`'s state in a batch's `states` (`per` words each; `slots[k]` is the
/// lane's name).
pub(crate) fn state_at(slots: &[u16], per: usize, k: usize) -> Option<usize> {
    slots.get(k).map(|&slot| usize::from(slot) * per)
}

/// For [`Network::stream_batch`]: `true` when the lanes cannot share one output slot per
/// layer (no streaming state, or names that have seen different numbers of symbols); then
/// each name's state has taken its newest symbol alone (with `push`) and the logits come
/// from the full batched pass, all done here.
pub(crate) fn stream_batch_alone<N: Network + ?Sized>(
    net: &N,
    ctx: &[u8],
    n: usize,
    states: &mut [u32],
    slots: &[u16],
    push: bool,
    work: &mut [u32],
) -> bool {
    let per = net.stream_words();
    let seen = |k: usize| state_at(slots, per, k).and_then(|at| states.get(at..)).map_or(0, crate::stream::seen);
    if per > 0 && n > 0 && (1..n).all(|k| seen(k) == seen(0)) {
        return false;
    }
    if push && per > 0 {
        for (k, ids) in ctx.chunks_exact(net.block_size().max(1)).take(n).enumerate() {
            if let Some(state) = state_at(slots, per, k).and_then(|at| states.get_mut(at..at + per)) {
                net.stream_push(ids, state, work);
            }
        }
        // One name's streaming used `work`, where the batch's tables live.
        net.begin_batch(work);
    }
    net.forward_batch(ctx, n, work);
    true
}

/// [`Network::model_key`] of a net reading `weights`: the address of the first tensor in the
/// model bytes. While a model borrows them, no other model's tensors can start there.
pub(crate) fn weights_key(weights: &Weights) -> usize {
    match weights {
        Weights::Bigram { table, .. } => table.as_ptr() as usize,
        Weights::Mlp { c, .. } => c.as_ptr() as usize,
    }
}

/// Caller-owned working memory for one name at a time, carved out of one buffer of 32-bit
/// words of [`Network::scratch_words`] (stack, `static`, or [`ScratchBuf`]). Nothing else in
/// the runtime uses RAM beyond a few stack frames.
///
/// It also keeps the logits of the all-boundary context, computed once when it is made:
/// every name starts from that context, so [`crate::generate`] draws a name's first symbol
/// from them without a forward pass (the same bits; one step of every name saved). For a
/// WaveNet-style hierarchy it holds the name's streaming state too (a ring of recent outputs
/// per hidden layer, [`crate::stream`]): each step computes one output per layer. Both serve
/// only the net the scratch was made for, which it borrows while it lives; another net of
/// the same size may use the scratch too, and runs the full forward pass at every step.
#[derive(Debug)]
pub struct Scratch<'b> {
    /// `[block_size]` context ids (oldest first), for `generate` and `nll`.
    pub(crate) ctx: &'b mut [u8],
    /// The net's activations and logits.
    pub(crate) work: &'b mut [u32],
    /// The logits of the all-boundary context of the net the scratch was made for.
    first: FirstLogits<'b>,
    /// The streaming state of the name being generated ([`Network::stream_words`]).
    pub(crate) stream: &'b mut [u32],
}

impl<'b> Scratch<'b> {
    /// Splits `buf` into the context and working memory `net` needs and runs `net` once on
    /// the all-boundary context (the first step of every name); fails if `buf` is too small.
    /// `net` stays borrowed while the scratch lives.
    pub fn new<N: Network + ?Sized>(net: &'b N, buf: &'b mut [u32]) -> Result<Self, Error> {
        let need = net.scratch_words();
        if buf.len() < need {
            return Err(Error::ScratchTooSmall { need, have: buf.len() });
        }
        let block_size = net.block_size();
        let too_small = Error::ScratchTooSmall { need, have: buf.len() };
        let (ctx_words, rest) = buf.split_at_mut_checked(block_size.div_ceil(4)).ok_or(too_small)?;
        let (work, rest) = rest.split_at_mut_checked(net.work_words()).ok_or(too_small)?;
        let (first, rest) = rest.split_at_mut_checked(net.vocab().len()).ok_or(too_small)?;
        let (stream, _) = rest.split_at_mut_checked(net.stream_words()).ok_or(too_small)?;
        let ctx_bytes: &mut [u8] = bytemuck::cast_slice_mut(ctx_words);
        let (ctx, _) = ctx_bytes.split_at_mut_checked(block_size).ok_or(too_small)?;
        let first = FirstLogits::new(net, ctx, work, first);
        net.stream_init(stream, work);
        Ok(Self { ctx, work, first, stream })
    }

    /// Whether generation with `net` may stream: the net has streaming state and the scratch
    /// was made for it (its stream's constants are `net`'s).
    pub(crate) fn streams<N: Network + ?Sized>(&self, net: &N) -> bool {
        let words = net.stream_words();
        words > 0 && self.stream.len() >= words && self.first.of(net).is_some()
    }

    /// Whether this scratch fits `net` (made for it or for a model of the same size).
    pub(crate) fn check<N: Network + ?Sized>(&self, net: &N) -> Result<(), Error> {
        if self.ctx.len() == net.block_size() && self.work.len() >= net.work_words() {
            Ok(())
        } else {
            Err(Error::ScratchForOtherModel)
        }
    }

    /// The next symbol after the all-boundary context (the first of a name): from the cached
    /// logits when they are `net`'s, else by the forward pass. `self.ctx` must be all 0.
    pub(crate) fn first_symbol<N: Network + ?Sized>(
        &mut self,
        net: &N,
        sampler: &N::Sampler,
        rng: &mut Pcg32,
    ) -> usize {
        match self.first.of(net).and_then(|first| Some((first, self.work.get_mut(..first.len())?))) {
            Some((first, logits)) => {
                logits.copy_from_slice(first);
                net.draw(logits, sampler, rng)
            }
            None => net.next_symbol(self.ctx, self.work, sampler, rng),
        }
    }
}

/// The logits of the all-boundary context (every name's first step) for the net a scratch
/// was made for, kept under its [`Network::model_key`]: [`Scratch`] and
/// [`crate::BatchScratch`] hold one each.
#[derive(Debug)]
pub(crate) struct FirstLogits<'b> {
    /// `[vocab_size]` words, as [`Network::logits_into`] writes them.
    logits: &'b mut [u32],
    /// [`Network::model_key`] of the net they belong to; 0 for none.
    key: usize,
}

impl<'b> FirstLogits<'b> {
    /// Runs `net` on the all-boundary context (`ctx`, zeroed here) in `work` and keeps the
    /// logits in `logits`.
    pub(crate) fn new<N: Network + ?Sized>(net: &N, ctx: &mut [u8], work: &mut [u32], logits: &'b mut [u32]) -> Self {
        ctx.fill(0);
        net.logits_into(ctx, work, logits);
        Self { logits, key: net.model_key() }
    }

    /// The kept logits, if they are `net`'s.
    pub(crate) fn of<N: Network + ?Sized>(&self, net: &N) -> Option<&[u32]> {
        let ours = self.key != 0 && self.key == net.model_key() && self.logits.len() == net.vocab().len();
        ours.then_some(&*self.logits)
    }
}

/// A scratch buffer of `N` words with a fixed size, for a `static` or a stack frame on a
/// microcontroller: size `N` with [`Network::scratch_words`] for the model you embed.
#[derive(Clone, Debug)]
pub struct ScratchBuf<const N: usize> {
    buf: [u32; N],
}

impl<const N: usize> ScratchBuf<N> {
    /// `N` zeroed words (a `const fn`: a `static` needs no initialisation code).
    pub const fn new() -> Self {
        Self { buf: [0; N] }
    }

    /// The scratch for `net` ([`Scratch::new`]), or [`Error::ScratchTooSmall`] if `N` is too
    /// small.
    pub fn scratch<'s, M: Network + ?Sized>(&'s mut self, net: &'s M) -> Result<Scratch<'s>, Error> {
        Scratch::new(net, &mut self.buf)
    }
}

impl<const N: usize> Default for ScratchBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Shifts the context window left by one symbol and appends `id`.
pub(crate) fn push_ctx(ctx: &mut [u8], id: u8) {
    // A plain loop rather than `rotate_left`/`copy_within`: those call memmove, which is
    // 1.5 KB of flash for a copy of a few bytes.
    let mut next = id;
    for slot in ctx.iter_mut().rev() {
        next = core::mem::replace(slot, next);
    }
}
