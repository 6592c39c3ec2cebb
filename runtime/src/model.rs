//! A decoded model: [`Model`] runs whichever net its file holds.
//!
//! A file holds either the float reference ([`FloatNet`], f32 files) or the integer model
//! ([`IntNet`], int8 files). [`Model`] runs whichever its file holds; code that knows which
//! one it embeds (the firmware) uses the typed net, so the other's code is never linked.

use crate::float::{FloatNet, FloatSampler};
use crate::format::{decode, from_map, Header, ModelMap, Quant, Weights};
use crate::int::{IntNet, IntSampler};
use crate::network::weights_key;
pub use crate::network::{Network, Scratch, ScratchBuf};
use crate::rng::Pcg32;
use crate::sampler::SampleConfig;
use crate::{DecodeError, Error};

/// A validated model borrowing its weights from the bytes it was decoded from.
#[derive(Clone, Debug, PartialEq)]
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

    /// The model a [`ModelMap`] describes, from the very bytes it was computed from: no
    /// parsing and no value checks, only each range checked against the shapes (see
    /// [`ModelMap`] for when this is the right call).
    pub fn from_map(bytes: &'a [u8], map: &ModelMap<'a>) -> Result<Self, DecodeError> {
        let (header, weights) = from_map(bytes, map)?;
        Ok(Self { header, weights })
    }

    /// The weights, borrowed from the model bytes.
    pub fn weights(&self) -> &Weights<'a> {
        &self.weights
    }

    /// Number of parameters (multipliers not counted).
    pub fn n_params(&self) -> usize {
        self.header.n_params()
    }

    /// The tensors in file order, with their names and shapes (for inspection).
    pub fn tensors(&self) -> heapless::Vec<crate::TensorView<'a>, { 1 + 2 * crate::MAX_LAYERS }> {
        crate::format::tensors(&self.header, &self.weights)
    }

    /// The float reference, if this is an f32 file.
    pub fn float(&self) -> Result<FloatNet<'_, 'a>, Error> {
        FloatNet::new(&self.header, &self.weights)
    }

    /// The integer model, if this is an int8 file.
    pub fn int(&self) -> Result<IntNet<'_, 'a>, Error> {
        IntNet::new(&self.header, &self.weights)
    }

    /// The float net of an f32 file, the integer one of an int8 file (the callers check).
    fn float_net(&self) -> FloatNet<'_, 'a> {
        FloatNet::of(&self.header, &self.weights)
    }

    fn int_net(&self) -> IntNet<'_, 'a> {
        IntNet::of(&self.header, &self.weights)
    }
}

/// [`Model`]'s sampler: the one of the net its file holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ModelSampler {
    /// An f32 file's.
    Float(FloatSampler),
    /// An int8 file's.
    Int(IntSampler),
}

