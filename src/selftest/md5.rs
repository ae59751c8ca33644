//! MD5 known answers: RFC 1321 digests, the MSNP `USR MD5` login answer and `CHL`/`QRY`.

use super::{check, Reporter};
use crate::auth;

/// One MD5 known answer: `md5(prefix ++ suffix)` must equal `hex`.
#[derive(Debug, Clone, Copy)]
pub struct Md5Vector<'a> {
    /// Name of the case.
    pub name: &'a str,
    /// First part of the input (the challenge).
    pub prefix: &'a [u8],
    /// Second part of the input (the password or client key).
    pub suffix: &'a [u8],
    /// Expected lower-case hex digest.
    pub hex: &'a str,
}

/// Built-in known answers (RFC 1321 appendix A.5 and reference §12.7).
pub const BUILTIN: &[Md5Vector<'static>] = &[
    Md5Vector {
        name: "rfc1321-empty",
        prefix: b"",
        suffix: b"",
        hex: "d41d8cd98f00b204e9800998ecf8427e",
    },
    Md5Vector {
        name: "rfc1321-a",
        prefix: b"a",
        suffix: b"",
        hex: "0cc175b9c0f1b6a831c399e269772661",
    },
    Md5Vector {
        name: "rfc1321-abc",
        prefix: b"abc",
        suffix: b"",
        hex: "900150983cd24fb0d6963f7d28e17f72",
    },
    Md5Vector {
        name: "rfc1321-message-digest",
        prefix: b"message ",
        suffix: b"digest",
        hex: "f96b697d7cb7938d525a2f31aaf161d0",
    },
    Md5Vector {
        name: "rfc1321-alphabet",
        prefix: b"abcdefghijklmnopqrstuvwxyz",
        suffix: b"",
        hex: "c3fcd3d76192e4007dfb496cca67e13b",
    },
    Md5Vector {
        name: "rfc1321-80-digits",
        prefix: b"1234567890123456789012345678901234567890",
        suffix: b"1234567890123456789012345678901234567890",
        hex: "57edf4a22be3c955ac49da2e2107b67a",
    },
    Md5Vector {
        name: "usr-md5-ref-12.7",
        prefix: b"1013928519.693957190",
        suffix: b"password",
        hex: "7f919fab309532df353c901430df36fa",
    },
    Md5Vector {
        name: "usr-md5-escargot-alice",
        prefix: b"a11ce5a17a11ce5",
        suffix: b"alice123",
        hex: "09737575b514aacd386bf2db61d46607",
    },
    Md5Vector {
        name: "chl-qry-1",
        prefix: b"11111111111111111111",
        suffix: b"Q1P7W2E4J9R8U3S5",
        hex: "3b6666b60157322b6fc6e41a115968f5",
    },
    Md5Vector {
        name: "chl-qry-2",
        prefix: b"12345678901234567890",
        suffix: b"Q1P7W2E4J9R8U3S5",
        hex: "8ba1bb9d6dbf624fee31a2053af5fdd0",
    },
    Md5Vector {
        name: "chl-qry-3",
        prefix: b"15570131571988941333",
        suffix: b"Q1P7W2E4J9R8U3S5",
        hex: "8f2f5a91b72102cd28355e9fc9000d6e",
    },
    Md5Vector {
        name: "chl-qry-4",
        prefix: b"22299241447072743325",
        suffix: b"Q1P7W2E4J9R8U3S5",
        hex: "20dba7e6e9817826b9cd5240cc8add99",
    },
];

/// Run every vector through the login-answer and CHL-answer functions.
pub fn run(vectors: &[Md5Vector<'_>], r: &mut impl Reporter) {
    for v in vectors {
        let login = auth::md5_login_response(v.prefix, v.suffix);
        let chl = auth::chl_response(v.prefix, v.suffix);
        let result = check(&login[..] == v.hex.as_bytes(), "md5(prefix+suffix) matches")
            .and_then(|()| check(login == chl, "login and CHL answers agree"))
            .and_then(|()| check(auth::is_md5_hex(&login), "answer is 32 lower-case hex"));
        r.case("md5", v.name, result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selftest::Tally;

    #[test]
    fn builtin_md5_vectors_all_pass() {
        let mut t = Tally::default();
        run(BUILTIN, &mut t);
        assert_eq!((t.passed, t.failed), (BUILTIN.len() as u32, 0));
    }
}
