//! The interface list for `-D`, from libpcap, formatted the way `tcpdump -D` prints it.

use std::fmt::Write as _;
use std::net::IpAddr;

use pcap::{ConnectionStatus, Device};

use super::filter::strip;
use super::CaptureError;

/// Whether an interface is connected to a network (associated, for wireless ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// libpcap does not know.
    Unknown,
    /// Connected (or associated).
    Connected,
    /// Disconnected (or not associated).
    Disconnected,
    /// The notion does not apply (loopback, "any").
    NotApplicable,
}

/// One capturable interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Name to pass to `-i`.
    pub name: String,
    /// libpcap's description, when it has one.
    pub description: Option<String>,
    /// Addresses of the interface.
    pub addresses: Vec<IpAddr>,
    /// A loopback interface.
    pub loopback: bool,
    /// Administratively up.
    pub up: bool,
    /// Running (resources allocated).
    pub running: bool,
    /// A wireless interface.
    pub wireless: bool,
    /// Connection status.
    pub connection: Connection,
}

/// Lists the interfaces libpcap can capture on, in libpcap's order.
pub fn list_devices() -> Result<Vec<DeviceInfo>, CaptureError> {
    let devices = Device::list().map_err(|e| CaptureError::Pcap {
        context: "cannot list capture interfaces".to_string(),
        message: strip(e),
    })?;
    Ok(devices.into_iter().map(from_pcap).collect())
}

/// Converts libpcap's view of a device.
fn from_pcap(d: Device) -> DeviceInfo {
    DeviceInfo {
        loopback: d.flags.is_loopback(),
        up: d.flags.is_up(),
        running: d.flags.is_running(),
        wireless: d.flags.is_wireless(),
        connection: match d.flags.connection_status {
            ConnectionStatus::Unknown => Connection::Unknown,
            ConnectionStatus::Connected => Connection::Connected,
            ConnectionStatus::Disconnected => Connection::Disconnected,
            ConnectionStatus::NotApplicable => Connection::NotApplicable,
        },
        addresses: d.addresses.iter().map(|a| a.addr).collect(),
        description: d.desc,
        name: d.name,
    }
}

/// One line per interface, numbered from 1, as `tcpdump -D` prints them:
/// `1.eth0 [Up, Running, Connected]`, `2.any (description) [Up, Running]`, `4.ifb0 [none]`.
pub fn format_device_list(devices: &[DeviceInfo]) -> String {
    let mut out = String::new();
    for (i, d) in devices.iter().enumerate() {
        let _ = write!(out, "{}.{}", i + 1, d.name);
        if let Some(desc) = &d.description {
            let _ = write!(out, " ({desc})");
        }
        let mut flags: Vec<&str> = Vec::new();
        for (on, name) in [
            (d.up, "Up"),
            (d.running, "Running"),
            (d.wireless, "Wireless"),
            (d.loopback, "Loopback"),
        ] {
            if on {
                flags.push(name);
            }
        }
        match (d.connection, d.wireless) {
            (Connection::Connected, false) => flags.push("Connected"),
            (Connection::Connected, true) => flags.push("Associated"),
            (Connection::Disconnected, false) => flags.push("Disconnected"),
            (Connection::Disconnected, true) => flags.push("Not associated"),
            (Connection::Unknown, true) => flags.push("Association status unknown"),
            (Connection::Unknown, false) => flags.push("Connection status unknown"),
            (Connection::NotApplicable, _) => {}
        }
        if flags.is_empty() {
            out.push_str(" [none]\n");
        } else {
            let _ = writeln!(out, " [{}]", flags.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str, desc: Option<&str>) -> DeviceInfo {
        DeviceInfo {
            name: name.to_string(),
            description: desc.map(str::to_string),
            addresses: Vec::new(),
            loopback: false,
            up: true,
            running: true,
            wireless: false,
            connection: Connection::NotApplicable,
        }
    }

    #[test]
    fn formats_like_tcpdump() {
        let mut eth = dev("eth0", None);
        eth.connection = Connection::Connected;
        let any = dev("any", Some("Pseudo-device that captures on all interfaces"));
        let mut lo = dev("lo", None);
        lo.loopback = true;
        let mut ifb = dev("ifb0", None);
        (ifb.up, ifb.running) = (false, false);
        let text = format_device_list(&[eth, any, lo, ifb]);
        assert_eq!(
            text,
            "1.eth0 [Up, Running, Connected]\n\
             2.any (Pseudo-device that captures on all interfaces) [Up, Running]\n\
             3.lo [Up, Running, Loopback]\n\
             4.ifb0 [none]\n"
        );
    }

    #[test]
    fn matches_tcpdump_on_this_machine() {
        let Ok(out) = std::process::Command::new("tcpdump").arg("-D").output() else {
            eprintln!("tcpdump is not installed: comparison with tcpdump -D skipped");
            return;
        };
        let ours = format_device_list(&list_devices().unwrap());
        assert_eq!(ours, String::from_utf8_lossy(&out.stdout));
    }
}
