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
//! | passkey added      | –        | –              | –           | –           | –            | –              |
//! | passkey removed    | its own  | void           | –           | –           | –            | –              |
//! | identity linked    | –        | –              | –           | –           | –            | –              |
//! | identity unlinked  | its own  | void           | –           | –           | –            | –              |
//!
//! ("its own": the sessions that signed in with that passkey, `SignInMethod::Passkey(id)`,
//! or through that identity's provider, `SignInMethod::Provider(name)`.) Removing a way in
//! is refused with `Conflict` when it is the account's last ([`ensure_another_way_in`]): a
//! password, a passkey and a linked identity each count as one.
//!
//! The second-factor count is never cleared here: only a correct second factor or the
//! lockout's expiry ends it (and an administrator's `unlock_user`), so whoever holds the
//! mailbox cannot reset their way to more guesses. Cached credential state needs no row:
//! every commit drops the exact cache.

use super::engine::Tx;
use super::throttle;
use crate::store::{Conn, Purpose, UserKey};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{PasskeyId, UserId};
use crate::values::signin::SignInMethod;

/// Something that happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountEvent<'a> {
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
    PasskeyAdded,
    PasskeyRemoved(PasskeyId),
    IdentityLinked,
    /// An identity at the provider of this name was unlinked.
    IdentityUnlinked(&'a str),
}

/// Which sessions an event ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ends {
    None,
    /// Every live session, recorded with this reason.
    All(&'static str),
    /// The live sessions that signed in this way, with this reason.
    StartedWith(SignInMethod, &'static str),
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
    sessions: Ends,
    one_time: &'static [Purpose],
    counts: Counts,
}

use Purpose::{Magic, Mfa, Reset, Verify};

/// The table (see the module docs).
fn voids(event: AccountEvent<'_>) -> Voids {
    use AccountEvent::*;
    let (sessions, one_time, counts): (_, &'static [Purpose], _) = match event {
        PasswordChanged => {
            (Ends::All("password changed"), &[Mfa, Reset, Magic], Counts::FirstFactor)
        }
        PasswordReset => (Ends::All("password reset"), &[Mfa, Reset, Magic], Counts::FirstFactor),
        PasswordSet => (Ends::All("password set"), &[Mfa, Reset, Magic], Counts::FirstFactor),
        EmailChanged => (Ends::None, &[Reset, Magic, Verify], Counts::Keep),
        Deactivated => (Ends::All("user deactivated"), &[Mfa], Counts::Keep),
        Deleted => (Ends::None, &[], Counts::Both),
        SessionsRevoked => (Ends::All("all sessions revoked"), &[Mfa, Magic], Counts::Keep),
        FactorEnabled => (Ends::All("second factor enabled"), &[Mfa], Counts::Keep),
        FactorRemoved => (Ends::None, &[Mfa], Counts::Keep),
        PasskeyAdded => (Ends::None, &[], Counts::Keep),
        PasskeyRemoved(id) => {
            (Ends::StartedWith(SignInMethod::Passkey(id), "passkey revoked"), &[Mfa], Counts::Keep)
        }
        IdentityLinked => (Ends::None, &[], Counts::Keep),
        IdentityUnlinked(provider) => {
            let method = SignInMethod::Provider(provider.to_owned());
            (Ends::StartedWith(method, "identity unlinked"), &[Mfa], Counts::Keep)
        }
    };
    Voids { sessions, one_time, counts }
}

/// Applies `event`'s row to `user` inside `tx`; returns how many sessions it ended.
pub(super) fn apply(tx: &Tx<'_, '_>, user: UserId, event: AccountEvent<'_>) -> Result<usize> {
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
    match &voids.sessions {
        Ends::All(reason) => tx.revoke_user_sessions(user, tx.now(), reason),
        Ends::StartedWith(method, reason) => {
            tx.revoke_sessions_by_method(user, method, tx.now(), reason)
        }
        Ends::None => Ok(0),
    }
}

/// `Conflict` unless `user` keeps a way to sign in once one of its ways (a passkey, a
/// linked identity) is gone: a password, a passkey or a linked identity besides it.
pub(super) fn ensure_another_way_in(conn: &Conn<'_>, user: UserId) -> Result<()> {
    let password = usize::from(conn.user(UserKey::Id(user))?.is_some_and(|u| u.has_password));
    let ways = password + conn.passkeys_of(user)?.len() + conn.identity_count(user)?;
    if ways < 2 {
        return Err(Error::new(
            ErrorKind::Conflict,
            "that is the account's last way to sign in: set a password, add a passkey or link \
             another identity first",
        ));
    }
    Ok(())
}
