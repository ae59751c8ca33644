//! The contact list against a plain model under random operations: a small name pool keeps
//! running out, blocks move and the pool compacts, and every stored string must stay intact.
use msntv_messenger::msnp::ns::contacts::ContactList;
use msntv_messenger::msnp::ns::{Contact, Group, ListError, Phone};
use msntv_messenger::msnp::wire::ListKind;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Add { who: u8, list: u8, name: usize },
    Remove { who: u8, list: u8 },
    Rename { who: u8, name: usize },
    Phone { who: u8, which: u8, len: usize },
    Group { id: u8, name: usize },
    RemoveGroup { id: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..8, 0u8..3, 0usize..40).prop_map(|(who, list, name)| Op::Add { who, list, name }),
        (0u8..8, 0u8..3).prop_map(|(who, list)| Op::Remove { who, list }),
        (0u8..8, 0usize..60).prop_map(|(who, name)| Op::Rename { who, name }),
        (0u8..8, 0u8..3, 0usize..20).prop_map(|(who, which, len)| Op::Phone { who, which, len }),
        (0u8..4, 0usize..30).prop_map(|(id, name)| Op::Group { id, name }),
        (0u8..4).prop_map(|id| Op::RemoveGroup { id }),
    ]
}

#[derive(Debug, Clone, Default)]
struct Model {
    lists: u8,
    name: String,
    phones: [String; 3],
}

fn passport(who: u8) -> Vec<u8> {
    // Varied lengths and case: lookups ignore ASCII case.
    let local = "abcdefgh".repeat(usize::from(who % 3) + 1);
    format!("{}{who}@Example.com", &local[..usize::from(who) + 2]).into_bytes()
}

fn list(k: u8) -> ListKind {
    [ListKind::Forward, ListKind::Allow, ListKind::Block][usize::from(k % 3)]
}

fn text(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pool_keeps_every_string_intact(ops in proptest::collection::vec(op(), 1..80), pool in 60usize..260) {
        let (mut c, mut g) = ([Contact::EMPTY; 6], [Group::EMPTY; 3]);
        let mut n = vec![0u8; pool];
        let mut l = ContactList::new(&mut c, &mut g, &mut n);
        let mut model: BTreeMap<Vec<u8>, Model> = BTreeMap::new();
        let mut groups: BTreeMap<u8, String> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Add { who, list: k, name } => {
                    let p = passport(who);
                    let nm = text('n', name);
                    let wire = nm.replace(' ', "%20");
                    match l.add_to(&p, list(k), Some(wire.as_bytes())) {
                        Ok(_) => {
                            let m = model.entry(p.to_ascii_lowercase()).or_default();
                            m.lists |= list(k).bit();
                            m.name = nm;
                        }
                        Err(ListError::TextDropped) => {
                            let m = model.entry(p.to_ascii_lowercase()).or_default();
                            m.lists |= list(k).bit();
                            m.name = String::new();
                        }
                        Err(ListError::Full) => {
                            prop_assert!(!model.contains_key(&p.to_ascii_lowercase()));
                        }
                        Err(e) => prop_assert!(false, "{e:?}"),
                    }
                }
                Op::Remove { who, list: k } => {
                    let key = passport(who).to_ascii_lowercase();
                    l.remove_from(&passport(who).to_ascii_uppercase(), list(k), None);
                    if let Some(m) = model.get_mut(&key) {
                        m.lists &= !list(k).bit();
                        if m.lists == 0 {
                            model.remove(&key);
                        }
                    }
                }
                Op::Rename { who, name } => {
                    let key = passport(who).to_ascii_lowercase();
                    let nm = text('r', name);
                    if let Some(i) = l.position(&passport(who)) {
                        let r = l.set_friendly_encoded(i, nm.as_bytes());
                        let m = model.get_mut(&key).expect("in the model");
                        m.name = if r.is_ok() { nm.chars().take(129).collect() } else { String::new() };
                    } else {
                        prop_assert!(!model.contains_key(&key));
                    }
                }
                Op::Phone { who, which, len } => {
                    let key = passport(who).to_ascii_lowercase();
                    let ph = text('5', len);
                    let which_p = [Phone::Home, Phone::Work, Phone::Mobile][usize::from(which % 3)];
                    if let Some(i) = l.position(&passport(who)) {
                        let r = l.set_phone_encoded(i, which_p, ph.as_bytes());
                        let m = model.get_mut(&key).expect("in the model");
                        m.phones[usize::from(which % 3)] = if r.is_ok() { ph } else { String::new() };
                    }
                }
                Op::Group { id, name } => {
                    let nm = text('g', name);
                    match l.set_group(u32::from(id), nm.as_bytes()) {
                        Ok(()) => { groups.insert(id, nm); }
                        Err(ListError::TextDropped) => { groups.insert(id, String::new()); }
                        Err(ListError::Full) => prop_assert!(!groups.contains_key(&id)),
                        Err(e) => prop_assert!(false, "{e:?}"),
                    }
                }
                Op::RemoveGroup { id } => {
                    l.remove_group(u32::from(id));
                    groups.remove(&id);
                }
            }
            prop_assert_eq!(l.len(), model.len());
            for (key, m) in &model {
                let c = l.get(key);
                prop_assert!(c.is_some(), "{:?} missing", String::from_utf8_lossy(key));
                let c = c.unwrap();
                prop_assert_eq!(c.passport().to_ascii_lowercase(), key.clone());
                prop_assert_eq!(c.lists(), m.lists);
                prop_assert_eq!(c.friendly(), m.name.as_str());
                for (k, p) in [Phone::Home, Phone::Work, Phone::Mobile].into_iter().enumerate() {
                    prop_assert_eq!(c.phone(p), m.phones[k].as_str());
                }
            }
            prop_assert_eq!(l.groups().count(), groups.len());
            for (id, name) in &groups {
                prop_assert_eq!(l.group(u32::from(*id)).map(|g| g.name().to_string()), Some(name.clone()));
            }
        }
    }
}
