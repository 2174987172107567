//! `<app> healthcheck`: asks the running server on this host for the
//! target group's health path, so that a container health check needs no
//! curl in the image.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::settings::Settings;

/// How long the probe waits for an answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The URL the probe asks: the health check path on the address the server
/// listens on, or loopback when it listens on every address.
pub fn probe_url(settings: &Settings) -> String {
    let host = match settings.env.bind {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let authority = std::net::SocketAddr::new(host, settings.env.port);
    format!("http://{authority}{}", settings.app.health_check_path())
}

/// Probes once. `Ok` with the status line when the answer matches the
/// health check's matcher, `Err` with the reason otherwise.
pub async fn probe(settings: &Settings) -> Result<String, String> {
    let url = probe_url(settings);
    let (status, _body) = crate::client::get(&url, PROBE_TIMEOUT)
        .await
        .map_err(|err| err.to_string())?;
    let line = format!("{url}: {status}");
    if settings.app.health_check.matches(status.as_u16()) {
        Ok(line)
    } else {
        Err(format!(
            "{line}, expected {}",
            settings.app.health_check.matcher
        ))
    }
}
