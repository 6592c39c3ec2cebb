//! UF2, the format the Raspberry Pi boot ROMs (RP2040, RP2350) take by drag-and-drop: 512-byte
//! blocks, each carrying 256 bytes of flash at one address, with magic numbers and a family ID
//! that tells the boot ROM which chip the file is for (Microsoft's UF2 specification,
//! github.com/microsoft/uf2). [`encode`] turns an ELF's loadable segments into such blocks;
//! [`check`] reads a file back and checks every block's header against a family. Hand-written:
//! the format is four constants and a loop, and the crates that write it (elf2uf2-rs) know the
//! RP2040 only.

use anyhow::{ensure, Context, Result};
use object::read::elf::{ElfFile32, ProgramHeader};
use object::Endianness;
use std::collections::BTreeMap;
use std::ops::Range;

/// First magic number of every block.
pub const MAGIC_START0: u32 = 0x0A32_4655;
/// Second magic number of every block.
pub const MAGIC_START1: u32 = 0x9E5D_5157;
/// The magic number that ends every block.
pub const MAGIC_END: u32 = 0x0AB1_6F30;
/// Flag: the block's `file size` word holds a family ID.
pub const FLAG_FAMILY_ID: u32 = 0x0000_2000;
/// Flag: the block is not for the main flash (the boot ROM skips it).
pub const FLAG_NOT_MAIN_FLASH: u32 = 0x0000_0001;
/// Bytes of flash per block (what the boot ROMs of the RP2040 and RP2350 write per block).
pub const PAYLOAD: usize = 256;
/// Bytes per block.
pub const BLOCK: usize = 512;

/// A chip family: its UF2 ID and where its flash lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// The name on the command line.
    pub name: &'static str,
    /// The UF2 family ID the boot ROM checks.
    pub id: u32,
    /// Flash addresses a block may target.
    pub flash: Range32,
}

/// A range of addresses (`Range<u32>` is not `Copy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range32 {
    /// First address.
    pub start: u32,
    /// One past the last address.
    pub end: u32,
}

impl Range32 {
    fn contains(&self, r: &Range<u64>) -> bool {
        u64::from(self.start) <= r.start && r.end <= u64::from(self.end)
    }
}

/// The families this project flashes: the RP2040 (Pico) and the RP2350's Arm cores in
/// secure mode (Pico 2), both with up to 16 MB of flash at `0x1000_0000`.
pub const FAMILIES: [Family; 2] = [
    Family { name: "rp2040", id: 0xE48B_FF56, flash: Range32 { start: 0x1000_0000, end: 0x1100_0000 } },
    Family { name: "rp2350-arm-s", id: 0xE48B_FF59, flash: Range32 { start: 0x1000_0000, end: 0x1100_0000 } },
];

/// The family called `name`.
pub fn family(name: &str) -> Result<Family> {
    FAMILIES.iter().copied().find(|f| f.name == name).with_context(|| {
        let names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
        format!("unknown family {name:?}: use one of {}", names.join(", "))
    })
}

/// The bytes an ELF puts in memory at load: its `PT_LOAD` segments with file contents, at
/// their physical (load) addresses, so that `.data`'s initial values land in flash.
pub fn segments_of_elf(elf: &[u8]) -> Result<Vec<(u64, Vec<u8>)>> {
    let file = ElfFile32::<Endianness>::parse(elf).context("not a 32-bit ELF file")?;
    let endian = file.endian();
    let mut out = Vec::new();
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) != object::elf::PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let data = ph.data(endian, elf).map_err(|_| anyhow::anyhow!("a segment lies outside the ELF file"))?;
        out.push((u64::from(ph.p_paddr(endian)), data.to_vec()));
    }
    ensure!(!out.is_empty(), "the ELF has nothing to load (no PT_LOAD segment with contents)");
    Ok(out)
}

/// The UF2 file for `segments` (address, bytes): one block per 256-byte page they touch, in
/// address order, the rest of each page zero. Every byte must lie in the family's flash.
pub fn encode(segments: &[(u64, Vec<u8>)], family: &Family) -> Result<Vec<u8>> {
    let mut pages: BTreeMap<u64, [u8; PAYLOAD]> = BTreeMap::new();
    for (addr, data) in segments {
        let range = *addr..addr + data.len() as u64;
        ensure!(
            family.flash.contains(&range),
            "bytes at {:#x}..{:#x} lie outside the {} flash ({:#x}..{:#x}): check the board's memory.x",
            range.start,
            range.end,
            family.name,
            family.flash.start,
            family.flash.end
        );
        for (i, &byte) in data.iter().enumerate() {
            let a = addr + i as u64;
            let page = pages.entry(a & !(PAYLOAD as u64 - 1)).or_insert([0; PAYLOAD]);
            page[(a % PAYLOAD as u64) as usize] = byte;
        }
    }
    let n = u32::try_from(pages.len()).context("too many blocks")?;
    let mut out = Vec::with_capacity(pages.len() * BLOCK);
    for (i, (addr, payload)) in pages.iter().enumerate() {
        let words = [
            MAGIC_START0,
            MAGIC_START1,
            FLAG_FAMILY_ID,
            u32::try_from(*addr).context("address above 4 GB")?,
            PAYLOAD as u32,
            i as u32,
            n,
            family.id,
        ];
        for w in words {
            out.extend(w.to_le_bytes());
        }
        out.extend(payload);
        out.resize(out.len() + BLOCK - 32 - PAYLOAD - 4, 0);
        out.extend(MAGIC_END.to_le_bytes());
    }
    Ok(out)
}

