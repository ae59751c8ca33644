//! A borrowed, allocation-free form of a recorded session, shared by host and guest suites.

/// Which way a chunk travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    C2s,
    /// Server to client.
    S2c,
}

/// One socket chunk of a recording.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// Milliseconds since the start of the recording.
    pub t_ms: u64,
    /// Connection name.
    pub conn: &'a str,
    /// Direction.
    pub dir: Dir,
    /// Exact bytes.
    pub bytes: &'a [u8],
}

/// One recorded scenario.
#[derive(Debug, Clone, Copy)]
pub struct Transcript<'a> {
    /// Scenario name (file stem).
    pub name: &'a str,
    /// The recording's protocol field (`MSNP8`, `MSNP2-9`).
    pub protocol: &'a str,
    /// Connection names and descriptions.
    pub connections: &'a [(&'a str, &'a str)],
    /// Chunks in recording order.
    pub chunks: &'a [Chunk<'a>],
}

impl<'a> Transcript<'a> {
    /// Iterate over the chunks of one connection in one direction.
    pub fn chunks_of(&self, conn: &'a str, dir: Dir) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.chunks
            .iter()
            .filter(move |c| c.conn == conn && c.dir == dir)
            .map(|c| c.bytes)
    }

    /// Return the description of a connection.
    pub fn description(&self, conn: &str) -> Option<&'a str> {
        self.connections
            .iter()
            .find(|(n, _)| *n == conn)
            .map(|(_, d)| *d)
    }

    /// Query whether a connection is an MSNP connection (notification server or switchboard).
    pub fn is_msnp(&self, conn: &str) -> bool {
        self.description(conn)
            .is_some_and(|d| d.starts_with("Notification Server") || d.starts_with("Switchboard"))
    }

    /// Query whether a connection is a switchboard connection.
    pub fn is_switchboard(&self, conn: &str) -> bool {
        self.description(conn)
            .is_some_and(|d| d.starts_with("Switchboard"))
    }

    /// Return the MSNP version named in a connection's description (`(MSNP8)`).
    pub fn conn_version(&self, conn: &str) -> Option<u8> {
        let d = self.description(conn)?;
        let i = d.find("(MSNP")?;
        let rest = d.get(i.checked_add(5)?..)?;
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest.get(..end)?.parse().ok()
    }
}
