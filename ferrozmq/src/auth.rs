//! The built-in authenticator: a ZAP handler (RFC 27) in the library, like pyzmq's
//! `ThreadAuthenticator` or czmq's `zauth`. It binds `inproc://zeromq.zap.01` in a context,
//! so every PLAIN and CURVE server socket of that context (and NULL ones with a ZAP_DOMAIN)
//! asks it before accepting a peer.
//!
//! The rules, in order: a denied IP address is refused; with any allowed address, an address
//! not allowed is refused; then NULL is accepted, PLAIN needs a known user name with its
//! password, CURVE needs an allowed public key (or `curve_allow_any`). Accepted peers get a
//! user id: the user name (PLAIN) or the Z85 public key (CURVE), which their messages carry.
//!
//! ```
//! use ferrozmq::{auth::Authenticator, Context, CurveKeyPair, SocketOption, SocketType};
//! let ctx = Context::new();
//! let auth = Authenticator::start(&ctx).unwrap();
//! let (server_keys, client_keys) = (CurveKeyPair::generate(), CurveKeyPair::generate());
//! auth.curve_allow(client_keys.public);
//! let server = ctx.socket(SocketType::Rep);
//! server.set_option(SocketOption::CurveServer(true)).unwrap();
//! server.set_option(SocketOption::CurveSecretKey(server_keys.secret.to_z85().into())).unwrap();
//! # drop(auth);
//! ```

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use ferrozmq_proto::mechanism::{CurvePublicKey, SecretBytes, ZapReply, ZAP_ENDPOINT, ZAP_VERSION};
use parking_lot::RwLock;

use crate::{BindError, Context, Message, Socket, SocketType};

pub use crate::socket::zap::MAX_ZAP_WAITING;

/// A running ZAP handler with its policy; stops when dropped (or [`Authenticator::stop`]).
#[derive(Debug)]
pub struct Authenticator {
    policy: Arc<RwLock<Policy>>,
    socket: Socket,
    thread: Option<JoinHandle<()>>,
}

/// What the authenticator allows.
#[derive(Debug, Default)]
struct Policy {
    allow_ips: HashSet<String>,
    deny_ips: HashSet<String>,
    curve_any: bool,
    curve_keys: HashSet<CurvePublicKey>,
    passwords: HashMap<Vec<u8>, SecretBytes>,
}

impl Authenticator {
    /// Binds the handler in `ctx` and starts its thread. Fails if a handler is already bound.
    pub fn start(ctx: &Context) -> Result<Authenticator, BindError> {
        let socket = ctx.socket(SocketType::Rep);
        socket.bind(ZAP_ENDPOINT)?;
        let policy = Arc::new(RwLock::new(Policy::default()));
        let (sock, pol) = (socket.clone(), policy.clone());
        let thread = std::thread::Builder::new()
            .name("ferrozmq-auth".into())
            .spawn(move || serve(&sock, &pol))
            .map_err(BindError::Io)?;
        Ok(Authenticator {
            policy,
            socket,
            thread: Some(thread),
        })
    }

    /// Accepts peers from this IP address only (with others allowed likewise); repeatable.
    pub fn allow_ip(&self, address: impl Into<String>) {
        self.policy.write().allow_ips.insert(address.into());
    }

    /// Refuses peers from this IP address; repeatable.
    pub fn deny_ip(&self, address: impl Into<String>) {
        self.policy.write().deny_ips.insert(address.into());
    }

    /// Accepts CURVE clients with this public key.
    pub fn curve_allow(&self, key: CurvePublicKey) {
        self.policy.write().curve_keys.insert(key);
    }

    /// Accepts every CURVE client that knows the server's key (encryption without client
    /// authentication).
    pub fn curve_allow_any(&self) {
        self.policy.write().curve_any = true;
    }

    /// Accepts the CURVE public keys in the files of `dir`: each file holds a key as 40 Z85
    /// characters, alone on a line, as `fzmq keygen` prints it (`public-key: ...`) or as
    /// czmq's certificates do (`public-key = "..."`). Secret-key lines are ignored. Returns how many keys were read.
    pub fn curve_allow_dir(&self, dir: impl AsRef<Path>) -> io::Result<usize> {
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            keys.extend(text.lines().filter_map(public_key_in_line));
        }
        let n = keys.len();
        self.policy.write().curve_keys.extend(keys);
        Ok(n)
    }

    /// Accepts this PLAIN user name with this password.
    pub fn plain_user(&self, username: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>) {
        self.policy
            .write()
            .passwords
            .insert(username.into(), SecretBytes::new(password.into()));
    }

    /// Reads PLAIN users from a file of `user:password` lines (`#` starts a comment).
    /// Returns how many were read.
    pub fn plain_passwords_file(&self, path: impl AsRef<Path>) -> io::Result<usize> {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
        let mut n = 0;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(':') else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "password file lines are user:password",
                ));
            };
            self.plain_user(user.as_bytes(), password.as_bytes());
            n += 1;
        }
        Ok(n)
    }

    /// Unbinds the handler and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.socket.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A Z85 public key on a line: the line itself, or the quoted value of `public-key`.
