//! Fuzz the LZPF decoder: the first two bytes give the announced length, the rest is the stream.
#![no_main]
use libfuzzer_sys::fuzz_target;
use msntv_messenger::wtvp::lzpf::{decompress, decompress_streaming, LzpfScratch};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let stream = &data[2..];
    let mut out = vec![0u8; 70_000];
    let a = decompress(stream, len, &mut out);
    let mut scratch = Box::new(LzpfScratch::new());
    let mut streamed = Vec::new();
    let b = decompress_streaming(&mut scratch, stream, len, |c| streamed.extend_from_slice(c));
    // Both decoders agree on success, length and bytes.
    assert_eq!(a.is_ok(), b.is_ok());
    if let (Ok(x), Ok(y)) = (a, b) {
        assert_eq!(x, y);
        assert_eq!(&out[..x.out_len], &streamed[..]);
    }
});
