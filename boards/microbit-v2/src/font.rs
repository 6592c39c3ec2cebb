//! A 5 x 5 LED font: the letters as capitals (clearer than lower case in 25 dots), a box for
//! any other symbol. Rows top to bottom, bit 4 the leftmost column. Hand-drawn: the
//! micro:bit crate has no text, and its font would be the only reason for another crate.

/// The glyphs of `a` to `z`.
const LETTERS: [[u8; 5]; 26] = [
    [0b01110, 0b10001, 0b11111, 0b10001, 0b10001], // A
    [0b11110, 0b10001, 0b11110, 0b10001, 0b11110], // B
    [0b01111, 0b10000, 0b10000, 0b10000, 0b01111], // C
    [0b11110, 0b10001, 0b10001, 0b10001, 0b11110], // D
    [0b11111, 0b10000, 0b11110, 0b10000, 0b11111], // E
    [0b11111, 0b10000, 0b11110, 0b10000, 0b10000], // F
    [0b01111, 0b10000, 0b10011, 0b10001, 0b01111], // G
    [0b10001, 0b10001, 0b11111, 0b10001, 0b10001], // H
    [0b11111, 0b00100, 0b00100, 0b00100, 0b11111], // I
    [0b11111, 0b00010, 0b00010, 0b10010, 0b01100], // J
    [0b10010, 0b10100, 0b11000, 0b10100, 0b10010], // K
    [0b10000, 0b10000, 0b10000, 0b10000, 0b11111], // L
    [0b10001, 0b11011, 0b10101, 0b10001, 0b10001], // M
    [0b10001, 0b11001, 0b10101, 0b10011, 0b10001], // N
    [0b01110, 0b10001, 0b10001, 0b10001, 0b01110], // O
    [0b11110, 0b10001, 0b11110, 0b10000, 0b10000], // P
    [0b01110, 0b10001, 0b10101, 0b10010, 0b01101], // Q
    [0b11110, 0b10001, 0b11110, 0b10010, 0b10001], // R
    [0b01111, 0b10000, 0b01110, 0b00001, 0b11110], // S
    [0b11111, 0b00100, 0b00100, 0b00100, 0b00100], // T
    [0b10001, 0b10001, 0b10001, 0b10001, 0b01110], // U
    [0b10001, 0b10001, 0b10001, 0b01010, 0b00100], // V
    [0b10001, 0b10001, 0b10101, 0b11011, 0b10001], // W
    [0b10001, 0b01010, 0b00100, 0b01010, 0b10001], // X
    [0b10001, 0b01010, 0b00100, 0b00100, 0b00100], // Y
    [0b11111, 0b00010, 0b00100, 0b01000, 0b11111], // Z
];

/// What a symbol the font does not have looks like.
const BOX: [u8; 5] = [0b00000, 0b01110, 0b01010, 0b01110, 0b00000];

/// The glyph of `c` (letters in either case; a space is blank).
pub fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_lowercase() {
        l @ 'a'..='z' => LETTERS[(l as u8 - b'a') as usize],
        ' ' => [0; 5],
        _ => BOX,
    }
}

/// Column `x` (0 = leftmost) of a text drawn glyph after glyph, one blank column after each,
/// as five dots top to bottom (bit 4 = top row); blank past the end.
pub fn column(text: &str, x: usize) -> u8 {
    let Some(c) = text.chars().nth(x / 6) else { return 0 };
    let col = x % 6;
    if col == 5 {
        return 0;
    }
    glyph(c).iter().enumerate().fold(0, |acc, (row, bits)| acc | (((bits >> (4 - col)) & 1) << (4 - row)))
}
