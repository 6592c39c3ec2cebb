//! What the page asks for: load a model file and describe it, names with their
//! log-probabilities, the next symbol's distribution, a speed run.
//!
//! No serde here: the answers are plain strings and numbers, and the one JSON object (a
//! model's description: strings and integers) is written by [`json_string`]. serde_json and
//! Rust's float formatting were two thirds of the `.wasm` (measured: 274 KB with them, the
//! goal is 64 KB); numbers go to the page as an f64 array it reads in place.

use runtime::{generate, Model, Network, Pcg32, SampleConfig, Scratch, Temperature, MAX_LEN};

/// Most names one [`Playground::generate`] returns (the page lists them all).
pub const MAX_NAMES: u32 = 10_000;
/// Most names one [`Playground::bench`] generates.
pub const MAX_BENCH: u32 = 10_000_000;

/// The model the page has loaded.
#[derive(Debug, Default)]
pub struct Playground {
    /// The bytes of the last model file that decoded; a bad file leaves it in place.
    model: Option<Vec<u8>>,
}

/// The sampling settings for a temperature in thousandths and a top-k.
pub fn config(temperature_milli: u32, top_k: u32) -> SampleConfig {
    SampleConfig { temperature: Temperature::from_milli(temperature_milli), top_k: top_k as usize, max_len: MAX_LEN }
}

/// A temperature as typed, in thousandths, parsed by the runtime exactly as
/// `trainer sample --temperature` parses it.
pub fn temperature(text: &str) -> Result<u32, String> {
    Temperature::parse(text.trim()).map(Temperature::milli).map_err(|e| format!("temperature {text:?}: {e}"))
}

impl Playground {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `bytes` with every check of the runtime and keeps them if they are a model:
    /// its description (JSON), or the decoder's message (the model loaded before stays).
    pub fn load(&mut self, bytes: Vec<u8>) -> Result<String, String> {
        let info = describe(
            &Model::from_bytes(&bytes).map_err(|e| format!("not a model this page can run: {e}"))?,
            bytes.len(),
        );
        self.model = Some(bytes);
        Ok(info)
    }

    fn model(&self) -> Result<Model<'_>, String> {
        let bytes = self.model.as_deref().ok_or("no model loaded: choose one or drop a .mkmr file")?;
        Model::from_bytes(bytes).map_err(|e| e.to_string())
    }

    /// Names `first..first + n` of the list drawn with `seed` (`trainer sample --seed`), each
    /// with `ln p(name)`: the probability of its symbols and then the end of the name, at
    /// temperature 1 (what `trainer eval` sums).
    pub fn generate(
        &self,
        seed: u64,
        first: u64,
        n: u32,
        cfg: &SampleConfig,
        prefix: &str,
    ) -> Result<Vec<(String, f64)>, String> {
        if n > MAX_NAMES {
            return Err(format!("at most {MAX_NAMES} names at once (asked for {n})"));
        }
        let model = self.model()?;
        let names = names(&model, seed, first, n, cfg, prefix)?;
        let mut buf = vec![0; model.scratch_words()];
        let mut scratch = Scratch::new(&model, &mut buf).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let nll = runtime::nll(&model, &mut scratch, [name.as_str()]).map_err(|e| e.to_string())?;
            out.push((name, -nll.sum));
        }
        Ok(out)
    }

    /// The distribution of the symbol after `text` (one probability per vocabulary symbol,
    /// in the file's order).
    pub fn distribution(&self, cfg: &SampleConfig, text: &str) -> Result<Vec<f64>, String> {
        let model = self.model()?;
        let mut buf = vec![0; model.scratch_words()];
        let mut scratch = Scratch::new(&model, &mut buf).map_err(|e| e.to_string())?;
        let mut probs = vec![0.0; model.vocab().len()];
        runtime::next_distribution(&model, &mut scratch, cfg, text, &mut probs).map_err(|e| e.to_string())?;
        Ok(probs)
    }

    /// Generates names `0..n` of `seed` as [`Playground::generate`] does, without their
    /// log-probabilities, for the page to time: the symbols generated (the ends included).
    pub fn bench(&self, seed: u64, n: u32, cfg: &SampleConfig) -> Result<u64, String> {
        if n > MAX_BENCH {
            return Err(format!("at most {MAX_BENCH} names in a speed run (asked for {n})"));
        }
        let model = self.model()?;
        let names = names(&model, seed, 0, n, cfg, "")?;
        Ok(names.iter().map(|n| n.chars().count() as u64 + 1).sum())
    }
}

/// Names `first..first + n` of `seed`: an integer model through the batched path, a float
/// reference one name at a time (the same names: the runtime's tests check it; the float
/// batch kernel would add 30 KB to the `.wasm`).
fn names(
    model: &Model,
    seed: u64,
    first: u64,
    n: u32,
    cfg: &SampleConfig,
    prefix: &str,
) -> Result<Vec<String>, String> {
    let end = first.checked_add(u64::from(n)).ok_or("name index out of range")?;
    if let Ok(net) = model.int() {
        return runtime::names(&net, seed, first..end, cfg, prefix).map_err(|e| e.to_string());
    }
    let net = model.float().map_err(|e| e.to_string())?;
    let mut buf = vec![0; net.scratch_words()];
    let mut scratch = Scratch::new(&net, &mut buf).map_err(|e| e.to_string())?;
    let mut name = heapless::String::<{ 4 * MAX_LEN }>::new();
    (first..end)
        .map(|i| {
            generate(&net, &mut scratch, &mut Pcg32::for_name(seed, i), cfg, prefix, &mut name)
                .map_err(|e| e.to_string())?;
            Ok(name.to_string())
        })
        .collect()
}

/// A model as the page shows it: the header and the card, as the file holds them (JSON).
fn describe(model: &Model, bytes: usize) -> String {
    let h = model.header();
    let layers: Vec<String> =
        h.layers.as_slice().iter().map(|l| format!("{{\"n_merge\":{},\"n_out\":{}}}", l.n_merge, l.n_out)).collect();
    format!(
        "{{\"kind\":{},\"quant\":{},\"vocab\":{},\"block_size\":{},\"n_embd\":{},\"layers\":[{}],\"n_params\":{},\
         \"bytes\":{},\"ram_bytes\":{},\"card\":{}}}",
        json_string(h.kind.name()),
        json_string(h.quant.name()),
        json_string(h.vocab.as_str()),
        h.block_size,
        h.n_embd,
        layers.join(","),
        model.n_params(),
        bytes,
        model.ram_bytes(),
        json_string(h.card),
    )
}

/// `text` as a JSON string literal (RFC 8259: quote, backslash and control characters escaped).
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
