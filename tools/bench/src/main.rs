//! Host throughput measurements (`ci/bench`).
//!
//! `msntv-bench wire [MB]`: repeat the server streams of every MSNP connection in the escargot
//! transcripts (`$MSNTV_ESCARGOT_DIR`) to at least `MB` megabytes (default 50), then time
//! framing + typed parsing ([`FrameReader`] fed 64 KiB reads, [`ServerCommand::parse`] on every
//! frame) against a `memchr` scan for line ends over the same bytes, and print both rates and
//! their ratio.
use msntv_messenger::msnp::wire::{Direction, FrameReader, ServerCommand};
use msntv_testdata::escargot;
use std::hint::black_box;
use std::time::Instant;

fn corpus(min_bytes: usize) -> Vec<u8> {
    let mut one = Vec::new();
    for t in escargot::load() {
        for (conn, _) in &t.connections {
            if t.is_msnp(conn) {
                one.extend(t.stream(conn, escargot::Dir::S2c));
            }
        }
    }
    assert!(
        !one.is_empty(),
        "no transcripts in {}",
        msntv_testdata::escargot_dir().display()
    );
    let mut all = Vec::with_capacity(min_bytes + one.len());
    while all.len() < min_bytes {
        all.extend_from_slice(&one);
    }
    all
}

fn frame_and_parse(bytes: &[u8]) -> (usize, usize) {
    let mut r = Box::new(FrameReader::<4096>::new(Direction::ServerToClient));
    let (mut frames, mut errors) = (0usize, 0usize);
    for read in bytes.chunks(64 * 1024) {
        let mut rest = read;
        while !rest.is_empty() {
            let n = r.push(rest);
            rest = &rest[n..];
            while let Some(f) = r.next_frame() {
                match f.map(|f| ServerCommand::parse(&f).map(|c| black_box(c).trid())) {
                    Ok(Ok(_)) => frames += 1,
                    _ => errors += 1,
                }
            }
        }
    }
    (frames, errors)
}

/// The baseline: split the stream into CRLF lines with memchr and hand each line on, which is
/// the least any line framer must do. (A bare `memchr_iter(..).count()` is also printed, but it
/// is a vectorised byte count that never visits a line, so it is no framer's baseline.)
fn crlf_scan(bytes: &[u8]) -> usize {
    let mut lines = 0usize;
    let mut start = 0usize;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let line = &bytes[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        black_box(line);
        lines += 1;
        start = end + 1;
    }
    lines
}

/// Frame only (no command parsing), to split the cost between framer and parser.
fn frame_only(bytes: &[u8]) -> usize {
    let mut r = Box::new(FrameReader::<4096>::new(Direction::ServerToClient));
    let mut frames = 0usize;
    for read in bytes.chunks(64 * 1024) {
        let mut rest = read;
        while !rest.is_empty() {
            let n = r.push(rest);
            rest = &rest[n..];
            while let Some(f) = r.next_frame() {
                if black_box(f).is_ok() {
                    frames += 1;
                }
            }
        }
    }
    frames
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        let v = f();
        best = best.min(t0.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.expect("at least one run"))
}

fn wire(mb: usize) {
    let bytes = corpus(mb * 1_000_000);
    let (t_parse, (frames, errors)) = best_of(5, || frame_and_parse(black_box(&bytes)));
    let (t_scan, lines) = best_of(5, || crlf_scan(black_box(&bytes)));
    let (t_count, _) = best_of(5, || memchr::memchr_iter(b'\n', black_box(&bytes)).count());
    let parse = mbps(bytes.len(), t_parse);
    let scan = mbps(bytes.len(), t_scan);
    println!(
        "corpus: {:.1} MB ({frames} frames, {errors} errors, {lines} LF)",
        bytes.len() as f64 / 1e6
    );
    let (t_frame, _) = best_of(5, || frame_only(black_box(&bytes)));
    println!("frame+parse: {parse:.0} MB/s");
    println!("(framing alone: {:.0} MB/s)", mbps(bytes.len(), t_frame));
    println!("memchr CRLF line scan: {scan:.0} MB/s");
    println!(
        "(memchr LF count alone, no per-line work: {:.0} MB/s)",
        mbps(bytes.len(), t_count)
    );
    println!("ratio: {:.3} (target >= 0.25)", parse / scan);
    assert_eq!(errors, 0, "framing or parse errors in the corpus");
}

mod abi;
mod login;
mod rx;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("wire") => wire(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50)),
        Some("rx") => rx::run(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000)),
        Some("login") => login::run(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1)),
        _ => {
            eprintln!("usage: msntv-bench wire [MB] | msntv-bench rx [N] | msntv-bench login [N]");
            std::process::exit(2);
        }
    }
}
