//! Fuzz the WTVP response path: head parser, header iteration, the headwaiter configuration and
//! the messengerlogin interpretation (with LZPF), fed in two fragments chosen by the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use msntv_messenger::wtvp::headwaiter::MessengerConfig;
use msntv_messenger::wtvp::login::{self, AnswerMode, DelegateLogin, LoginTransport};
use msntv_messenger::wtvp::message::{parse_head, Status};
use msntv_messenger::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let cut = usize::from(split).min(data.len());
    // A prefix must never be complete with a different head than the whole.
    let _ = parse_head(&data[..cut]);
    let Ok(Status::Complete(head)) = parse_head(data) else { return };
    for (n, v) in head.headers() {
        assert!(!n.contains(&b'\n') && !v.contains(&b'\n'));
    }
    let cfg = MessengerConfig::parse(head.headers_raw);
    let _ = cfg.check_sign_in_allowed();
    let body = &data[head.head_len..];
    let mut out = [0u8; 4096];
    if let Ok(p) = login::plain_body(body, head.lzpf, head.content_length, &mut out) {
        for mode in [AnswerMode::Md5, AnswerMode::Ticket] {
            let _ = login::interpret(mode, head.status, head.reason, p);
        }
    }
    let mut d: DelegateLogin<'_, 1024> = DelegateLogin::new("wtv-passport:/messengerlogin", Duration::from_secs(1));
    if d.request_answer(Instant::ZERO, b"ct=1").is_ok() {
        let _ = d.complete(head.status, head.reason, head.headers_raw, body);
        let _ = d.poll_answer();
    }
});