fn public_key_in_line(line: &str) -> Option<CurvePublicKey> {
    let line = line.trim();
    let labelled = line
        .find([':', '='])
        .and_then(|at| Some((line.get(..at)?, line.get(at + 1..)?)));
    let value = match labelled {
        Some((name, value)) if name.trim() == "public-key" => value.trim().trim_matches('"'),
        // A bare key may itself hold '=' or ':' (both are Z85 characters).
        _ if line.len() == 40 => line,
        _ => return None,
    };
    CurvePublicKey::from_bytes_or_z85(value.as_bytes()).ok()
}

/// The handler's loop: one reply per request until the socket closes.
fn serve(socket: &Socket, policy: &RwLock<Policy>) {
    while let Ok(request) = socket.recv() {
        let frames: Vec<Bytes> = request.frames().iter().map(|f| f.to_bytes()).collect();
        let id = frames.get(1).cloned().unwrap_or_default();
        let reply = decide(&frames, &policy.read());
        if socket.send(Message::from(reply.to_frames(&id))).is_err() {
            break;
        }
    }
}

/// RFC 27 request frames: version, id, domain, address, identity, mechanism, credentials.
fn decide(frames: &[Bytes], policy: &Policy) -> ZapReply {
    let [version, _id, _domain, address, _identity, mechanism, credentials @ ..] = frames else {
        return ZapReply::new(500, "malformed ZAP request");
    };
    if version.as_ref() != ZAP_VERSION {
        return ZapReply::new(500, "unsupported ZAP version");
    }
    let address = String::from_utf8_lossy(address);
    if policy.deny_ips.contains(address.as_ref()) {
        return ZapReply::new(400, "address denied");
    }
    if !policy.allow_ips.is_empty() && !policy.allow_ips.contains(address.as_ref()) {
        return ZapReply::new(400, "address not allowed");
    }
    let allow = |user_id: Bytes| {
        let mut reply = ZapReply::new(200, "OK");
        reply.user_id = user_id;
        reply
    };
    match (mechanism.as_ref(), credentials) {
        (b"NULL", []) => allow(Bytes::new()),
        (b"PLAIN", [user, password]) => match policy.passwords.get(user.as_ref()) {
            // SecretBytes compares in constant time.
            Some(known) if *known == SecretBytes::new(password.to_vec()) => allow(user.clone()),
            _ => ZapReply::new(400, "invalid user name or password"),
        },
        (b"CURVE", [key]) => {
            let Ok(key) = CurvePublicKey::from_bytes_or_z85(key) else {
                return ZapReply::new(400, "invalid CURVE key");
            };
            if policy.curve_any || policy.curve_keys.contains(&key) {
                allow(Bytes::from(key.to_z85()))
            } else {
                ZapReply::new(400, "CURVE key not allowed")
            }
        }
        _ => ZapReply::new(400, "mechanism not allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_in_every_form_parse() {
        // A key holding ':' and '=' (both Z85 characters), in each form a file may take.
        let key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        let expect = CurvePublicKey::from_bytes_or_z85(key.as_bytes()).ok();
        assert_eq!(public_key_in_line(key), expect);
        assert_eq!(public_key_in_line(&format!("public-key: {key}")), expect);
        assert_eq!(
            public_key_in_line(&format!("    public-key = \"{key}\"")),
            expect
        );
        assert_eq!(public_key_in_line(&format!("secret-key: {key}")), None);
    }

    #[test]
    fn decisions_follow_the_policy() {
        let mut policy = Policy::default();
        policy
            .passwords
            .insert(b"u".to_vec(), SecretBytes::new("p"));
        let request = |mechanism: &'static str, address: &'static str, creds: &[&'static [u8]]| {
            let mut frames: Vec<Bytes> = ["1.0", "1", "", address, "", mechanism]
                .into_iter()
                .map(Bytes::from)
                .collect();
            frames.extend(creds.iter().map(|c| Bytes::from_static(c)));
            frames
        };
        let plain = |pass: &'static [u8]| request("PLAIN", "10.0.0.1", &[b"u", pass]);
        assert_eq!(decide(&plain(b"p"), &policy).status_code, 200);
        assert_eq!(decide(&plain(b"p"), &policy).user_id, "u");
        assert_eq!(decide(&plain(b"x"), &policy).status_code, 400);
        policy.deny_ips.insert("10.0.0.1".into());
        assert_eq!(decide(&plain(b"p"), &policy).status_code, 400);
        assert_eq!(
            decide(&request("NULL", "10.0.0.2", &[]), &policy).status_code,
            200
        );
        policy.allow_ips.insert("10.0.0.3".into());
        assert_eq!(
            decide(&request("NULL", "10.0.0.2", &[]), &policy).status_code,
            400
        );
        assert_eq!(decide(&[Bytes::from("1.0")], &policy).status_code, 500);
    }
}