/// What [`check`] found in a valid file.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    /// Blocks in the file.
    pub blocks: usize,
    /// Lowest address written.
    pub first: u32,
    /// One past the highest address written.
    pub end: u32,
}

/// Checks every block of a UF2 file for `family`: the three magic numbers, the family flag
/// and ID, a 256-byte payload at a 256-aligned address inside the family's flash, block
/// numbers 0, 1, 2... and the same block count in every block, no address written twice.
pub fn check(bytes: &[u8], family: &Family) -> Result<Summary> {
    ensure!(!bytes.is_empty(), "the file is empty");
    ensure!(bytes.len().is_multiple_of(BLOCK), "{} bytes is not a whole number of 512-byte blocks", bytes.len());
    let n = bytes.len() / BLOCK;
    let (mut first, mut end) = (u32::MAX, 0u32);
    let mut seen = std::collections::BTreeSet::new();
    for (i, block) in bytes.chunks_exact(BLOCK).enumerate() {
        let word = |k: usize| u32::from_le_bytes(block[4 * k..4 * k + 4].try_into().expect("4 bytes"));
        let end_magic = u32::from_le_bytes(block[BLOCK - 4..].try_into().expect("4 bytes"));
        let at = |what: &str| format!("block {i}: {what}");
        ensure!(word(0) == MAGIC_START0 && word(1) == MAGIC_START1, at("bad start magic: not a UF2 block"));
        ensure!(end_magic == MAGIC_END, at("bad end magic"));
        let flags = word(2);
        ensure!(flags & FLAG_NOT_MAIN_FLASH == 0, at("marked not-main-flash"));
        ensure!(flags & FLAG_FAMILY_ID != 0, at("no family ID (flag 0x2000 unset)"));
        ensure!(
            word(7) == family.id,
            at(&format!("family {:#010x}, want {:#010x} ({})", word(7), family.id, family.name))
        );
        let (addr, size) = (word(3), word(4));
        ensure!(size as usize == PAYLOAD, at(&format!("payload of {size} bytes, want {PAYLOAD}")));
        ensure!(addr.is_multiple_of(PAYLOAD as u32), at(&format!("address {addr:#x} not 256-byte aligned")));
        let range = u64::from(addr)..u64::from(addr) + PAYLOAD as u64;
        ensure!(family.flash.contains(&range), at(&format!("address {addr:#x} outside the {} flash", family.name)));
        ensure!(word(5) as usize == i, at(&format!("numbered {}", word(5))));
        ensure!(word(6) as usize == n, at(&format!("says {} blocks, the file has {n}", word(6))));
        ensure!(seen.insert(addr), at(&format!("address {addr:#x} written twice")));
        first = first.min(addr);
        end = end.max(addr + PAYLOAD as u32);
    }
    Ok(Summary { blocks: n, first, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp2040() -> Family {
        family("rp2040").unwrap()
    }

    #[test]
    fn pages_are_padded_and_numbered() {
        // 300 bytes from 0x1000_0010 touch two pages; 4 bytes at 0x1000_1000 a third.
        let segs = vec![(0x1000_0010, (0..300).map(|i| i as u8).collect()), (0x1000_1000, vec![9; 4])];
        let file = encode(&segs, &rp2040()).unwrap();
        assert_eq!(file.len(), 3 * BLOCK);
        let s = check(&file, &rp2040()).unwrap();
        assert_eq!(s, Summary { blocks: 3, first: 0x1000_0000, end: 0x1000_1100 });
        // Block 0's payload: 16 zero bytes, then the data.
        assert_eq!(&file[32..48], &[0; 16]);
        assert_eq!(file[48], 0);
        assert_eq!(file[49], 1);
        // Block 1 starts its payload with byte 240 of the data.
        assert_eq!(file[BLOCK + 32], 240);
    }

    #[test]
    fn outside_flash_is_refused() {
        let err = encode(&[(0x2000_0000, vec![1])], &rp2040()).unwrap_err().to_string();
        assert!(err.contains("outside the rp2040 flash"), "{err}");
    }

    #[test]
    fn damaged_files_are_named() {
        let good = encode(&[(0x1000_0000, vec![7; 600])], &rp2040()).unwrap();
        let fam = rp2040();
        let cases: [(usize, u8, &str); 4] = [
            (0, 0, "bad start magic"),
            (BLOCK - 1, 0, "bad end magic"),
            (28, 0x57, "family"),
            (BLOCK + 20, 5, "numbered 5"),
        ];
        for (at, value, want) in cases {
            let mut bad = good.clone();
            bad[at] = value;
            let err = check(&bad, &fam).unwrap_err().to_string();
            assert!(err.contains(want), "byte {at}: {err}");
        }
        assert!(check(&good[..700], &fam).unwrap_err().to_string().contains("whole number"));
        assert!(check(&[], &fam).unwrap_err().to_string().contains("empty"));
        let other = family("rp2350-arm-s").unwrap();
        assert!(check(&good, &other).unwrap_err().to_string().contains("want 0xe48bff59"));
    }

    #[test]
    fn unknown_family_lists_the_known() {
        let err = family("esp32").unwrap_err().to_string();
        assert!(err.contains("rp2040, rp2350-arm-s"), "{err}");
    }

    #[test]
    fn non_elf_input_is_refused() {
        assert!(segments_of_elf(b"not an elf").unwrap_err().to_string().contains("not a 32-bit ELF"));
    }
}
