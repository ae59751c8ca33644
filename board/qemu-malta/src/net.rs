//! TCP/IP for the firmware: smoltcp over the [`Ne2000`] driver, with a fixed set of
//! connection-oriented sockets addressed by [`ConnId`].
//!
//! The shape is what the core's transport hooks want: [`Net::open`] a connection to an IPv4
//! address and port, [`Net::send`] and [`Net::recv`] bytes (both never block and may move fewer
//! bytes than asked, or none), [`Net::state`] to see connecting / established / closed, and
//! [`Net::poll`] with the current time from the caller's main loop to move frames. Nothing here
//! reads a clock or allocates: the socket buffers are statics handed out once
//! ([`Net::new`] fails with [`NetError::AlreadyStarted`] the second time).
//!
//! Addressing is static, for QEMU user-mode networking ([`NetConfig::QEMU_USER`]): the guest is
//! 10.0.2.15/24, the gateway 10.0.2.2 is also the host alias (a connection to 10.0.2.2:PORT
//! reaches the host's 127.0.0.1:PORT), so host services stay bound to loopback.

use crate::ne2000::{self, Ne2000, MAX_FRAME, MAX_RX_FRAME};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration as NetDuration, Instant as NetInstant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};
use static_cell::ConstStaticCell;

/// The number of connections: one notification server, four switchboards, one WTVP service.
pub const SOCKETS: usize = 6;
/// The receive buffer (and so the advertised window) of each connection, in bytes.
pub const RX_BUFFER: usize = 8192;
/// The transmit buffer of each connection, in bytes.
pub const TX_BUFFER: usize = 8192;

/// QEMU user-mode networking's alias for the host's loopback (10.0.2.2).
pub const QEMU_HOST: [u8; 4] = [10, 0, 2, 2];

/// A connection slot, `0..SOCKETS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnId(u8);

impl ConnId {
    /// Name the notification-server connection.
    pub const NS: ConnId = ConnId(0);
    /// Name the WTVP (headwaiter / passport) connection.
    pub const WTVP: ConnId = ConnId(5);

    /// Return slot `index`, or `None` past the last one.
    pub const fn new(index: usize) -> Option<ConnId> {
        if index < SOCKETS {
            Some(ConnId(index as u8))
        } else {
            None
        }
    }

    /// Return the switchboard connection `n` (0..4), or `None` past the last one.
    pub const fn switchboard(n: usize) -> Option<ConnId> {
        if n < 4 {
            Some(ConnId(n as u8 + 1))
        } else {
            None
        }
    }

    /// Return the slot's index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Never opened, or over (including TIME-WAIT): the slot may be opened again.
    Closed,
    /// Opened, waiting for the handshake to finish.
    Connecting,
    /// Both ways open.
    Established,
    /// The peer has finished sending: read what is left, then close (or abort) the slot.
    PeerClosed,
    /// We closed our side; waiting for the peer.
    Closing,
    /// The connection ended without ever being established (refused, unreachable, timed out).
    Failed,
}

/// What went wrong on the network side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// The network card failed.
    Nic(ne2000::Error),
    /// The socket storage was already handed to an earlier [`Net`].
    AlreadyStarted,
    /// The card's station address is not a unicast address.
    BadMac,
    /// The slot is still in use: close or abort it first.
    Busy,
    /// The address or port cannot be connected to (zero port, unspecified address, no route).
    Unaddressable,
    /// The connection is not open for this operation.
    NotConnected,
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NetError::Nic(e) => write!(f, "network card: {e}"),
            NetError::AlreadyStarted => f.write_str("network already started"),
            NetError::BadMac => f.write_str("station address is not unicast"),
            NetError::Busy => f.write_str("connection slot in use"),
            NetError::Unaddressable => f.write_str("address or port not connectable"),
            NetError::NotConnected => f.write_str("connection not open"),
        }
    }
}

impl From<ne2000::Error> for NetError {
    fn from(e: ne2000::Error) -> Self {
        NetError::Nic(e)
    }
}

/// Static IPv4 settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// The guest's address.
    pub ip: [u8; 4],
    /// The network prefix length.
    pub prefix_len: u8,
    /// The default gateway.
    pub gateway: [u8; 4],
}

