//! Login checks: MD5 answers, TWN ticket verification and `CHL`/`QRY` answers.

use md5::{Digest, Md5};

/// The fixed policy string sent in `USR … TWN S` (the value Escargot sends).
pub const TWN_POLICY: &str = "ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1";

/// Known `QRY` product id / key pairs for the MSNP6–MSNP10 challenge algorithm
/// (reference §7.2; the first is the one MSNP6–MSNP8 clients use).
pub const QRY_KEYS: &[(&str, &str)] = &[
    ("msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5"),
    ("PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR"),
    ("PROD0058#7IL2{QD", "QHDCY@7R1TB6W?5B"),
    ("PROD0061VRRZH@4F", "JXQ6J@TUOGYV@N0M"),
    ("PROD00504RLUG%WL", "I2EBK%PYNLZL5_J4"),
    ("PROD0076ENE8*@AW", "CEQJ8}OE0!WTSWII"),
];

/// Return the lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    let mut s = String::with_capacity(32);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Return the expected `USR … MD5 S` answer: hex MD5 of salt followed by password.
pub fn md5_login_answer(salt: &str, password: &str) -> String {
    md5_hex(format!("{salt}{password}").as_bytes())
}

/// Return the ticket token both the WTVP service and this server derive for a passport:
/// lower-case hex MD5 of `secret` followed by the lower-cased passport. The ticket sent in
/// `USR … TWN S` is `t=<token>&p=<anything>` (or the bare token).
pub fn expected_ticket_token(secret: &str, passport: &str) -> String {
    md5_hex(format!("{secret}{}", passport.to_ascii_lowercase()).as_bytes())
}

/// Return the `QRY` payload expected for `challenge` from a client using `client_id`, if the id
/// is known.
pub fn qry_answer(challenge: &str, client_id: &str) -> Option<String> {
    QRY_KEYS
        .iter()
        .find(|(id, _)| *id == client_id)
        .map(|(_, key)| md5_hex(format!("{challenge}{key}").as_bytes()))
}

/// Decides whether a `USR … TWN S` ticket admits a passport.
pub trait TicketVerifier: Send + Sync {
    /// Query whether `ticket` is valid for `passport`.
    fn verify(&self, passport: &str, ticket: &str) -> bool;
}

impl<F> TicketVerifier for F
where
    F: Fn(&str, &str) -> bool + Send + Sync,
{
    fn verify(&self, passport: &str, ticket: &str) -> bool {
        self(passport, ticket)
    }
}

/// The default verifier: accepts `t=<token>&p=<anything>` or the bare token, where the token is
/// [`expected_ticket_token`] of the configured secret and the passport.
#[derive(Debug, Clone)]
pub struct SecretTicketVerifier {
    secret: String,
}

impl SecretTicketVerifier {
    /// Create a verifier for `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
        }
    }
}

impl TicketVerifier for SecretTicketVerifier {
    fn verify(&self, passport: &str, ticket: &str) -> bool {
        let token = match ticket.strip_prefix("t=") {
            Some(rest) => rest.split('&').next().unwrap_or_default(),
            None => ticket,
        };
        token.eq_ignore_ascii_case(&expected_ticket_token(&self.secret, passport))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_md5_login_answer_matches_escargot_example() {
        assert_eq!(
            md5_login_answer("a11ce5a17a11ce5", "alice123"),
            "09737575b514aacd386bf2db61d46607"
        );
    }

    #[test]
    fn test_qry_vectors() {
        assert_eq!(
            qry_answer("11111111111111111111", "msmsgs@msnmsgr.com").as_deref(),
            Some("3b6666b60157322b6fc6e41a115968f5")
        );
        assert_eq!(
            qry_answer("12345678901234567890", "msmsgs@msnmsgr.com").as_deref(),
            Some("8ba1bb9d6dbf624fee31a2053af5fdd0")
        );
        assert_eq!(qry_answer("1", "nobody"), None);
    }

    #[test]
    fn test_ticket_verifier() {
        let v = SecretTicketVerifier::new("s3cret");
        let tok = expected_ticket_token("s3cret", "Alice@Example.com");
        assert_eq!(tok.len(), 32);
        assert!(v.verify("alice@example.com", &format!("t={tok}&p=whatever")));
        assert!(v.verify("alice@example.com", &tok));
        assert!(!v.verify("bob@example.com", &format!("t={tok}&p=")));
        assert!(!v.verify("alice@example.com", "t=&p="));
        let closure = |p: &str, t: &str| p == "x@y.z" && t == "ok";
        assert!(closure.verify("x@y.z", "ok"));
    }
}
