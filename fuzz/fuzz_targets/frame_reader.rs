//! Feed a byte stream to the framer in fragments whose sizes the fuzzer chooses, in both
//! directions, and parse every frame. The first byte picks the fragment-size seed; the framer must
//! never panic, never hand out a frame larger than its buffer, and never stall.
#![no_main]
use libfuzzer_sys::fuzz_target;
use msntv_messenger::msnp::wire::{ClientCommand, Direction, FrameReader, ServerCommand};

fuzz_target!(|data: &[u8]| {
    let Some((&sizes, stream)) = data.split_first() else { return };
    for dir in [Direction::ServerToClient, Direction::ClientToServer] {
        let mut r = FrameReader::<256>::new(dir);
        let mut rest = stream;
        let mut step = usize::from(sizes);
        let mut out = [0u8; 512];
        while !rest.is_empty() && !r.is_failed() {
            step = (step.wrapping_mul(31).wrapping_add(7)) % 97 + 1;
            let (part, tail) = rest.split_at(step.min(rest.len()));
            rest = tail;
            let mut part = part;
            loop {
                let n = r.push(part);
                part = &part[n..];
                while let Some(f) = r.next_frame() {
                    let Ok(f) = f else {
                        if r.is_failed() { break } else { continue }
                    };
                    assert!(f.line.len() + f.payload.map_or(0, <[u8]>::len) < 256);
                    if let Ok(c) = ServerCommand::parse(&f) {
                        let _ = c.emit(&mut out);
                    }
                    if let Ok(c) = ClientCommand::parse(&f) {
                        let _ = c.emit(&mut out);
                    }
                }
                if part.is_empty() || r.is_failed() {
                    break;
                }
                assert!(n > 0 || r.buffered() < 256, "reader stalled");
            }
        }
    }
});
