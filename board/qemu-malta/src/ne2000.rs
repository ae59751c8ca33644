//! A polled, programmed-I/O driver for the NE2000 (National DP8390 core) as QEMU's `ne2k_isa`
//! emulates it: reset, station address from the PROM, receive ring, transmit, receive.
//!
//! No interrupts and no DMA into RAM: the host CPU moves every byte through the card's 16-bit
//! data port ("remote DMA"). Frames live in the card's 16 KiB packet memory (pages of 256 bytes
//! from 0x40 to 0x80, the classic NE2000 layout, which also fits a real 16 KiB card):
//!
//! | pages | use |
//! |---|---|
//! | 0x40..0x46 | transmit buffer (1536 bytes, one frame) |
//! | 0x46..0x80 | receive ring (58 pages, 14.5 KiB) |
//!
//! **Byte order.** The data port runs in word mode (DCR.WTS): each 16-bit access moves two
//! bytes of packet memory, the lower address in the low byte of the *little-endian* ISA word.
//! What a big-endian MIPS load of that port returns depends on the bus bridge's byte-lane
//! wiring, so [`Ne2000::new`] probes it instead of assuming: it writes four known bytes in byte
//! mode (one byte per access, no ambiguity), reads them back in word mode, and records which
//! half of the CPU's halfword holds the lower address ([`LaneOrder`]). On QEMU malta the result
//! is [`LaneOrder::Natural`] (the first byte is the high half, as in a big-endian memory load).
//!
//! Every failure is a typed [`Error`]; every wait on the card is bounded by a spin count.

use core::ptr::{read_volatile, write_volatile};

/// The ISA I/O base of `ne2k_isa` on QEMU malta (port 0x300 through KSEG1).
pub const MALTA_ISA_BASE: usize = 0xB800_0300;

/// The largest Ethernet frame the driver transmits (header and payload, without FCS).
pub const MAX_FRAME: usize = 1514;

/// The largest frame [`Ne2000::receive`] may return: a real DP8390 stores the 4-byte FCS too.
pub const MAX_RX_FRAME: usize = MAX_FRAME + 4;

/// The shortest frame put on the wire; shorter ones are padded with zeros.
const MIN_FRAME: usize = 60;

// Register offsets, page 0 unless noted.
const CR: usize = 0x00;
const PSTART: usize = 0x01;
const PSTOP: usize = 0x02;
const BNRY: usize = 0x03;
const TPSR: usize = 0x04;
const TBCR0: usize = 0x05;
const TBCR1: usize = 0x06;
const ISR: usize = 0x07;
const RSAR0: usize = 0x08;
const RSAR1: usize = 0x09;
const RBCR0: usize = 0x0a;
const RBCR1: usize = 0x0b;
const RCR: usize = 0x0c;
const TCR: usize = 0x0d;
const DCR: usize = 0x0e;
const IMR: usize = 0x0f;
/// Page 1: physical address registers PAR0..PAR5.
const PAR0: usize = 0x01;
/// Page 1: current receive page (where the card writes the next frame).
const CURR: usize = 0x07;
/// Page 1: multicast filter MAR0..MAR7.
const MAR0: usize = 0x08;
const DATA: usize = 0x10;
const RESET: usize = 0x1f;

// CR bits.
const CR_STP: u8 = 0x01;
const CR_STA: u8 = 0x02;
const CR_TXP: u8 = 0x04;
const CR_RREAD: u8 = 0x08;
const CR_RWRITE: u8 = 0x10;
const CR_NODMA: u8 = 0x20;
const CR_PAGE1: u8 = 0x40;

// ISR bits.
const ISR_PRX: u8 = 0x01;
const ISR_PTX: u8 = 0x02;
const ISR_RXE: u8 = 0x04;
const ISR_TXE: u8 = 0x08;
const ISR_OVW: u8 = 0x10;
const ISR_RDC: u8 = 0x40;
const ISR_RST: u8 = 0x80;

