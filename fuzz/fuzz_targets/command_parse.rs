//! Parse one line (up to the first LF; the rest is its payload) as a server and as a client
//! command; whatever parses must re-emit, and the re-emitted bytes must parse to the same command.
#![no_main]
use libfuzzer_sys::fuzz_target;
use msntv_messenger::msnp::wire::{ClientCommand, ServerCommand};

fuzz_target!(|data: &[u8]| {
    let (line, payload) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut out = vec![0u8; data.len() * 2 + 32];
    if let Ok(c) = ServerCommand::parse_parts(line, payload) {
        let n = c.emit(&mut out).expect("parsed command emits");
        assert_eq!(n, c.buffer_len());
        let body = n - c.payload().map_or(0, <[u8]>::len);
        let again = ServerCommand::parse_parts(&out[..body - 2], c.payload()).expect("emitted line parses");
        assert_eq!(again, c);
    }
    if let Ok(c) = ClientCommand::parse_parts(line, payload) {
        let n = c.emit(&mut out).expect("parsed command emits");
        assert_eq!(n, c.buffer_len());
        let body = n - c.payload().map_or(0, <[u8]>::len);
        let again = ClientCommand::parse_parts(&out[..body - 2], c.payload()).expect("emitted line parses");
        assert_eq!(again, c);
    }
});
