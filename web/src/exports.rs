//! The `.wasm`'s exports: plain functions over numbers and bytes, so the page needs no
//! generated glue (no wasm-bindgen, no npm). The page writes a model file or a text (a
//! prefix, a temperature) into the buffer [`input`] hands out and calls one function with
//! numbers; it returns a count, or -1 for an error. The answer's text (a description, names
//! one per line, or the error's message) is at [`output`] ([`output_len`] bytes), its numbers
//! (log-probabilities, probabilities) at [`values`] as f64.
//!
//! `#[no_mangle]` is an unsafe attribute (the symbol's name is global), which is all the
//! workspace's `unsafe_code` lint flags here: this file has no `unsafe` block.
#![allow(unsafe_code)]

use crate::{config, temperature as parse_temperature, Playground};
use std::cell::RefCell;

/// The page's model, the buffer it writes into, and the last answer.
#[derive(Debug, Default)]
struct State {
    playground: Playground,
    input: Vec<u8>,
    output: String,
    values: Vec<f64>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Runs `f` on the state with the input as text; its answer becomes the output (a count and
/// text, or an error's message and -1).
fn answer(f: impl FnOnce(&mut Playground, &str, &mut Vec<f64>) -> Result<(i32, String), String>) -> i32 {
    STATE.with_borrow_mut(|s| {
        s.values.clear();
        let input = std::mem::take(&mut s.input);
        let result = match std::str::from_utf8(&input) {
            Ok(text) => f(&mut s.playground, text, &mut s.values),
            Err(_) => Err("the text is not UTF-8".to_string()),
        };
        let (count, text) = result.unwrap_or_else(|e| (-1, e));
        s.output = text;
        count
    })
}

/// The address of a buffer of `len` bytes for the next call's input; valid until that call.
#[no_mangle]
pub extern "C" fn input(len: usize) -> *mut u8 {
    STATE.with_borrow_mut(|s| {
        s.input.clear();
        s.input.resize(len, 0);
        s.input.as_mut_ptr()
    })
}

/// Loads the model file in the input: 1 and its description (JSON), or -1 and the decoder's
/// message (the model loaded before stays).
#[no_mangle]
pub extern "C" fn load() -> i32 {
    STATE.with_borrow_mut(|s| {
        let bytes = std::mem::take(&mut s.input);
        let (count, text) = match s.playground.load(bytes) {
            Ok(info) => (1, info),
            Err(e) => (-1, e),
        };
        s.output = text;
        count
    })
}

/// The temperature typed in the input, in thousandths, or -1 and why it is not one.
#[no_mangle]
pub extern "C" fn temperature() -> i32 {
    answer(|_, text, _| {
        let milli = parse_temperature(text)?;
        Ok((i32::try_from(milli).unwrap_or(-1), String::new()))
    })
}

/// Names `first..first + n` of `seed`, every one starting with the prefix in the input: the
/// count, the names one per line, their log-probabilities as values.
#[no_mangle]
pub extern "C" fn generate(seed: u64, first: u64, n: u32, temperature_milli: u32, top_k: u32) -> i32 {
    answer(|p, prefix, values| {
        let named = p.generate(seed, first, n, &config(temperature_milli, top_k), prefix)?;
        values.extend(named.iter().map(|(_, logp)| *logp));
        let names: Vec<&str> = named.iter().map(|(name, _)| name.as_str()).collect();
        Ok((i32::try_from(named.len()).unwrap_or(i32::MAX), names.join("\n")))
    })
}

/// The distribution of the symbol after the text in the input: the vocabulary's size, one
/// probability per symbol as values.
#[no_mangle]
pub extern "C" fn distribution(temperature_milli: u32, top_k: u32) -> i32 {
    answer(|p, text, values| {
        *values = p.distribution(&config(temperature_milli, top_k), text)?;
        Ok((i32::try_from(values.len()).unwrap_or(i32::MAX), String::new()))
    })
}

/// Names `0..n` of `seed` for the page to time: the symbols generated (one value).
#[no_mangle]
pub extern "C" fn bench(seed: u64, n: u32, temperature_milli: u32, top_k: u32) -> i32 {
    answer(|p, _, values| {
        let symbols = p.bench(seed, n, &config(temperature_milli, top_k))?;
        values.push(symbols as f64);
        Ok((1, String::new()))
    })
}

/// The address of the last answer's text.
#[no_mangle]
pub extern "C" fn output() -> *const u8 {
    STATE.with_borrow(|s| s.output.as_ptr())
}

/// The length in bytes of the last answer's text.
#[no_mangle]
pub extern "C" fn output_len() -> usize {
    STATE.with_borrow(|s| s.output.len())
}

/// The address of the last answer's numbers (f64).
#[no_mangle]
pub extern "C" fn values() -> *const f64 {
    STATE.with_borrow(|s| s.values.as_ptr())
}
