//! The one account-lifecycle rule: for each account event, what it voids. Every feature
//! that changes an account calls [`apply`] inside its transaction instead of voiding
//! things itself, so no path forgets a pending challenge or an old link.
//!
//! | event              | sessions | MFA challenges | reset links | magic links | verification | failure counts |
//! |--------------------|----------|----------------|-------------|-------------|--------------|----------------|
//! | password changed   | end      | void           | void        | void        | –            | first factor   |
//! | password reset     | end      | void           | void        | void        | –            | first factor   |
//! | password set       | end      | void           | void        | void        | –            | first factor   |
//! | email changed      | –        | –              | void        | void        | void         | –              |
//! | deactivated        | end      | void           | –           | –           | –            | –              |
//! | deleted            | (its rows are deleted with the account)  | –           | –            | both           |
//! | sessions revoked   | end      | void           | –           | void        | –            | –              |
//! | factor enabled     | end      | void           | –           | –           | –            | –              |
//! | factor removed     | –        | void           | –           | –           | –            | –              |
//!
//! The second-factor count is never cleared here: only a correct second factor or the
//! lockout's expiry ends it (and an administrator's `unlock_user`), so whoever holds the
//! mailbox cannot reset their way to more guesses. Cached credential state needs no row:
//! every commit drops the exact cache.

use super::engine::Tx;
use super::throttle;
use crate::store::Purpose;
use crate::values::error::Result;
use crate::values::ids::UserId;

/// Something that happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountEvent {
    PasswordChanged,
    PasswordReset,
    PasswordSet,
    EmailChanged,
    Deactivated,
    Deleted,
    SessionsRevoked,
    /// A second factor was turned on: sessions that never showed it end.
    FactorEnabled,
    FactorRemoved,
}

/// Which failure counters an event clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counts {
    Keep,
    FirstFactor,
    Both,
}

/// One row of the table.
struct Voids {
    /// `Some(reason)`: every live session ends, recorded with this reason.
    sessions: Option<&'static str>,
    one_time: &'static [Purpose],
    counts: Counts,
}

use Purpose::{Magic, Mfa, Reset, Verify};

/// The table (see the module docs).
fn voids(event: AccountEvent) -> Voids {
    use AccountEvent::*;
    let (sessions, one_time, counts): (_, &'static [Purpose], _) = match event {
        PasswordChanged => (Some("password changed"), &[Mfa, Reset, Magic], Counts::FirstFactor),
        PasswordReset => (Some("password reset"), &[Mfa, Reset, Magic], Counts::FirstFactor),
        PasswordSet => (Some("password set"), &[Mfa, Reset, Magic], Counts::FirstFactor),
        EmailChanged => (None, &[Reset, Magic, Verify], Counts::Keep),
        Deactivated => (Some("user deactivated"), &[Mfa], Counts::Keep),
        Deleted => (None, &[], Counts::Both),
        SessionsRevoked => (Some("all sessions revoked"), &[Mfa, Magic], Counts::Keep),
        FactorEnabled => (Some("second factor enabled"), &[Mfa], Counts::Keep),
        FactorRemoved => (None, &[Mfa], Counts::Keep),
    };
    Voids { sessions, one_time, counts }
}

/// Applies `event`'s row to `user` inside `tx`; returns how many sessions it ended.
pub(super) fn apply(tx: &Tx<'_, '_>, user: UserId, event: AccountEvent) -> Result<usize> {
    let voids = voids(event);
    for &purpose in voids.one_time {
        tx.void_one_time(user, purpose)?;
    }
    if matches!(voids.counts, Counts::FirstFactor | Counts::Both) {
        tx.clear_throttle(&throttle::user_key(user))?;
    }
    if voids.counts == Counts::Both {
        tx.clear_throttle(&throttle::second_factor_key(user))?;
    }
    match voids.sessions {
        Some(reason) => tx.revoke_user_sessions(user, tx.now(), reason),
        None => Ok(0),
    }
}
