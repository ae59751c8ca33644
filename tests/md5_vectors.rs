//! MD5 known answers on the host (the same table the guest runs).
use msntv_messenger::selftest::{md5, Tally};

#[test]
fn md5_builtin_vectors_pass_on_host() {
    let mut t = Tally::default();
    md5::run(md5::BUILTIN, &mut t);
    assert_eq!(t.failed, 0);
    assert_eq!(t.passed as usize, md5::BUILTIN.len());
}
