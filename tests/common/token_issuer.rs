//! A token issuer on loopback for a registry with `auth: token`, as Docker Hub's
//! auth.docker.io is for Docker Hub: a client asked for credentials by the registry
//! (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`) gets a token here, with Basic
//! credentials or none, and shows it to the registry. The token is a JWT signed with RS256 by
//! a key of the test's own (openssl makes it and signs), carrying its certificate in `x5c`;
//! the registry trusts that certificate (`rootcertbundle`). Every request is recorded.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine;

pub const ISSUER: &str = "podlab-test-issuer";
pub const SERVICE: &str = "podlab-test-registry";

/// One request the issuer answered: its query and whether its credentials were good.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub query: String,
    pub authorized: bool,
}

pub struct TokenIssuer {
    /// `http://127.0.0.1:<port>/token`
    pub realm: String,
    /// The certificate whose key signs the tokens (the registry's `rootcertbundle`).
    pub cert: PathBuf,
    pub requests: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenIssuer {
    /// Start an issuer in a thread of this test; tokens only for `user:password` in Basic
    /// credentials (the thread ends with the test process).
    pub fn start(dir: &Path, user: &str, password: &str) -> TokenIssuer {
        let key = dir.join("issuer-key.pem");
        let cert = dir.join("issuer-cert.pem");
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", &format!("/CN={ISSUER}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("run openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("openssl x509");
        assert!(der.status.success());
        let x5c = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the issuer");
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &basic, &key, &x5c, &seen);
            }
        });
        TokenIssuer {
            realm,
            cert,
            requests,
        }
    }

    /// The registry's `auth:` section for this issuer.
    pub fn registry_auth(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            self.realm,
            self.cert.display()
        )
    }
}

fn answer(
    stream: TcpStream,
    basic: &str,
    key: &Path,
    x5c: &str,
    seen: &Mutex<Vec<TokenRequest>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut authorized = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") && value.trim() == basic {
                authorized = true;
            }
        }
    }
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    seen.lock().unwrap().push(TokenRequest {
        query: query.to_string(),
        authorized,
    });
    let (status, body) = if authorized {
        let token = token(query, key, x5c);
        (
            "200 OK",
            format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#),
        )
    } else {
        (
            "401 Unauthorized",
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"the test issuer wants credentials"}]}"#
                .to_string(),
        )
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// A JWT granting every scope asked for (`scope=repository:NAME:pull,push`, repeated).
fn token(query: &str, key: &Path, x5c: &str) -> String {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let access: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(|scope| {
            scope
                .replace("%3A", ":")
                .replace("%2F", "/")
                .replace("%2C", ",")
        })
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let actions: Vec<String> = actions.split(',').map(|a| format!("{a:?}")).collect();
            Some(format!(
                r#"{{"type":"{kind}","name":"{name}","actions":[{}]}}"#,
                actions.join(",")
            ))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = format!(r#"{{"typ":"JWT","alg":"RS256","x5c":["{x5c}"]}}"#);
    let claims = format!(
        r#"{{"iss":"{ISSUER}","sub":"ann","aud":"{SERVICE}","exp":{},"nbf":{},"iat":{now},"jti":"{now}","access":[{}]}}"#,
        now + 300,
        now - 10,
        access.join(",")
    );
    let signed = format!("{}.{}", url.encode(header), url.encode(claims));
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signed.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("openssl dgst");
    format!("{signed}.{}", url.encode(out.stdout))
}
