//! Least privilege for live capture: switch to an unprivileged user once the device is open.

use crate::cli::RunArgs;
use nix::unistd::{getegid, geteuid, getgid, getuid, setgid, setgroups, setuid, User};

/// After the capture device is open: when running as root, switch to `-Z USER` (default
/// "nobody" when it exists) unless `--no-drop`. Returns a sentence on failure.
pub fn drop_after_open(a: &RunArgs) -> Result<(), String> {
    if a.no_drop || !getuid().is_root() {
        return Ok(());
    }
    let name = a.user.clone().unwrap_or_else(|| "nobody".to_string());
    let user = match User::from_name(&name) {
        Ok(Some(u)) => u,
        Ok(None) if a.user.is_none() => return Ok(()),
        Ok(None) => return Err(format!("-Z {name}: no such user")),
        Err(e) => return Err(format!("-Z {name}: cannot look the user up: {e}")),
    };
    setgroups(&[user.gid]).map_err(|e| format!("cannot drop supplementary groups: {e}"))?;
    setgid(user.gid).map_err(|e| format!("cannot switch to group {}: {e}", user.gid))?;
    setuid(user.uid).map_err(|e| format!("cannot switch to user {name}: {e}"))?;
    // setuid as root sets the real, effective and saved ids: root cannot come back. Check it.
    if getuid() != user.uid || geteuid() != user.uid || getgid() != user.gid {
        return Err(format!("switching to user {name} did not take effect"));
    }
    if !user.uid.is_root()
        && (setuid(nix::unistd::Uid::from_raw(0)).is_ok() || getegid().as_raw() == 0)
    {
        return Err(format!(
            "root privileges are still reachable after switching to {name}"
        ));
    }
    Ok(())
}
