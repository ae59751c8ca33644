//! Guest benchmarks: instruction counts under `qemu -icount shift=0,sleep=off` (see `bench`).
//! Prints one `bench NAME insns=N ops=M` line per workload; `ci/bench` turns them into figures.
#![no_std]
#![no_main]

use msntv_board_malta::{bench, exit, println};
use msntv_messenger::msnp::wire::{Direction, FrameReader, ServerCommand};

/// A received switchboard message as Escargot delivers it (MSNP8, plain text, 1 line of text).
const RX_MSG: &[u8] = b"MSG bob@example.com Bob%20Builder 132\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello from the box!";

static mut RX: FrameReader<4096> = FrameReader::new(Direction::ServerToClient);

#[no_mangle]
extern "C" fn board_main() -> ! {
    let (expected, measured) = bench::calibrate(100_000);
    println!("bench calibrate expected={expected} measured={measured}");

    // Framing + typed parsing of 1,000 received messages fed in network-sized chunks.
    #[allow(static_mut_refs)]
    // SAFETY: single-threaded firmware; the only reference to RX.
    let rx = unsafe { &mut RX };
    let (insns, ok) = bench::measure(|| {
        let mut ok = 0u32;
        for _ in 0..1000 {
            let mut rest = RX_MSG;
            while !rest.is_empty() {
                let n = rx.push(rest);
                rest = rest.get(n..).unwrap_or(&[]);
                while let Some(f) = rx.next_frame() {
                    if let Ok(Ok(ServerCommand::Msg { .. })) = f.map(|f| ServerCommand::parse(&f)) {
                        ok += 1;
                    }
                }
            }
        }
        ok
    });
    println!("bench wire_rx_msg insns={insns} ops={ok}");
    println!(
        "RESULT: {}",
        if ok == 1000 {
            "PASSED"
        } else {
            "FAILED (parse)"
        }
    );
    exit::exit(exit::ExitCode::Passed)
}