impl NetConfig {
    /// Name QEMU user-mode networking's fixed addresses: 10.0.2.15/24 via 10.0.2.2.
    pub const QEMU_USER: NetConfig = NetConfig {
        ip: [10, 0, 2, 15],
        prefix_len: 24,
        gateway: QEMU_HOST,
    };
}

/// The socket byte buffers: all zeros, so they land in .bss.
struct Buffers {
    rx: [[u8; RX_BUFFER]; SOCKETS],
    tx: [[u8; TX_BUFFER]; SOCKETS],
}

static BUFFERS: ConstStaticCell<Buffers> = ConstStaticCell::new(Buffers {
    rx: [[0; RX_BUFFER]; SOCKETS],
    tx: [[0; TX_BUFFER]; SOCKETS],
});
static SOCKET_STORAGE: ConstStaticCell<[SocketStorage<'static>; SOCKETS]> =
    ConstStaticCell::new([SocketStorage::EMPTY; SOCKETS]);

/// smoltcp's view of the card: one frame buffer each way.
struct NicDevice {
    nic: Ne2000,
    rx: [u8; MAX_RX_FRAME],
    tx: [u8; MAX_FRAME],
    errors: u32,
}

struct RxToken<'a> {
    frame: &'a [u8],
}

struct TxToken<'a> {
    nic: &'a mut Ne2000,
    buf: &'a mut [u8; MAX_FRAME],
    errors: &'a mut u32,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MAX_FRAME);
        let (frame, _) = self.buf.split_at_mut(len);
        let r = f(frame);
        if self.nic.transmit(frame).is_err() {
            *self.errors = self.errors.wrapping_add(1);
        }
        r
    }
}