/// DCR: FIFO threshold 8 bytes, normal (not loopback) operation, byte-wide transfers.
const DCR_BYTE: u8 = 0x48;
/// DCR: as [`DCR_BYTE`] with word-wide (16-bit) transfers.
const DCR_WORD: u8 = 0x49;
/// RCR: accept broadcast frames (unicast to our address is always accepted).
const RCR_BROADCAST: u8 = 0x04;
/// RCR: monitor mode (check frames, store none), used while the ring is set up.
const RCR_MONITOR: u8 = 0x20;
/// TCR: internal loopback, used while the card is set up.
const TCR_LOOPBACK: u8 = 0x02;
/// TCR: normal transmit.
const TCR_NORMAL: u8 = 0x00;

const TX_START: u8 = 0x40;
const RX_START: u8 = 0x46;
const RX_STOP: u8 = 0x80;

/// Bound on every busy-wait on the card, in register reads.
const SPIN_LIMIT: u32 = 200_000;

/// What went wrong talking to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The card never acknowledged the reset: nothing answers at the I/O base.
    NoDevice,
    /// The PROM does not carry the NE2000 signature or a usable unicast station address.
    BadProm,
    /// The byte-lane probe read back neither byte order.
    ByteLaneProbe,
    /// A remote-DMA transfer did not complete in time.
    DmaTimeout,
    /// The previous transmission did not finish in time.
    TxTimeout,
    /// The frame is longer than [`MAX_FRAME`] or empty.
    FrameSize,
    /// A receive-ring header was inconsistent; the ring was reset and frames were lost.
    RingCorrupt,
    /// The caller's buffer is shorter than the received frame (the frame was dropped).
    BufferTooSmall,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::NoDevice => "no NE2000 answers at the I/O base",
            Error::BadProm => "NE2000 PROM has no signature or no unicast address",
            Error::ByteLaneProbe => "NE2000 data port byte-lane probe failed",
            Error::DmaTimeout => "NE2000 remote DMA timed out",
            Error::TxTimeout => "NE2000 transmit timed out",
            Error::FrameSize => "frame size out of range",
            Error::RingCorrupt => "NE2000 receive ring corrupt (reset)",
            Error::BufferTooSmall => "receive buffer too small for the frame",
        })
    }
}

/// Which half of a 16-bit data-port access holds the byte at the lower card address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneOrder {
    /// The lower address is the high half (`u16::to_be_bytes` gives memory order).
    Natural,
    /// The lower address is the low half (`u16::to_le_bytes` gives memory order).
    Swapped,
}

/// Counters a caller can print to see how the link is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames received and handed out.
    pub rx_frames: u32,
    /// Frames transmitted.
    pub tx_frames: u32,
    /// Receive errors (bad headers, ring resets, overruns, frames too big for the buffer).
    pub rx_errors: u32,
    /// Transmit errors (timeouts, aborted transmissions).
    pub tx_errors: u32,
}

/// A polled NE2000 at a fixed ISA I/O base.
#[derive(Debug)]
pub struct Ne2000 {
    base: usize,
    mac: [u8; 6],
    lanes: LaneOrder,
    /// The ring page holding the next frame to read.
    next: u8,
    stats: Stats,
}

impl Ne2000 {
    /// Reset and set up the `ne2k_isa` card of QEMU malta at ISA port 0x300.
    pub fn malta() -> Result<Self, Error> {
        Self::new(MALTA_ISA_BASE)
    }

    /// Reset and set up the card at `base` (a KSEG1 address of its ISA I/O window).
    ///
    /// `base` must be the uncached address of an NE2000's 32-port I/O window; the driver only
    /// reads and writes those 32 ports.
    pub fn new(base: usize) -> Result<Self, Error> {
        let mut nic = Ne2000 {
            base,
            mac: [0; 6],
            lanes: LaneOrder::Natural,
            next: RX_START + 1,
            stats: Stats::default(),
        };
        nic.reset()?;
        nic.probe_lanes()?;
        nic.read_prom()?;
        nic.start();
        Ok(nic)
    }