/// Runs the net the file holds: every method picks the float or the integer path.
impl Network for Model<'_> {
    type Sampler = ModelSampler;

    fn header(&self) -> &Header<'_> {
        &self.header
    }

    fn work_words(&self) -> usize {
        match self.header.quant {
            Quant::F32 => self.float_net().work_words(),
            Quant::Int8 => self.int_net().work_words(),
        }
    }

    fn batch_work_words(&self, n: usize) -> usize {
        match self.header.quant {
            Quant::F32 => self.float_net().batch_work_words(n),
            Quant::Int8 => self.int_net().batch_work_words(n),
        }
    }

    fn sampler(&self, cfg: &SampleConfig) -> Result<ModelSampler, Error> {
        Ok(match self.header.quant {
            Quant::F32 => ModelSampler::Float(self.float_net().sampler(cfg)?),
            Quant::Int8 => ModelSampler::Int(self.int_net().sampler(cfg)?),
        })
    }

    fn next_symbol(&self, ctx: &[u8], work: &mut [u32], sampler: &ModelSampler, rng: &mut Pcg32) -> usize {
        match sampler {
            ModelSampler::Float(s) => self.float_net().next_symbol(ctx, work, s, rng),
            ModelSampler::Int(s) => self.int_net().next_symbol(ctx, work, s, rng),
        }
    }

    fn logits_into(&self, ctx: &[u8], work: &mut [u32], logits: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().logits_into(ctx, work, logits),
            Quant::Int8 => self.int_net().logits_into(ctx, work, logits),
        }
    }

    fn draw(&self, logits: &mut [u32], sampler: &ModelSampler, rng: &mut Pcg32) -> usize {
        match sampler {
            ModelSampler::Float(s) => self.float_net().draw(logits, s, rng),
            ModelSampler::Int(s) => self.int_net().draw(logits, s, rng),
        }
    }

    fn prepare_draw(&self, logits: &mut [u32], sampler: &ModelSampler) {
        match sampler {
            ModelSampler::Float(s) => self.float_net().prepare_draw(logits, s),
            ModelSampler::Int(s) => self.int_net().prepare_draw(logits, s),
        }
    }

    fn draw_prepared(&self, prepared: &[u32], scratch: &mut [u32], sampler: &ModelSampler, rng: &mut Pcg32) -> usize {
        match sampler {
            ModelSampler::Float(s) => self.float_net().draw_prepared(prepared, scratch, s, rng),
            ModelSampler::Int(s) => self.int_net().draw_prepared(prepared, scratch, s, rng),
        }
    }

    fn model_key(&self) -> usize {
        weights_key(&self.weights)
    }

    fn stream_words(&self) -> usize {
        match self.header.quant {
            Quant::F32 => self.float_net().stream_words(),
            Quant::Int8 => self.int_net().stream_words(),
        }
    }

    fn stream_init(&self, state: &mut [u32], work: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().stream_init(state, work),
            Quant::Int8 => self.int_net().stream_init(state, work),
        }
    }

    fn stream_begin(&self, state: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().stream_begin(state),
            Quant::Int8 => self.int_net().stream_begin(state),
        }
    }

    fn stream_push(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().stream_push(ctx, state, work),
            Quant::Int8 => self.int_net().stream_push(ctx, state, work),
        }
    }

    fn stream_logits(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32], logits: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().stream_logits(ctx, state, work, logits),
            Quant::Int8 => self.int_net().stream_logits(ctx, state, work, logits),
        }
    }

    fn stream_batch(&self, ctx: &[u8], n: usize, states: &mut [u32], slots: &[u16], push: bool, work: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().stream_batch(ctx, n, states, slots, push, work),
            Quant::Int8 => self.int_net().stream_batch(ctx, n, states, slots, push, work),
        }
    }

    fn stream_next(
        &self,
        ctx: &[u8],
        state: &mut [u32],
        work: &mut [u32],
        sampler: &ModelSampler,
        rng: &mut Pcg32,
    ) -> usize {
        match sampler {
            ModelSampler::Float(s) => self.float_net().stream_next(ctx, state, work, s, rng),
            ModelSampler::Int(s) => self.int_net().stream_next(ctx, state, work, s, rng),
        }
    }

    fn distribution(&self, ctx: &[u8], work: &mut [u32], sampler: &ModelSampler, probs: &mut [f64]) {
        match sampler {
            ModelSampler::Float(s) => self.float_net().distribution(ctx, work, s, probs),
            ModelSampler::Int(s) => self.int_net().distribution(ctx, work, s, probs),
        }
    }

    fn log_prob(&self, ctx: &[u8], work: &mut [u32], target: u8) -> f64 {
        match self.header.quant {
            Quant::F32 => self.float_net().log_prob(ctx, work, target),
            Quant::Int8 => self.int_net().log_prob(ctx, work, target),
        }
    }

    fn begin_batch(&self, work: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().begin_batch(work),
            Quant::Int8 => self.int_net().begin_batch(work),
        }
    }

    fn forward_batch(&self, ctx: &[u8], n: usize, work: &mut [u32]) {
        match self.header.quant {
            Quant::F32 => self.float_net().forward_batch(ctx, n, work),
            Quant::Int8 => self.int_net().forward_batch(ctx, n, work),
        }
    }

    fn sample_batch(&self, work: &mut [u32], n: usize, k: usize, sampler: &ModelSampler, rng: &mut Pcg32) -> usize {
        match sampler {
            ModelSampler::Float(s) => self.float_net().sample_batch(work, n, k, s, rng),
            ModelSampler::Int(s) => self.int_net().sample_batch(work, n, k, s, rng),
        }
    }
}
