//! `podlab port-forward POD LOCAL:REMOTE`: a port on this machine's localhost that leads to a
//! port on the pod's own localhost, as kubectl's does (containerd dials localhost inside the
//! pod's net namespace). Without root it is how the learner reaches a pod: the pod network
//! lives in the node's net namespace, which the learner's own network cannot see.
//!
//! Each connection gets a TCP socket made in pause's net namespace by a short-lived child
//! (`network::tcp_socket_in`), connected to 127.0.0.1:REMOTE there, and bytes are copied both
//! ways. The process itself never changes namespace.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::time::Duration;

use eyre::{eyre, Context, Result};

use super::lookup;
use super::network;

/// A `LOCAL:REMOTE` pair, or `PORT` for both, as kubectl takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub local: u16,
    pub remote: u16,
}

impl std::str::FromStr for Ports {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Ports, String> {
        let port = |t: &str, what: &str| {
            t.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{what} port {t:?} is not a number from 1 to 65535"))
        };
        match text.split_once(':') {
            Some((local, remote)) => Ok(Ports {
                // kubectl's ":80" picks a free local port.
                local: if local.is_empty() {
                    0
                } else {
                    port(local, "local")?
                },
                remote: port(remote, "remote")?,
            }),
            None => {
                let p = port(text, "the")?;
                Ok(Ports {
                    local: p,
                    remote: p,
                })
            }
        }
    }
}

/// How often the listener checks that the pod still exists.
const POD_CHECK: Duration = Duration::from_millis(250);

/// Forward until the pod is gone (or the process is interrupted). Prints kubectl's lines.
pub fn forward(pod_name: &str, ports: Ports) -> Result<()> {
    let pod = lookup::find_pod(pod_name)?;
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports.local))
        .wrap_err_with(|| format!("unable to listen on port {}", ports.local))?;
    let local = listener.local_addr()?.port();
    say(&format!(
        "Forwarding from 127.0.0.1:{local} -> {}",
        ports.remote
    ));
    listener.set_nonblocking(true)?;
    loop {
        match listener.accept() {
            Ok((client, _)) => {
                say(&format!("Handling connection for {local}"));
                let uid = pod.uid.clone();
                std::thread::spawn(move || {
                    if let Err(e) = handle(&uid, client, ports.remote) {
                        eprintln!("error forwarding port {}: {e:#}", ports.remote);
                    }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !lookup::shim_alive(&pod.uid) {
                    return Err(eyre!("lost connection to pod {}: it is gone", pod.name));
                }
                std::thread::sleep(POD_CHECK);
            }
            Err(e) => return Err(eyre!("failed to accept a connection: {e}")),
        }
    }
}

/// A line on stdout; nobody reading it any more (`| head -1`) is no reason to stop forwarding.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// One connection: a socket in the pod's namespace (its pause as it is now: a re-created
/// sandbox has a new one), connected to the pod's localhost, then bytes both ways.
fn handle(uid: &str, client: TcpStream, remote: u16) -> Result<()> {
    client.set_nonblocking(false)?;
    let state = lookup::all_pods()
        .into_iter()
        .find(|p| p.uid == uid && p.shim_alive)
        .and_then(|p| p.state)
        .ok_or_else(|| eyre!("the pod is gone"))?;
    let pause = state
        .sandbox
        .as_ref()
        .map(|s| s.pause.pid)
        .ok_or_else(|| eyre!("pod {} has no sandbox yet", state.name))?;
    let socket = network::tcp_socket_in(pause).map_err(|e| eyre!("{e}"))?;
    let upstream = TcpStream::from(socket);
    connect(&upstream, remote).wrap_err_with(|| {
        format!(
            "failed to connect to localhost:{remote} inside pod {}",
            state.name
        )
    })?;
    let (client_r, upstream_w) = (client.try_clone()?, upstream.try_clone()?);
    let to_pod = std::thread::spawn(move || pipe(client_r, upstream_w));
    pipe(upstream, client);
    let _ = to_pod.join();
    Ok(())
}

/// connect(2) a socket made elsewhere: std only connects sockets it makes itself.
fn connect(stream: &TcpStream, port: u16) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid sockaddr_in of the size given, on a socket we own.
    let ret = unsafe {
        libc::connect(
            stream.as_raw_fd(),
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Copy until EOF, then pass the EOF on.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::Ports;

    #[test]
    fn ports_are_read_as_kubectl_reads_them() {
        let p = |t: &str| t.parse::<Ports>();
        assert_eq!(
            p("8080:80"),
            Ok(Ports {
                local: 8080,
                remote: 80
            })
        );
        assert_eq!(
            p("80"),
            Ok(Ports {
                local: 80,
                remote: 80
            })
        );
        assert_eq!(
            p(":80"),
            Ok(Ports {
                local: 0,
                remote: 80
            })
        );
        assert!(p("0").is_err());
        assert!(p("8080:").is_err());
        assert!(p("http:80").unwrap_err().contains("local port"));
        assert!(p("70000").is_err());
    }
}