impl phy::Device for NicDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: NetInstant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        match self.nic.receive(&mut self.rx) {
            Ok(Some(len)) => {
                let frame = self.rx.get(..len)?;
                Some((
                    RxToken { frame },
                    TxToken {
                        nic: &mut self.nic,
                        buf: &mut self.tx,
                        errors: &mut self.errors,
                    },
                ))
            }
            Ok(None) => None,
            Err(_) => {
                self.errors = self.errors.wrapping_add(1);
                None
            }
        }
    }

    fn transmit(&mut self, _now: NetInstant) -> Option<TxToken<'_>> {
        Some(TxToken {
            nic: &mut self.nic,
            buf: &mut self.tx,
            errors: &mut self.errors,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps.max_burst_size = None;
        caps
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    handle: SocketHandle,
    /// Opened since the last [`Net::abort`] / reopen: a later Closed means it ended.
    opened: bool,
    /// Reached Established at least once since opening.
    established: bool,
}

/// The interface, the card and the fixed connection slots.
pub struct Net {
    dev: NicDevice,
    iface: Interface,
    sockets: SocketSet<'static>,
    slots: [Slot; SOCKETS],
    next_port: u16,
}

/// The first local (ephemeral) port.
const EPHEMERAL_FIRST: u16 = 49152;
/// How long an unanswered connection or unacknowledged data may wait before the socket gives up.
const TCP_TIMEOUT_MS: u64 = 20_000;
/// Keep-alive period. smoltcp measures the timeout from the peer's last segment even on an idle
/// connection, so without probes (which the peer acknowledges) a quiet MSNP connection would be
/// dropped after [`TCP_TIMEOUT_MS`]; with them only a peer that stops answering is.
const TCP_KEEP_ALIVE_MS: u64 = 8_000;

fn to_net(now: msntv_messenger::Instant) -> NetInstant {
    NetInstant::from_millis(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
}

impl Net {
    /// Bring the interface up on `nic` with `config`; `seed` varies TCP sequence numbers and
    /// local ports between boots (the CP0 Count at start is good enough).
    pub fn new(
        nic: Ne2000,
        config: NetConfig,
        seed: u32,
        now: msntv_messenger::Instant,
    ) -> Result<Net, NetError> {
        let mac = EthernetAddress(nic.mac());
        if !mac.is_unicast() {
            return Err(NetError::BadMac);
        }
        // smoltcp panics on a non-unicast interface address: refuse it here instead.
        let ip = Ipv4Address::from(config.ip);
        let gateway = Ipv4Address::from(config.gateway);
        let unicast =
            |a: Ipv4Address| !(a.is_broadcast() || a.is_multicast() || a.is_unspecified());
        if !unicast(ip) || !unicast(gateway) || config.prefix_len > 32 {
            return Err(NetError::Unaddressable);
        }
        let buffers = BUFFERS.try_take().ok_or(NetError::AlreadyStarted)?;
        let storage = SOCKET_STORAGE.try_take().ok_or(NetError::AlreadyStarted)?;
        let mut dev = NicDevice {
            nic,
            rx: [0; MAX_RX_FRAME],
            tx: [0; MAX_FRAME],
            errors: 0,
        };
        let mut cfg = Config::new(HardwareAddress::Ethernet(mac));
        cfg.random_seed = u64::from(seed) | 1;
        let mut iface = Interface::new(cfg, &mut dev, to_net(now));
        let mut addr_ok = true;
        iface.update_ip_addrs(|addrs| {
            addr_ok = addrs
                .push(IpCidr::new(ip.into(), config.prefix_len))
                .is_ok();
        });
        let route_ok = iface.routes_mut().add_default_ipv4_route(gateway).is_ok();
        if !addr_ok || !route_ok {
            return Err(NetError::Unaddressable);
        }
        let mut sockets = SocketSet::new(&mut storage[..]);
        let Buffers { rx, tx } = buffers;
        let mut slots = [Slot {
            handle: SocketHandle::default(),
            opened: false,
            established: false,
        }; SOCKETS];
        for ((slot, r), t) in slots.iter_mut().zip(rx.iter_mut()).zip(tx.iter_mut()) {
            let mut s = tcp::Socket::new(
                tcp::SocketBuffer::new(&mut r[..]),
                tcp::SocketBuffer::new(&mut t[..]),
            );
            s.set_timeout(Some(NetDuration::from_millis(TCP_TIMEOUT_MS)));
            s.set_keep_alive(Some(NetDuration::from_millis(TCP_KEEP_ALIVE_MS)));
            s.set_nagle_enabled(false);
            slot.handle = sockets.add(s);
        }
        let span = u32::from(u16::MAX - EPHEMERAL_FIRST);
        let next_port = EPHEMERAL_FIRST + (seed % span) as u16;
        Ok(Net {
            dev,
            iface,
            sockets,
            slots,
            next_port,
        })
    }

    /// Return the card's station address.
    pub fn mac(&self) -> [u8; 6] {
        self.dev.nic.mac()
    }

    /// Return the card's traffic counters.
    pub fn nic_stats(&self) -> ne2000::Stats {
        self.dev.nic.stats()
    }

    /// Return how many frames failed to move (card errors seen by the interface).
    pub fn nic_errors(&self) -> u32 {
        self.dev.errors
    }

    fn slot(&self, conn: ConnId) -> Option<&Slot> {
        self.slots.get(conn.index())
    }

    fn socket(&mut self, conn: ConnId) -> Option<(&mut tcp::Socket<'static>, &mut Slot)> {
        let slot = self.slots.get_mut(conn.index())?;
        Some((self.sockets.get_mut::<tcp::Socket>(slot.handle), slot))
    }

    fn local_port(&mut self) -> u16 {
        loop {
            let port = self.next_port;
            self.next_port = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            let in_use = self.slots.iter().any(|s| {
                let sock = self.sockets.get::<tcp::Socket>(s.handle);
                sock.is_open() && sock.local_endpoint().is_some_and(|e| e.port == port)
            });
            if !in_use {
                return port;
            }
        }
    }

    /// Start connecting slot `conn` to `ip:port`; watch [`Net::state`] for the outcome.
    pub fn open(&mut self, conn: ConnId, ip: [u8; 4], port: u16) -> Result<(), NetError> {
        let busy = {
            let slot = self.slot(conn).ok_or(NetError::NotConnected)?;
            self.sockets.get::<tcp::Socket>(slot.handle).is_open()
        };
        if busy {
            return Err(NetError::Busy);
        }
        let local = self.local_port();
        let remote = (Ipv4Address::from(ip), port);
        let cx = self.iface.context();
        let slot = self.slots.get_mut(conn.index()).ok_or(NetError::Busy)?;
        let sock = self.sockets.get_mut::<tcp::Socket>(slot.handle);
        sock.connect(cx, remote, local).map_err(|e| match e {
            tcp::ConnectError::InvalidState => NetError::Busy,
            tcp::ConnectError::Unaddressable => NetError::Unaddressable,
        })?;
        slot.opened = true;
        slot.established = false;
        Ok(())
    }

    /// Return where connection `conn` stands.
    pub fn state(&self, conn: ConnId) -> ConnState {
        let Some(slot) = self.slot(conn) else {
            return ConnState::Closed;
        };
        let sock = self.sockets.get::<tcp::Socket>(slot.handle);
        use tcp::State as S;
        match sock.state() {
            S::SynSent | S::SynReceived | S::Listen => ConnState::Connecting,
            S::Established => ConnState::Established,
            S::CloseWait => ConnState::PeerClosed,
            S::FinWait1 | S::FinWait2 | S::Closing | S::LastAck => ConnState::Closing,
            // TIME-WAIT only guards old segments: the slot is free to open again.
            S::TimeWait | S::Closed if sock.can_recv() => ConnState::PeerClosed,
            S::TimeWait => ConnState::Closed,
            S::Closed if slot.opened && !slot.established => ConnState::Failed,
            S::Closed => ConnState::Closed,
        }
    }

    /// Queue up to `data.len()` bytes for sending; return how many were taken (0 if full).
    pub fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, NetError> {
        let (sock, _) = self.socket(conn).ok_or(NetError::NotConnected)?;
        if !sock.may_send() {
            return Err(NetError::NotConnected);
        }
        sock.send_slice(data).map_err(|_| NetError::NotConnected)
    }

    /// Return how many bytes sent on `conn` are not yet acknowledged by the peer.
    pub fn send_pending(&self, conn: ConnId) -> usize {
        self.slot(conn).map_or(0, |s| {
            self.sockets.get::<tcp::Socket>(s.handle).send_queue()
        })
    }

    /// Move received bytes into `buf`; return how many (0 if none yet).
    ///
    /// Returns [`NetError::NotConnected`] once the connection is over and every byte was read.
    pub fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, NetError> {
        let (sock, _) = self.socket(conn).ok_or(NetError::NotConnected)?;
        match sock.recv_slice(buf) {
            Ok(n) => Ok(n),
            Err(tcp::RecvError::Finished) | Err(tcp::RecvError::InvalidState) => {
                Err(NetError::NotConnected)
            }
        }
    }

    /// Close our sending side gracefully (data already queued is still sent).
    pub fn close(&mut self, conn: ConnId) {
        if let Some((sock, _)) = self.socket(conn) {
            sock.close();
        }
    }

    /// Drop the connection at once (sends a reset) and free the slot.
    pub fn abort(&mut self, conn: ConnId) {
        if let Some((sock, slot)) = self.socket(conn) {
            sock.abort();
            slot.opened = false;
            slot.established = false;
        }
    }

    /// Move frames in and out and run TCP timers; return whether any socket changed.
    pub fn poll(&mut self, now: msntv_messenger::Instant) -> bool {
        let changed = self
            .iface
            .poll(to_net(now), &mut self.dev, &mut self.sockets)
            == smoltcp::iface::PollResult::SocketStateChanged;
        for slot in self.slots.iter_mut() {
            if self.sockets.get::<tcp::Socket>(slot.handle).state() == tcp::State::Established {
                slot.established = true;
            }
        }
        changed
    }

    /// Return how long the caller may wait before the next [`Net::poll`] (None: until a frame).
    pub fn poll_delay(
        &mut self,
        now: msntv_messenger::Instant,
    ) -> Option<msntv_messenger::Duration> {
        self.iface
            .poll_delay(to_net(now), &self.sockets)
            .map(|d| msntv_messenger::Duration::from_millis(d.total_millis()))
    }
}
