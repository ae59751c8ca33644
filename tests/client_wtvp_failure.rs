//! The client facade in WTVP login mode reports a failed service sign-in once: the built-in
//! client's `SignInFailed` becomes the one `Failed` event, and the box can sign in again.
use msntv_messenger::client::{
    Client, ClientConfig, ClientEvent, ClientFailure, ClientStorage, ConnId, LoginMode,
};
use msntv_messenger::msnp::ns::{Contact, Group, NsConfig};
use msntv_messenger::msnp::sb::{ConversationSlot, MessageSlot};
use msntv_messenger::wtvp::client::{BoxIdentity, ClientError as WtvpError};
use msntv_messenger::Instant;

/// Write what is pending and return the events, rendered.
fn drain(c: &mut Client<'_>) -> Vec<String> {
    let mut out = [0u8; 4096];
    while c.poll_transmit(&mut out).is_some() {}
    let mut seen = Vec::new();
    while let Some(e) = c.poll_event() {
        seen.push(match e {
            ClientEvent::Failed(ClientFailure::Wtvp(WtvpError::Refused(status, msg))) => {
                format!("Failed {status} {}", msg.as_str())
            }
            other => format!("{other:?}"),
        });
    }
    seen
}

/// A refused preregister step (found while writing the `wtvp_client` fuzz target: the facade
/// reported the error returned by `handle_input` and then the client's `SignInFailed` too).
#[test]
fn refused_service_sign_in_is_reported_once() {
    let mut contacts = vec![Contact::EMPTY; 8];
    let mut groups = vec![Group::EMPTY; 4];
    let mut names = vec![0u8; 1024];
    let mut convs: Vec<ConversationSlot> = (0..2).map(|_| ConversationSlot::default()).collect();
    let mut msgs: Vec<MessageSlot> = (0..4).map(|_| MessageSlot::default()).collect();
    let identity = BoxIdentity {
        ssid: "81C0FFEE10B00254",
        accept_language: "en-US,en",
        headers: &[("wtv-system-version", "7253")],
        preregister_headers: &[],
        first_incarnation: 1,
    };
    let login = LoginMode::Wtvp {
        host: "10.0.0.1",
        port: 1615,
        identity,
        use_service_server: false,
    };
    let cfg = ClientConfig::new(NsConfig::new("127.0.0.1", 1863, "alice@example.com"), login);
    let storage = ClientStorage {
        contacts: &mut contacts,
        groups: &mut groups,
        names: &mut names,
        conversations: &mut convs,
        messages: &mut msgs,
        message_bytes: Box::leak(Box::new([0u8; 4096])),
        large_frame: Box::leak(
            vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP].into_boxed_slice(),
        ),
    };
    let mut c = Client::new(cfg, storage, Instant::ZERO).expect("client");
    let t = Instant::ZERO;
    c.sign_in(t).expect("sign in");
    assert_eq!(
        drain(&mut c),
        ["Connect { conn: Wtvp, host: \"10.0.0.1\", port: 1615 }"]
    );
    c.handle_connected(t, ConnId::Wtvp).expect("connected");
    assert!(drain(&mut c).is_empty());
    let refusal = b"500 Nope\n\n";
    assert_eq!(c.handle_input(t, ConnId::Wtvp, refusal), Ok(refusal.len()));
    assert_eq!(
        drain(&mut c),
        ["Failed 500 Nope", "Disconnect { conn: Wtvp }"]
    );
    assert_eq!(c.sign_in(t), Ok(()), "the box can sign in again");
}
