//! MD5 (RFC 1321), written for size: one 64-step loop over two small tables instead of the
//! unrolled rounds of a throughput implementation (about 0.5 KB of code instead of 4 KB). The
//! core hashes a few hundred bytes per sign-in, so speed does not matter here.

/// Per-step additive constants: `floor(abs(sin(i + 1)) * 2^32)` (RFC 1321 §3.4).
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// Left-rotation amounts: row = round, column = step within the round modulo 4.
const S: [[u8; 4]; 4] = [
    [7, 12, 17, 22],
    [5, 9, 14, 20],
    [4, 11, 16, 23],
    [6, 10, 15, 21],
];

/// Incremental MD5 state.
pub struct Md5 {
    state: [u32; 4],
    block: [u8; 64],
    /// Bytes hashed so far (the length field counts bits modulo 2^64).
    len: u64,
}

impl Md5 {
    /// Start a digest.
    pub const fn new() -> Self {
        Md5 {
            state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
            block: [0; 64],
            len: 0,
        }
    }

    /// Hash more bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let at = (self.len % 64) as usize;
            let take = (64 - at).min(data.len());
            let (now, rest) = data.split_at(take);
            if let Some(dst) = self.block.get_mut(at..at + take) {
                dst.copy_from_slice(now);
            }
            self.len = self.len.wrapping_add(take as u64);
            data = rest;
            if at + take == 64 {
                compress(&mut self.state, &self.block);
            }
        }
    }

    /// Finish: pad, hash the length and return the digest; the buffered input is wiped.
    pub fn finish(mut self) -> [u8; 16] {
        let at = (self.len % 64) as usize;
        let (_, tail) = self.block.split_at_mut(at);
        for (k, b) in tail.iter_mut().enumerate() {
            *b = if k == 0 { 0x80 } else { 0 };
        }
        if at >= 56 {
            compress(&mut self.state, &self.block);
            self.block.fill(0);
        }
        let (_, len) = self.block.split_at_mut(56);
        len.copy_from_slice(&self.len.wrapping_mul(8).to_le_bytes());
        compress(&mut self.state, &self.block);
        super::wipe(&mut self.block);
        let mut out = [0u8; 16];
        for (o, s) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&s.to_le_bytes());
        }
        out
    }
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

/// Hash one 64-byte block into the state.
fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut m = [0u32; 16];
    for (w, b) in m.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for (i, k) in K.iter().enumerate() {
        let round = i / 16;
        let (f, g) = match round {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), 5 * i + 1),
            2 => (b ^ c ^ d, 3 * i + 5),
            _ => (c ^ (b | !d), 7 * i),
        };
        let t = a.wrapping_add(f).wrapping_add(*k).wrapping_add(m[g % 16]);
        let r = S[round % 4][i % 4];
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(t.rotate_left(u32::from(r)));
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
    for w in m.iter_mut() {
        *w = core::hint::black_box(0);
    }
}

#[cfg(test)]
mod tests {
    use super::Md5;
    use md5_ref::Digest as _;
    use proptest::prelude::*;

    fn ours(parts: &[&[u8]]) -> [u8; 16] {
        let mut h = Md5::new();
        for p in parts {
            h.update(p);
        }
        h.finish()
    }

    #[test]
    fn rfc1321_vectors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"a", "0cc175b9c0f1b6a831c399e269772661"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, hex) in cases {
            let d = crate::auth::hex_lower(&ours(&[input]));
            assert_eq!(core::str::from_utf8(&d).ok(), Some(*hex));
        }
    }

    proptest! {
        #[test]
        fn matches_reference(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(data.len());
            let (a, b) = data.split_at(cut);
            let theirs: [u8; 16] = md5_ref::Md5::digest(&data).into();
            prop_assert_eq!(ours(&[a, b]), theirs);
        }
    }
}
