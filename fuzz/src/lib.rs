//! Helpers shared by signet's fuzz targets (`fuzz_targets/*.rs`; see README.md).
//!
//! Most targets hand the fuzzer's bytes straight to a parser. A few checks sit behind a
//! signature the fuzzer cannot forge (RFC 3161 tokens, bundles): for those a target also builds
//! one valid input at start-up and lets the fuzzer *edit* it with [`apply_edits`], so the
//! deep checks run on near-valid inputs, and a mutation that still verifies must not change
//! what verification reports.

#![forbid(unsafe_code)]

/// Applies `edits` to a copy of `base`: each 4-byte group `[op, pos_hi, pos_lo, value]` writes
/// (`op % 4 == 0`), inserts (`1`), deletes (`2`) or XORs (`3`) one byte at `pos % len`.
/// A trailing partial group is ignored. At most 64 edits are applied.
pub fn apply_edits(base: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for e in edits.chunks_exact(4).take(64) {
        let pos = usize::from(u16::from_be_bytes([e[1], e[2]]));
        match e[0] % 4 {
            0 if !out.is_empty() => {
                let i = pos % out.len();
                out[i] = e[3];
            }
            1 => {
                let i = pos % (out.len() + 1);
                out.insert(i, e[3]);
            }
            2 if !out.is_empty() => {
                let i = pos % out.len();
                out.remove(i);
            }
            3 if !out.is_empty() => {
                let i = pos % out.len();
                out[i] ^= e[3];
            }
            _ => {}
        }
    }
    out
}

/// The fuzzer's bytes as text, when they are UTF-8 (text parsers take `&str`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

#[cfg(test)]
mod tests {
    use super::apply_edits;

    #[test]
    fn edits() {
        assert_eq!(apply_edits(b"abc", &[0, 0, 1, b'X']), b"aXc");
        assert_eq!(apply_edits(b"abc", &[1, 0, 3, b'd']), b"abcd");
        assert_eq!(apply_edits(b"abc", &[2, 0, 0, 0]), b"bc");
        assert_eq!(apply_edits(b"", &[0, 0, 0, 1, 2, 0, 0, 0, 3, 0, 0, 1]), b"");
        assert_eq!(apply_edits(b"abc", &[0, 0, 1]), b"abc");
    }
}
