//! Security flags shared by every socket type (CURVE, PLAIN, and the built-in ZAP
//! authenticator), and `fzmq keygen`.
//!
//! Keys are 40-character Z85 strings. One may begin with `-`, so give it as `--flag=KEY`
//! (the form `--flag KEY` works too). The `*-file` variants read a key from a file instead,
//! so that a secret need not sit on a command line (where `ps` shows it): the file may hold
//! the key alone or the two lines `fzmq keygen` prints.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use ferrozmq::auth::Authenticator;
use ferrozmq::{Bytes, Context, CurvePublicKey, SecretBytes, SocketOption};

use crate::UsageError;

/// CURVE, PLAIN and authentication flags.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Security (CURVE, PLAIN, ZAP authentication)")]
pub(crate) struct SecurityArgs {
    /// Be a CURVE server (ZMQ_CURVE_SERVER): needs --curve-secret-key(-file). Without
    /// --auth-curve-allow or --auth-curve-dir, any client that knows the server's public
    /// key is accepted (encrypted, but clients are not authenticated).
    #[arg(long)]
    curve_server: bool,
    /// Our CURVE secret key, Z85 (ZMQ_CURVE_SECRETKEY). Prefer --curve-secret-key-file.
    #[arg(long, value_name = "Z85", allow_hyphen_values = true)]
    curve_secret_key: Option<String>,
    /// Read our CURVE secret key from FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "curve_secret_key")]
    curve_secret_key_file: Option<PathBuf>,
    /// Our CURVE public key, Z85 (ZMQ_CURVE_PUBLICKEY); derived from the secret key if
    /// not given.
    #[arg(long, value_name = "Z85", allow_hyphen_values = true)]
    curve_public_key: Option<String>,
    /// Read our CURVE public key from FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "curve_public_key")]
    curve_public_key_file: Option<PathBuf>,
    /// Be a CURVE client of the server with this public key, Z85 (ZMQ_CURVE_SERVERKEY).
    /// Without --curve-secret-key a new key pair is made for this run.
    #[arg(long, value_name = "Z85", allow_hyphen_values = true)]
    curve_server_key: Option<String>,
    /// Read the server's CURVE public key from FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "curve_server_key")]
    curve_server_key_file: Option<PathBuf>,
    /// Be a PLAIN server (ZMQ_PLAIN_SERVER). PLAIN sends passwords in clear text. Without
    /// --auth-plain-file every user name and password is accepted, as libzmq does.
    #[arg(long)]
    plain_server: bool,
    /// Be a PLAIN client with this user name (ZMQ_PLAIN_USERNAME).
    #[arg(long, value_name = "NAME")]
    plain_user: Option<String>,
    /// The PLAIN client's password (ZMQ_PLAIN_PASSWORD).
    #[arg(long, value_name = "PASS", allow_hyphen_values = true)]
    plain_password: Option<String>,
    /// Authenticate: accept peers from this IP address only (repeatable).
    #[arg(long, value_name = "ADDR")]
    auth_allow_ip: Vec<String>,
    /// Authenticate: refuse peers from this IP address (repeatable).
    #[arg(long, value_name = "ADDR")]
    auth_deny_ip: Vec<String>,
    /// Authenticate CURVE clients: accept this public key, Z85 (repeatable).
    #[arg(long, value_name = "Z85", allow_hyphen_values = true)]
    auth_curve_allow: Vec<String>,
    /// Authenticate CURVE clients: accept the public keys in the files of DIR.
    #[arg(long, value_name = "DIR")]
    auth_curve_dir: Option<PathBuf>,
    /// Authenticate PLAIN clients: `user:password` lines in FILE.
    #[arg(long, value_name = "FILE")]
    auth_plain_file: Option<PathBuf>,
    /// Print each received message's User-Id (the PLAIN user name, or the client's Z85
    /// public key under CURVE, as the authenticator returns it) as an extra first frame;
    /// empty when the connection has none.
    #[arg(long)]
    pub(crate) show_user_id: bool,
}

impl SecurityArgs {
    /// The socket options these flags set.
    pub(crate) fn socket_options(&self) -> Result<Vec<SocketOption>> {
        let mut options = Vec::new();
        let key = |inline: &Option<String>, file: &Option<PathBuf>, label: &str| {
            read_key(inline.as_deref(), file.as_deref(), label)
        };
        if let Some(secret) = key(
            &self.curve_secret_key,
            &self.curve_secret_key_file,
            "secret",
        )? {
            options.push(SocketOption::CurveSecretKey(secret));
        }
        if let Some(public) = key(
            &self.curve_public_key,
            &self.curve_public_key_file,
            "public",
        )? {
            options.push(SocketOption::CurvePublicKey(public));
        }
        if self.curve_server {
            options.push(SocketOption::CurveServer(true));
        } else if let Some(server) = key(
            &self.curve_server_key,
            &self.curve_server_key_file,
            "public",
        )? {
            options.push(SocketOption::CurveServerKey(server));
        }
        if self.plain_server {
            options.push(SocketOption::PlainServer(true));
        } else if let Some(user) = &self.plain_user {
            options.push(SocketOption::PlainUsername(Bytes::from(user.clone())));
            let password = self.plain_password.clone().unwrap_or_default();
            options.push(SocketOption::PlainPassword(SecretBytes::new(password)));
        }
        Ok(options)
    }

