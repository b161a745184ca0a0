//! Login throttling, persisted in SQLite and changed inside the login transaction:
//! accounts lock after consecutive failures for a delay that doubles with each lockout;
//! client addresses are capped at a number of failures per window.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::engine::{Record, Tx};
use crate::crypto::random;
use crate::store::{Conn, ThrottleState as State};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::config::Config;
use crate::values::error::Result;
use crate::values::ids::UserId;

/// The throttle key of the account a login names. Known users are keyed by id (so the
/// username and the email share one counter); unknown names by their normalised form, so
/// unknown names lock exactly like real ones and lockouts reveal nothing.
pub(crate) fn account_key(user: Option<UserId>, lookup_key: Option<&str>, raw: &str) -> String {
    match (user, lookup_key) {
        (Some(id), _) => user_key(id),
        (None, Some(key)) => format!("name:{key}"),
        (None, None) => format!("name:#{}", random::b64(&Sha256::digest(raw.as_bytes())[..16])),
    }
}

/// The first-factor throttle key of a known account.
pub(crate) fn user_key(id: UserId) -> String {
    format!("user:{id}")
}

/// The second-factor throttle key of a known account: wrong codes count here, apart from
/// wrong passwords, so a path that clears the first-factor count (a password reset) never
/// releases a second-factor lockout.
pub(crate) fn second_factor_key(id: UserId) -> String {
    format!("mfa:{id}")
}

/// The throttle key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber's
/// allocation), anything else (an application-defined id) as given. `None`: no throttling.
pub(crate) fn address_key(ip: Option<&str>) -> Option<String> {
    let ip = ip?.trim();
    if ip.is_empty() {
        return None;
    }
    let key = match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.chars().take(64).collect(),
    };
    Some(format!("ip:{key}"))
}

/// How long `key` is still locked at `now`, if it is.
pub(crate) fn locked_for(conn: &Conn<'_>, key: &str, now: i64) -> Result<Option<Duration>> {
    Ok(conn
        .throttle(key)?
        .locked_until
        .filter(|&until| until > now)
        .map(|until| remaining(until, now)))
}

fn remaining(until: i64, now: i64) -> Duration {
    Duration::from_millis(u64::try_from(until - now).unwrap_or(0))
}

/// Counts a failed attempt against an account. Returns the lock duration when this failure
/// reached the threshold (the counter restarts, the next lock lasts twice as long).
fn account_failed(
    tx: &Tx<'_, '_>,
    key: &str,
    now: i64,
    config: &Config,
) -> Result<Option<Duration>> {
    if config.lockout_threshold == 0 {
        return Ok(None);
    }
    let mut s = tx.throttle(key)?;
    if s.failures == 0 {
        s.window_start = now;
    }
    s.failures += 1;
    let mut locked = None;
    if s.failures >= config.lockout_threshold {
        let base = millis(config.lockout_duration);
        let delay = base
            .saturating_mul(1i64 << s.lockouts.min(30))
            .min(millis(config.lockout_max_duration));
        s.locked_until = Some(now.saturating_add(delay));
        s.lockouts = s.lockouts.saturating_add(1);
        s.failures = 0;
        locked = Some(remaining(now + delay, now));
    }
    tx.set_throttle(key, s)?;
    Ok(locked)
}

/// Counts a failed attempt from a client address within its window; at the cap the
/// address is refused until the window ends.
fn address_failed(tx: &Tx<'_, '_>, key: &str, now: i64, config: &Config) -> Result<()> {
    if config.address_max_failures == 0 {
        return Ok(());
    }
    let window = millis(config.address_window);
    let mut s = tx.throttle(key)?;
    if s.failures == 0 || now >= s.window_start.saturating_add(window) {
        s = State { window_start: now, ..State::default() };
    }
    s.failures += 1;
    if s.failures >= config.address_max_failures {
        s.locked_until = Some(s.window_start.saturating_add(window));
    }
    tx.set_throttle(key, s)
}

/// Counts a failed password check against the account (and the client address, if any)
/// and audits it, together with the lockout it caused, inside the caller's transaction.
pub(crate) fn count_failure(
    tx: &Tx<'_, '_>,
    config: &Config,
    account: &str,
    address: Option<&str>,
    record: Record<'_>,
    detail: &str,
) -> Result<()> {
    let locked = account_failed(tx, account, tx.now(), config)?;
    if let Some(address) = address {
        address_failed(tx, address, tx.now(), config)?;
    }
    tx.audit(AuditKind::LoginFailed, record.clone().detail(detail))?;
    if let Some(duration) = locked {
        let detail = format!("locked for {}s", duration.as_secs());
        tx.audit(AuditKind::AccountLocked, record.detail(detail))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_grouped_sensibly() {
        assert_eq!(address_key(Some("203.0.113.7")).unwrap(), "ip:203.0.113.7");
        assert_eq!(address_key(Some("::ffff:203.0.113.7")).unwrap(), "ip:203.0.113.7");
        assert_eq!(
            address_key(Some("2001:db8:1:2:aaaa::1")),
            address_key(Some("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(address_key(Some("2001:db8:1:2::1")), address_key(Some("2001:db8:1:3::1")));
        assert_eq!(address_key(Some("  ")), None);
        assert_eq!(address_key(None), None);
        assert_eq!(address_key(Some("kiosk-7")).unwrap(), "ip:kiosk-7");
    }

    #[test]
    fn unknown_names_get_their_own_keys() {
        assert_eq!(account_key(Some(UserId(4)), Some("bob"), "Bob"), "user:4");
        assert_eq!(account_key(None, Some("bob"), "Bob"), "name:bob");
        assert_ne!(account_key(None, None, "x\0"), account_key(None, None, "y\0"));
    }
}
