//! `authlite mfa ...`: the TOTP second factor (the QR code drawn in the terminal).

use authlite::{Auth, Error, ErrorKind, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, done, read_line, say};

#[derive(Debug, Subcommand)]
pub(super) enum MfaCommand {
    /// Enroll TOTP for a user: prints the secret and draws the otpauth QR code, then reads
    /// a first code from stdin to turn it on and prints the recovery codes.
    Enroll { name: String },
    /// Turn a user's second factor off.
    Disable { name: String },
}

pub(super) fn run(auth: &Auth, cmd: MfaCommand) -> Result<Out> {
    match cmd {
        MfaCommand::Enroll { name } => {
            let user = auth.find_user(&name)?;
            let enrollment = auth.enroll_totp(user.id)?;
            // The secret and the QR code come first, before the code is read.
            say(&format!("secret: {}", enrollment.secret));
            say(&format!("uri:    {}", enrollment.otpauth_uri));
            say(&qr(&enrollment.otpauth_uri)?);
            let code = read_line("Code from the app: ")?;
            let codes = auth.confirm_totp(user.id, code.trim())?;
            let mut text = format!(
                "TOTP is on for {}. Recovery codes (each works once; shown once):",
                user.username
            );
            for code in &codes {
                text.push_str(&format!("\n  {code}"));
            }
            done(json!({ "user": user.username, "recovery_codes": codes }), text)
        }
        MfaCommand::Disable { name } => {
            let user = auth.find_user(&name)?;
            auth.disable_totp(user.id)?;
            done(
                json!({ "user": user.username, "totp": false }),
                format!("TOTP is off for {}", user.username),
            )
        }
    }
}

/// `text` as a QR code of Unicode half blocks, for a terminal.
fn qr(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot draw the QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}
