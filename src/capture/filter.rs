//! BPF capture filters applied in user space to frames read from files (via libpcap's compiler).
//!
//! A filter compiles differently per link type, so one program is compiled for each link type
//! met (a pcapng file may mix several) with `pcap_open_dead` + `pcap_compile`.

use pcap::{BpfProgram, Capture, Linktype};

use super::{CaptureError, LinkType};

/// Link types compiled per filter at most (a cap on the program table).
const MAX_PROGRAMS: usize = 64;

/// A compiled BPF filter, one program per link type.
pub struct BpfFilter {
    expr: String,
    programs: Vec<(LinkType, BpfProgram)>,
    /// Index in `programs` of the link type used last (most files have one).
    last: usize,
}

impl std::fmt::Debug for BpfFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpfFilter")
            .field("expr", &self.expr)
            .field(
                "linktypes",
                &self.programs.iter().map(|p| p.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl BpfFilter {
    /// Checks the filter's syntax (compiling it for Ethernet); None for an empty filter.
    pub fn new(expr: &str) -> Result<Option<BpfFilter>, CaptureError> {
        if expr.trim().is_empty() {
            return Ok(None);
        }
        let mut f = BpfFilter {
            expr: expr.to_string(),
            programs: Vec::new(),
            last: 0,
        };
        f.program_index(LinkType::ETHERNET)?;
        Ok(Some(f))
    }

    /// The filter as given.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// True when the frame passes the filter; compiles the filter for a new link type first.
    pub fn matches(&mut self, linktype: LinkType, data: &[u8]) -> Result<bool, CaptureError> {
        let i = match self.programs.get(self.last) {
            Some((lt, _)) if *lt == linktype => self.last,
            _ => self.program_index(linktype)?,
        };
        self.last = i;
        Ok(self.programs.get(i).is_some_and(|(_, p)| p.filter(data)))
    }

    /// The index of the program for `linktype`, compiling it when new.
    fn program_index(&mut self, linktype: LinkType) -> Result<usize, CaptureError> {
        if let Some(i) = self.programs.iter().position(|(lt, _)| *lt == linktype) {
            return Ok(i);
        }
        if self.programs.len() >= MAX_PROGRAMS {
            return Err(self.error(format!(
                "the capture uses more than {MAX_PROGRAMS} link types"
            )));
        }
        let program = compile(&self.expr, linktype).map_err(|m| self.error(m))?;
        self.programs.push((linktype, program));
        Ok(self.programs.len() - 1)
    }

    fn error(&self, message: String) -> CaptureError {
        CaptureError::Filter {
            filter: self.expr.clone(),
            message,
        }
    }
}

/// Compiles `expr` for `linktype` on a dead libpcap handle.
fn compile(expr: &str, linktype: LinkType) -> Result<BpfProgram, String> {
    let dead = Capture::dead(Linktype(dlt_of(linktype)))
        .map_err(|e| format!("cannot make a libpcap handle for {linktype}: {e}"))?;
    dead.compile(expr, true)
        .map_err(|e| format!("{} (compiling for link type {linktype})", strip(e)))
}

/// The DLT_ value libpcap wants for a LINKTYPE_ value: they differ for a few historical
/// types (values from the tcpdump.org link-layer header type registry, Linux DLT numbering).
fn dlt_of(linktype: LinkType) -> i32 {
    match linktype.0 {
        100 => 11, // ATM_RFC1483
        101 => 12, // RAW
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        106 => 19, // ATM_CLIP
        other => i32::from(other),
    }
}

/// libpcap's message without the crate's "libpcap error: " prefix.
pub(crate) fn strip(e: pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP header (no payload) from 10.0.0.1:40000 to 10.0.0.2:1883.
    fn tcp_frame(dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]); // EtherType IPv4
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        f
    }

    #[test]
    fn matches_per_linktype() {
        let mut f = BpfFilter::new("tcp port 1883").unwrap().unwrap();
        assert!(f.matches(LinkType::ETHERNET, &tcp_frame(1883)).unwrap());
        assert!(!f.matches(LinkType::ETHERNET, &tcp_frame(80)).unwrap());
        // The same IPv4 packet without the Ethernet header, as raw IP.
        assert!(f.matches(LinkType::RAW, &tcp_frame(1883)[14..]).unwrap());
        assert!(!f.matches(LinkType::RAW, &tcp_frame(1883)).unwrap());
    }

    #[test]
    fn invalid_and_empty_filters() {
        assert!(BpfFilter::new("  ").unwrap().is_none());
        match BpfFilter::new("tcp port banana") {
            Err(CaptureError::Filter { filter, message }) => {
                assert_eq!(filter, "tcp port banana");
                assert!(!message.is_empty());
            }
            other => panic!("expected a filter error, got {other:?}"),
        }
    }
}