    /// Return the station (MAC) address read from the PROM.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Return the byte-lane order found by the probe.
    pub fn lane_order(&self) -> LaneOrder {
        self.lanes
    }

    /// Return the traffic counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn reg(&self, off: usize) -> usize {
        self.base.wrapping_add(off)
    }

    fn read(&self, off: usize) -> u8 {
        // SAFETY: `base` is the card's I/O window (see `new`); `off` < 0x20 stays inside it.
        unsafe { read_volatile(self.reg(off) as *const u8) }
    }

    fn write(&self, off: usize, val: u8) {
        // SAFETY: as in `read`.
        unsafe { write_volatile(self.reg(off) as *mut u8, val) }
    }

    fn read_word(&self) -> [u8; 2] {
        // SAFETY: the data port is 16 bits wide in word mode; DATA is even, so aligned.
        let w = unsafe { read_volatile(self.reg(DATA) as *const u16) };
        match self.lanes {
            LaneOrder::Natural => w.to_be_bytes(),
            LaneOrder::Swapped => w.to_le_bytes(),
        }
    }

    fn write_word(&self, bytes: [u8; 2]) {
        let w = match self.lanes {
            LaneOrder::Natural => u16::from_be_bytes(bytes),
            LaneOrder::Swapped => u16::from_le_bytes(bytes),
        };
        // SAFETY: as in `read_word`.
        unsafe { write_volatile(self.reg(DATA) as *mut u16, w) }
    }

    fn wait_isr(&self, bit: u8) -> bool {
        for _ in 0..SPIN_LIMIT {
            if self.read(ISR) & bit != 0 {
                return true;
            }
        }
        false
    }

    /// Pulse the reset port, then stop the card with remote DMA idle.
    fn reset(&mut self) -> Result<(), Error> {
        let v = self.read(RESET);
        self.write(RESET, v);
        if !self.wait_isr(ISR_RST) {
            return Err(Error::NoDevice);
        }
        self.write(ISR, 0xff);
        self.write(CR, CR_STP | CR_NODMA);
        // An empty ISA slot reads 0xff everywhere, which also looks like "reset done": the
        // command register must read back what was written.
        if self.read(CR) != CR_STP | CR_NODMA {
            return Err(Error::NoDevice);
        }
        self.write(DCR, DCR_WORD);
        self.write(RBCR0, 0);
        self.write(RBCR1, 0);
        self.write(RCR, RCR_MONITOR);
        self.write(TCR, TCR_LOOPBACK);
        self.write(IMR, 0);
        Ok(())
    }

    /// Program the remote-DMA address and count and start a read or a write.
    fn remote_setup(&self, addr: u16, count: u16, cmd: u8) {
        let [alo, ahi] = addr.to_le_bytes();
        let [clo, chi] = count.to_le_bytes();
        self.write(ISR, ISR_RDC);
        self.write(RBCR0, clo);
        self.write(RBCR1, chi);
        self.write(RSAR0, alo);
        self.write(RSAR1, ahi);
        self.write(CR, CR_STA | cmd);
    }

    fn remote_finish(&self) -> Result<(), Error> {
        let done = self.wait_isr(ISR_RDC);
        self.write(ISR, ISR_RDC);
        self.write(CR, CR_STA | CR_NODMA);
        if done {
            Ok(())
        } else {
            Err(Error::DmaTimeout)
        }
    }

    /// Read `buf.len()` bytes of card memory from `addr` (wrapping at the ring's end).
    fn remote_read(&self, addr: u16, buf: &mut [u8]) -> Result<(), Error> {
        let even = buf.len().checked_add(1).ok_or(Error::FrameSize)? & !1;
        let count = u16::try_from(even).map_err(|_| Error::FrameSize)?;
        self.remote_setup(addr, count, CR_RREAD);
        let mut chunks = buf.chunks_exact_mut(2);
        for pair in &mut chunks {
            pair.copy_from_slice(&self.read_word());
        }
        if let [last] = chunks.into_remainder() {
            *last = self.read_word()[0];
        }
        // Reads of the exact count end the DMA on the card; RDC confirms it.
        self.remote_finish()
    }

    /// Write `data` to card memory at `addr` in word mode (odd tail padded with a zero).
    fn remote_write(&self, addr: u16, data: &[u8]) -> Result<(), Error> {
        let even = data.len().checked_add(1).ok_or(Error::FrameSize)? & !1;
        let count = u16::try_from(even).map_err(|_| Error::FrameSize)?;
        self.remote_setup(addr, count, CR_RWRITE);
        let mut chunks = data.chunks_exact(2);
        for pair in &mut chunks {
            self.write_word([
                pair.first().copied().unwrap_or(0),
                pair.get(1).copied().unwrap_or(0),
            ]);
        }
        if let [last] = chunks.remainder() {
            self.write_word([*last, 0]);
        }
        self.remote_finish()
    }

    /// Find which half of a data-port word holds the lower card address.
    fn probe_lanes(&mut self) -> Result<(), Error> {
        const PATTERN: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
        let addr = u16::from(TX_START) << 8;
        self.write(DCR, DCR_BYTE);
        self.remote_setup(addr, 4, CR_RWRITE);
        for b in PATTERN {
            self.write(DATA, b);
        }
        let wrote = self.remote_finish();
        self.write(DCR, DCR_WORD);
        wrote?;
        self.remote_setup(addr, 4, CR_RREAD);
        // SAFETY: as in `read_word`; raw words here, before the order is known.
        let w0 = unsafe { read_volatile(self.reg(DATA) as *const u16) };
        let w1 = unsafe { read_volatile(self.reg(DATA) as *const u16) };
        self.remote_finish()?;
        self.lanes = match (w0, w1) {
            (0x1234, 0x5678) => LaneOrder::Natural,
            (0x3412, 0x7856) => LaneOrder::Swapped,
            _ => return Err(Error::ByteLaneProbe),
        };
        Ok(())
    }

    /// Read the station address from the PROM (each byte stored twice, signature 'W' 'W').
    fn read_prom(&mut self) -> Result<(), Error> {
        let mut prom = [0u8; 32];
        self.remote_read(0, &mut prom)?;
        let mut mac = [0u8; 6];
        for (i, m) in mac.iter_mut().enumerate() {
            *m = prom.get(i * 2).copied().ok_or(Error::BadProm)?;
        }
        let sig = (prom.get(28).copied(), prom.get(30).copied());
        let unicast = mac[0] & 1 == 0 && mac != [0; 6];
        if sig != (Some(0x57), Some(0x57)) || !unicast {
            return Err(Error::BadProm);
        }
        self.mac = mac;
        Ok(())
    }

    /// Set up the receive ring, station address and filters, and start the card.
    fn start(&mut self) {
        self.write(CR, CR_STP | CR_NODMA);
        self.write(DCR, DCR_WORD);
        self.write(RBCR0, 0);
        self.write(RBCR1, 0);
        self.write(RCR, RCR_MONITOR);
        self.write(TCR, TCR_LOOPBACK);
        self.write(TPSR, TX_START);
        self.write(PSTART, RX_START);
        self.write(PSTOP, RX_STOP);
        self.write(BNRY, RX_START);
        self.write(ISR, 0xff);
        self.write(IMR, 0);
        self.write(CR, CR_PAGE1 | CR_STP | CR_NODMA);
        for (i, b) in self.mac.iter().enumerate() {
            self.write(PAR0 + i, *b);
        }
        for i in 0..8 {
            self.write(MAR0 + i, 0);
        }
        self.next = RX_START + 1;
        self.write(CURR, self.next);
        self.write(CR, CR_STA | CR_NODMA);
        self.write(TCR, TCR_NORMAL);
        self.write(RCR, RCR_BROADCAST);
    }

    /// Read the card's current receive page (page 1 register).
    fn current_page(&self) -> u8 {
        self.write(CR, CR_PAGE1 | CR_STA | CR_NODMA);
        let curr = self.read(CURR);
        self.write(CR, CR_STA | CR_NODMA);
        curr
    }

    /// Query whether a received frame is waiting in the ring.
    pub fn rx_pending(&self) -> bool {
        self.current_page() != self.next
    }

    /// Drop everything in the ring and restart reception (after corruption or an overrun).
    fn restart_ring(&mut self) {
        self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
        self.start();
    }

    /// Move the next received frame into `buf` and return its length, or `Ok(None)` if none.
    ///
    /// A frame longer than `buf` is dropped with [`Error::BufferTooSmall`]; an inconsistent
    /// ring header resets the ring with [`Error::RingCorrupt`].
    pub fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        let isr = self.read(ISR);
        if isr & ISR_OVW != 0 {
            // Polled operation cannot follow the DP8390 overrun dance cycle-exactly; dropping
            // the ring is simple and correct (TCP retransmits).
            self.restart_ring();
            return Err(Error::RingCorrupt);
        }
        if isr & (ISR_PRX | ISR_RXE) != 0 {
            self.write(ISR, isr & (ISR_PRX | ISR_RXE));
        }
        if !self.rx_pending() {
            return Ok(None);
        }
        let page = self.next;
        let mut hdr = [0u8; 4];
        self.remote_read(u16::from(page) << 8, &mut hdr)?;
        let [status, next, lo, hi] = hdr;
        let total = usize::from(u16::from_le_bytes([lo, hi]));
        let len = total.wrapping_sub(4);
        let ring_ok = (RX_START..RX_STOP).contains(&next) && status & 0x01 != 0;
        if !ring_ok || !(14..=MAX_RX_FRAME).contains(&len) {
            self.restart_ring();
            return Err(Error::RingCorrupt);
        }
        let result = match buf.get_mut(..len) {
            Some(dst) => {
                let start = (u16::from(page) << 8).wrapping_add(4);
                self.remote_read(start, dst)?;
                self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
                Ok(Some(len))
            }
            None => {
                self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
                Err(Error::BufferTooSmall)
            }
        };
        self.next = next;
        let bnry = if next == RX_START {
            RX_STOP - 1
        } else {
            next - 1
        };
        self.write(BNRY, bnry);
        result
    }

    /// Send one Ethernet frame (destination, source, type and payload; no FCS).
    pub fn transmit(&mut self, frame: &[u8]) -> Result<(), Error> {
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(Error::FrameSize);
        }
        let mut idle = false;
        for _ in 0..SPIN_LIMIT {
            if self.read(CR) & CR_TXP == 0 {
                idle = true;
                break;
            }
        }
        if !idle {
            self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
            return Err(Error::TxTimeout);
        }
        self.write(ISR, ISR_PTX | ISR_TXE);
        let addr = u16::from(TX_START) << 8;
        let mut short = [0u8; MIN_FRAME];
        let frame = match short.get_mut(..frame.len()) {
            // Pad a runt with zeros to the Ethernet minimum.
            Some(head) => {
                head.copy_from_slice(frame);
                &short[..]
            }
            None => frame,
        };
        self.remote_write(addr, frame)?;
        let len = frame.len();
        let [lo, hi] = u16::try_from(len)
            .map_err(|_| Error::FrameSize)?
            .to_le_bytes();
        self.write(TPSR, TX_START);
        self.write(TBCR0, lo);
        self.write(TBCR1, hi);
        self.write(CR, CR_STA | CR_TXP | CR_NODMA);
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        Ok(())
    }
}
