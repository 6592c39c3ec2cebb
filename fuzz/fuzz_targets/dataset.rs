//! Any bytes as a dataset file: parsing returns words or a typed error, never panics; a
//! dataset that loads has a vocabulary covering its words and splits without losing any.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use trainer::data::{Dataset, Examples};

fuzz_target!(|data: &[u8]| {
    let Ok(ds) = Dataset::parse(data, Path::new("fuzz.txt")) else { return };
    assert!(ds.vocab.len() <= 256);
    let s = ds.split(1);
    assert_eq!(s.train.len() + s.dev.len() + s.test.len(), ds.words.len());
    let ex = Examples::build(&s.train, &ds.vocab, 3);
    assert_eq!(ex.x.len(), ex.len() * 3);
});
