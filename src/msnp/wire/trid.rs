//! Transaction ids (reference §2.3, §15.3).

use core::num::NonZeroU32;

/// Identify one client request on a connection; never 0 (the server's own TrID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrId(NonZeroU32);

impl TrId {
    /// Make a TrID from a number; `None` for 0.
    pub const fn new(n: u32) -> Option<Self> {
        match NonZeroU32::new(n) {
            Some(n) => Some(TrId(n)),
            None => None,
        }
    }

    /// The transaction id 1 (a fallback for values already checked to be non-zero).
    pub(crate) const ONE: TrId = TrId(NonZeroU32::MIN);

    /// Return the number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// Parse a decimal TrID; `None` for 0, non-digits, leading zeros or overflow.
    pub fn parse(s: &[u8]) -> Option<Self> {
        super::line::parse_field_u32(s).and_then(Self::new)
    }
}

/// Hand out TrIDs for one connection: 1, 2, 3, … and back to 1 after [`TrIdAllocator::CEILING`].
///
/// TrIDs are per connection (NS and each SB count separately); 0 is never produced because the
/// server uses it for commands it originates. Wrapping long before 2^32 keeps every value well
/// inside what all servers parse (reference §2.3 calls values near 2^32 "unpredictable").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrIdAllocator {
    next: NonZeroU32,
}

impl Default for TrIdAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl TrIdAllocator {
    /// Return the highest TrID handed out before wrapping to 1 (2^31).
    pub const CEILING: u32 = 1 << 31;

    /// Make an allocator whose first TrID is 1.
    pub const fn new() -> Self {
        TrIdAllocator {
            next: NonZeroU32::MIN,
        }
    }

    /// Make an allocator whose first TrID is `first` (1 if `first` is 0 or above the ceiling).
    pub const fn starting_at(first: u32) -> Self {
        match NonZeroU32::new(first) {
            Some(n) if first <= Self::CEILING => TrIdAllocator { next: n },
            _ => Self::new(),
        }
    }

    /// Return the TrID the next call to [`TrIdAllocator::next_trid`] will give.
    pub const fn peek(&self) -> TrId {
        TrId(self.next)
    }

    /// Return a fresh TrID and advance.
    pub fn next_trid(&mut self) -> TrId {
        let t = self.next;
        self.next = if t.get() >= Self::CEILING {
            NonZeroU32::MIN
        } else {
            t.checked_add(1).unwrap_or(NonZeroU32::MIN)
        };
        TrId(t)
    }

    /// Start again at 1 (a new connection).
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn allocator_starts_at_one_and_counts_up() {
        let mut a = TrIdAllocator::new();
        assert_eq!(a.next_trid().get(), 1);
        assert_eq!(a.next_trid().get(), 2);
        assert_eq!(a.peek().get(), 3);
        a.reset();
        assert_eq!(a.next_trid().get(), 1);
    }

    #[test]
    fn allocator_wraps_at_ceiling_to_one_never_zero() {
        let mut a = TrIdAllocator::starting_at(TrIdAllocator::CEILING - 1);
        assert_eq!(a.next_trid().get(), TrIdAllocator::CEILING - 1);
        assert_eq!(a.next_trid().get(), TrIdAllocator::CEILING);
        assert_eq!(a.next_trid().get(), 1);
        assert_eq!(TrIdAllocator::starting_at(0).peek().get(), 1);
        assert_eq!(TrIdAllocator::starting_at(u32::MAX).peek().get(), 1);
    }

    #[test]
    fn parse_rejects_zero_and_junk() {
        assert_eq!(TrId::parse(b"0"), None);
        assert_eq!(TrId::parse(b"x1"), None);
        assert_eq!(TrId::parse(b"4294967295").unwrap().get(), u32::MAX);
    }
}