    /// Starts the authenticator when any --auth-* flag is given; it must live as long as
    /// the socket.
    pub(crate) fn authenticator(&self, ctx: &Context) -> Result<Option<Authenticator>> {
        let wanted = !self.auth_allow_ip.is_empty()
            || !self.auth_deny_ip.is_empty()
            || !self.auth_curve_allow.is_empty()
            || self.auth_curve_dir.is_some()
            || self.auth_plain_file.is_some();
        if self.plain_server && self.auth_plain_file.is_none() {
            eprintln!(
                "warning: a PLAIN server without --auth-plain-file accepts every user name and \
                 password"
            );
        }
        if !wanted {
            return Ok(None);
        }
        let auth = Authenticator::start(ctx).context("cannot start the authenticator")?;
        for ip in &self.auth_allow_ip {
            auth.allow_ip(ip.clone());
        }
        for ip in &self.auth_deny_ip {
            auth.deny_ip(ip.clone());
        }
        for key in &self.auth_curve_allow {
            let key = CurvePublicKey::from_bytes_or_z85(key.as_bytes())
                .map_err(|e| UsageError(format!("invalid --auth-curve-allow key: {e}")))?;
            auth.curve_allow(key);
        }
        if let Some(dir) = &self.auth_curve_dir {
            let n = auth
                .curve_allow_dir(dir)
                .with_context(|| format!("cannot read keys from {}", dir.display()))?;
            eprintln!(
                "authenticator: {n} CURVE public keys from {}",
                dir.display()
            );
        }
        if self.curve_server && self.auth_curve_allow.is_empty() && self.auth_curve_dir.is_none() {
            // IP rules alone: any CURVE client that passes them and knows our key.
            auth.curve_allow_any();
        }
        if let Some(file) = &self.auth_plain_file {
            auth.plain_passwords_file(file)
                .with_context(|| format!("cannot read passwords from {}", file.display()))?;
        }
        Ok(Some(auth))
    }
}

/// A key given inline or in a file, as the bytes of its Z85 text (checked).
fn read_key(inline: Option<&str>, file: Option<&Path>, label: &str) -> Result<Option<Bytes>> {
    let text = match (inline, file) {
        (Some(text), _) => text.trim().to_owned(),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read key file {}", path.display()))?;
            key_in_text(&content, label).ok_or_else(|| {
                anyhow!("no {label} key (40 Z85 characters) in {}", path.display())
            })?
        }
        (None, None) => return Ok(None),
    };
    if CurvePublicKey::from_bytes_or_z85(text.as_bytes()).is_err() {
        return Err(UsageError(format!(
            "invalid CURVE {label} key: expected 40 Z85 characters"
        ))
        .into());
    }
    Ok(Some(Bytes::from(text)))
}

/// The key labelled `public`/`secret` (`public-key: Z85` as keygen prints, or czmq's
/// `public-key = "Z85"`), or a lone key on a line.
fn key_in_text(text: &str, label: &str) -> Option<String> {
    let mut lone = None;
    for line in text.lines().map(str::trim) {
        // A lone key may itself hold ':' or '=' (both are Z85 characters).
        if line.len() == 40 {
            lone = Some(line.to_owned());
            continue;
        }
        // The label ends at the first ':' or '=' (the key after it may hold either).
        let parsed = line
            .find([':', '='])
            .map(|at| (&line[..at], &line[at + 1..]));
        if let Some((name, value)) = parsed {
            if name.trim() == format!("{label}-key") {
                return Some(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    lone
}

/// `fzmq keygen`: a new CURVE key pair, public then secret, as two labelled Z85 lines.
pub(crate) fn keygen() -> Result<()> {
    let pair = ferrozmq::curve_keypair();
    println!("public-key: {}", pair.public.to_z85());
    println!("secret-key: {}", pair.secret.to_z85());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_keygen_output_and_czmq_certificates() {
        let keygen = "public-key: Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\nsecret-key: D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs\n";
        assert_eq!(
            key_in_text(keygen, "public").unwrap(),
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        );
        assert_eq!(
            key_in_text(keygen, "secret").unwrap(),
            "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
        );
        let czmq = "curve\n    public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\"\n";
        assert_eq!(
            key_in_text(czmq, "public").unwrap(),
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        );
        assert_eq!(
            key_in_text("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n", "public")
                .unwrap()
                .len(),
            40
        );
    }
}
