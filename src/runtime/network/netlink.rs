//! A small synchronous rtnetlink client: send one request, read the kernel's answer.
//!
//! podlab's callers are single-threaded poll-loop processes, so this uses netlink-sys's
//! blocking socket directly instead of an async runtime.

use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

impl Netlink {
    /// A route netlink socket in the calling process's net namespace.
    pub fn open() -> io::Result<Netlink> {
        Netlink::from_socket(Socket::new(NETLINK_ROUTE)?)
    }

    /// Wrap a route netlink socket opened elsewhere (e.g. inside a pod's net namespace): it keeps
    /// talking to the namespace it was created in.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Netlink> {
        // SAFETY: the fd is an owned, open netlink socket; Socket takes over closing it.
        Netlink::from_socket(unsafe { Socket::from_raw_fd(fd.into_raw_fd()) })
    }

    fn from_socket(mut socket: Socket) -> io::Result<Netlink> {
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    /// Send a request that changes something and wait for the kernel's acknowledgement.
    pub fn execute(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.exchange(message, NLM_F_REQUEST | NLM_F_ACK | flags)
            .map(|_| ())
    }

    /// Send a dump request (`ip link show`, `ip route show table all`) and collect the answers.
    pub fn dump(&mut self, message: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.exchange(message, NLM_F_REQUEST | NLM_F_DUMP)
    }

    fn exchange(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = sequence;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        request.finalize();
        let mut buffer = vec![0u8; request.buffer_len()];
        request.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;

        let dumping = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut answers = Vec::new();
        loop {
            let datagram = self.receive()?;
            let mut offset = 0;
            while offset < datagram.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let length = reply.header.length as usize;
                if length == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "netlink message of length 0",
                    ));
                }
                offset += align(length);
                if reply.header.sequence_number != sequence {
                    continue; // a late answer to an earlier request
                }
                match reply.payload {
                    NetlinkPayload::Error(error) => {
                        return match error.code {
                            Some(_) => Err(error.to_io()),
                            None => Ok(answers), // the ACK
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::InnerMessage(inner) => {
                        answers.push(inner);
                        if !dumping && flags & NLM_F_ACK == 0 {
                            return Ok(answers);
                        }
                    }
                    NetlinkPayload::Noop | NetlinkPayload::Overrun(_) => {}
                    _ => {}
                }
            }
        }
    }

    /// One whole datagram, however large (peek at its size first).
    fn receive(&self) -> io::Result<Vec<u8>> {
        let mut probe = [0u8; 0];
        let size = loop {
            match self
                .socket
                .recv(&mut &mut probe[..], libc::MSG_PEEK | libc::MSG_TRUNC)
            {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let mut datagram = Vec::with_capacity(size);
        loop {
            match self.socket.recv(&mut datagram, 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => {
                    other?;
                    break;
                }
            }
        }
        Ok(datagram)
    }
}

fn align(length: usize) -> usize {
    (length + 3) & !3
}
