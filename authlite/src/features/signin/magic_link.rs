//! The magic-link factor: `Auth::login_with_magic_link`. The link identifies the account;
//! the pipeline then checks the account's lockouts and the address before the link is
//! spent, so a refused attempt leaves the link usable once the lock has passed.

use super::Attempt;
use crate::features::engine::{Engine, Settled};
use crate::features::one_time::{invalid, parse};
use crate::store::Purpose;
use crate::values::error::Result;
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;

impl Engine {
    pub(crate) fn login_with_magic_link(&self, token: &str, client: &ClientInfo) -> Result<Login> {
        let presented = parse(token, Purpose::Magic)?;
        self.write_settled(|tx| {
            let user = self.peek(tx, &presented, Purpose::Magic)?.user;
            let attempt = Attempt::of(user, client);
            if let Some(refused) = self.refused(tx, &attempt)? {
                return Ok(Settled::Refused(refused));
            }
            if !tx.spend_one_time(presented.selector, tx.now())? {
                return Err(invalid());
            }
            self.signed_in(tx, &attempt, user, SignInMethod::MagicLink)
        })
    }
}
