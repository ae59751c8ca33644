//! Single DES (FIPS 46-3) in ECB mode, written for size: bit permutations are walked from the
//! standard tables one bit at a time, and the S-boxes are packed two entries to a byte. WTVSec
//! runs DES on about 20 blocks per sign-in, so a few thousand instructions per block do not
//! matter; the table-driven RustCrypto implementation cost 3.5 KB of code and tables.

/// Initial permutation (1-based input bit for each output bit, MSB first); its inverse is the
/// final permutation.
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Permutation P applied to the S-box outputs.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

/// Permuted choice 1: the 56 key bits that form C and D.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: the 48 bits of C‖D that form a round key.
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of C and D before each round (bit n of the word: round n rotates by 2).
const TWO_SHIFTS: u16 = 0b0111_1110_1111_1100;

/// The eight S-boxes as printed (row-major, 4 rows of 16); only [`SBOX`] reaches the binary.
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// The S-boxes indexed by the raw 6-bit input (row = outer bits, column = inner bits), two
/// entries per byte: entry `v` of box `i` is nibble `v % 2` (high first) of `SBOX[i][v / 2]`.
const SBOX: [[u8; 32]; 8] = pack_sboxes();

const fn pack_sboxes() -> [[u8; 32]; 8] {
    let mut out = [[0u8; 32]; 8];
    let mut i = 0;
    while i < 8 {
        let mut v = 0;
        while v < 64 {
            let row = ((v >> 4) & 2) | (v & 1);
            let col = (v >> 1) & 15;
            let e = S[i][row * 16 + col];
            out[i][v / 2] |= if v % 2 == 0 { e << 4 } else { e };
            v += 1;
        }
        i += 1;
    }
    out
}

/// Gather bits of `src` (MSB-first numbering) into `dst`: output bit `k` is input bit
/// `table[k] - 1`, or with `inverse` output bit `table[k] - 1` is input bit `k`. Output bits go
/// `per_byte` to a byte, in its top bits.
fn permute(src: &[u8], table: &[u8], inverse: bool, per_byte: usize, dst: &mut [u8]) {
    dst.fill(0);
    for (k, &t) in table.iter().enumerate() {
        let t = usize::from(t).wrapping_sub(1);
        let (from, to) = if inverse { (k, t) } else { (t, k) };
        let bit = src.get(from / 8).map_or(0, |b| (b << (from % 8)) & 0x80);
        if let Some(d) = dst.get_mut(to / per_byte) {
            *d |= bit >> (to % per_byte);
        }
    }
}

/// The sixteen round keys, each as eight 6-bit groups (top-aligned in their bytes).
pub struct Des {
    keys: [[u8; 8]; 16],
}

impl Des {
    /// Expand a key (parity bits ignored).
    pub fn new(key: &[u8; 8]) -> Self {
        let mut pc1 = [0u8; 8];
        permute(key, &PC1, false, 8, &mut pc1);
        // C and D: the two 28-bit halves of the 56 permuted bits.
        let cd = u64::from_be_bytes(pc1) >> 8;
        let (mut c, mut d) = ((cd >> 28) as u32, (cd & 0x0fff_ffff) as u32);
        let mut keys = [[0u8; 8]; 16];
        for (round, k) in keys.iter_mut().enumerate() {
            let s = 1 + u32::from((TWO_SHIFTS >> round) & 1);
            let rot = |h: u32| ((h << s) | (h >> (28 - s))) & 0x0fff_ffff;
            c = rot(c);
            d = rot(d);
            let cd = ((u64::from(c) << 28) | u64::from(d)) << 8;
            permute(&cd.to_be_bytes(), &PC2, false, 6, k);
        }
        Des { keys }
    }

    /// Encrypt (`encrypt`) or decrypt one 8-byte block in place.
    pub fn block(&self, block: &mut [u8; 8], encrypt: bool) {
        let mut b = [0u8; 8];
        permute(block, &IP, false, 8, &mut b);
        let [l0, l1, l2, l3, r0, r1, r2, r3] = b;
        let (mut l, mut r) = (
            u32::from_be_bytes([l0, l1, l2, l3]),
            u32::from_be_bytes([r0, r1, r2, r3]),
        );
        for n in 0..16 {
            let k = self.keys.get(if encrypt { n } else { 15 - n });
            let f = feistel(r, k.unwrap_or(&[0; 8]));
            (l, r) = (r, l ^ f);
        }
        let out = ((u64::from(r) << 32) | u64::from(l)).to_be_bytes();
        permute(&out, &IP, true, 8, block);
        crate::auth::wipe(&mut b);
    }
}

impl Drop for Des {
    fn drop(&mut self) {
        for k in self.keys.iter_mut() {
            crate::auth::wipe(k);
        }
    }
}

/// The round function: expand `r` to 48 bits, mix in the round key, S-boxes, then P.
fn feistel(r: u32, key: &[u8; 8]) -> u32 {
    let mut s = 0u32;
    for (i, (k, sbox)) in key.iter().zip(SBOX.iter()).enumerate() {
        // Expansion group i is input bits 4i..4i+5 (1-based, wrapping): rotate bit 4i to the top.
        let e = (r.rotate_left((4 * i as u32 + 31) % 32) >> 26) as u8;
        let v = usize::from((e ^ (k >> 2)) & 63);
        let pair = sbox.get(v / 2).copied().unwrap_or(0);
        let nib = if v % 2 == 0 { pair >> 4 } else { pair & 15 };
        s = (s << 4) | u32::from(nib);
    }
    let mut out = [0u8; 4];
    permute(&s.to_be_bytes(), &P, false, 8, &mut out);
    u32::from_be_bytes(out)
}

#[cfg(test)]
mod tests {
    use super::Des;
    use des_ref::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        // FIPS 81 / the classic worked example, and an all-zero key and block.
        let cases: [([u8; 8], [u8; 8], [u8; 8]); 3] = [
            (
                0x1334_5779_9bbc_dff1u64.to_be_bytes(),
                0x0123_4567_89ab_cdefu64.to_be_bytes(),
                0x85e8_1354_0f0a_b405u64.to_be_bytes(),
            ),
            (
                0x0123_4567_89ab_cdefu64.to_be_bytes(),
                *b"Now is t",
                0x3fa4_0e8a_984d_4815u64.to_be_bytes(),
            ),
            ([0; 8], [0; 8], 0x8ca6_4de9_c1b1_23a7u64.to_be_bytes()),
        ];
        for (key, plain, cipher) in cases {
            let d = Des::new(&key);
            let mut b = plain;
            d.block(&mut b, true);
            assert_eq!(b, cipher);
            d.block(&mut b, false);
            assert_eq!(b, plain);
        }
    }

    proptest! {
        #[test]
        fn matches_reference(key in any::<[u8; 8]>(), block in any::<[u8; 8]>()) {
            let r = des_ref::Des::new(&key.into());
            let ours = Des::new(&key);
            let mut a = block;
            let mut b = block.into();
            ours.block(&mut a, true);
            r.encrypt_block(&mut b);
            prop_assert_eq!(&a[..], &b[..]);
            let mut a = block;
            let mut b = block.into();
            ours.block(&mut a, false);
            r.decrypt_block(&mut b);
            prop_assert_eq!(&a[..], &b[..]);
        }
    }
}
