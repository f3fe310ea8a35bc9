//! The shim's socket: clients connect, send one JSON request per line and read the answers.
//! A client that says `hold` keeps the pod alive; when the last one goes, the pod is removed
//! (unless it was detached).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use super::Shim;
use crate::kube::protocol::{Request, Response};

pub(super) struct Client {
    pub(super) id: u64,
    pub(super) stream: UnixStream,
    buf: Vec<u8>,
    hold: bool,
}

/// Creation steps a client asked for and waits on.
pub(super) struct Goal {
    pub(super) client: u64,
    /// Answer once this many steps are done.
    pub(super) until: usize,
    /// Reply with the step id (Next) or just Ok (RunAll).
    pub(super) single: bool,
}

impl Shim {
    pub(super) fn accept(&mut self, listener: &UnixListener) {
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(true);
            self.next_client += 1;
            self.clients.push(Client {
                id: self.next_client,
                stream,
                buf: Vec::new(),
                hold: false,
            });
        }
    }

    pub(super) fn read_client(&mut self, id: u64) {
        let Some(pos) = self.clients.iter().position(|c| c.id == id) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        let closed = loop {
            match self.clients[pos].stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => self.clients[pos].buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        loop {
            // A request may have dropped this client (a failed reply): look it up each time.
            let Some(pos) = self.clients.iter().position(|c| c.id == id) else {
                return;
            };
            let Some(nl) = self.clients[pos].buf.iter().position(|b| *b == b'\n') else {
                break;
            };
            let line: Vec<u8> = self.clients[pos].buf.drain(..=nl).collect();
            match serde_json::from_slice::<Request>(&line) {
                Ok(req) => self.handle(id, req),
                Err(e) => self.reply(
                    id,
                    Response::Error {
                        message: format!("bad request: {e}"),
                    },
                ),
            }
        }
        if closed {
            self.drop_client(id);
        }
    }

    fn drop_client(&mut self, id: u64) {
        let Some(pos) = self.clients.iter().position(|c| c.id == id) else {
            return;
        };
        let client = self.clients.remove(pos);
        if client.hold && !self.state.detached && !self.clients.iter().any(|c| c.hold) {
            // The client holding the pod went away (quit, crash or kill -9): remove the pod.
            self.begin_termination(None, None);
        }
    }

    pub(super) fn reply(&mut self, id: u64, response: Response) {
        let Some(client) = self.clients.iter_mut().find(|c| c.id == id) else {
            return;
        };
        let mut line = serde_json::to_vec(&response).unwrap_or_default();
        line.push(b'\n');
        // Replies are small; a client that does not read them is dropped.
        let _ = client.stream.set_nonblocking(false);
        let _ = client
            .stream
            .set_write_timeout(Some(Duration::from_secs(2)));
        let ok = client.stream.write_all(&line).is_ok();
        let _ = client.stream.set_nonblocking(true);
        if !ok {
            self.drop_client(id);
        }
    }

    fn error(&mut self, id: u64, message: &str) {
        self.reply(
            id,
            Response::Error {
                message: message.into(),
            },
        );
    }

    fn handle(&mut self, id: u64, req: Request) {
        match req {
            Request::Hello { hold } => {
                if hold {
                    if let Some(c) = self.clients.iter_mut().find(|c| c.id == id) {
                        c.hold = true;
                    }
                    self.held = true;
                }
                self.reply(id, Response::Ok);
            }
            Request::Plan => {
                let steps = self.plan.clone();
                let next = self.next_step;
                self.reply(id, Response::Plan { steps, next });
            }
            Request::Next | Request::RunAll | Request::Start => self.ask_for_steps(id, req),
            Request::Status => {
                let state = Box::new(self.state.clone());
                self.reply(id, Response::Status { state });
            }
            Request::Detach => {
                self.state.detached = true;
                self.held = true;
                self.save();
                self.reply(id, Response::Ok);
            }
            Request::Delete { grace_seconds } => self.begin_termination(Some(id), grace_seconds),
            Request::Resize { patch } => match self.resize(&patch) {
                Ok(()) => {
                    let state = Box::new(self.state.clone());
                    self.reply(id, Response::Status { state });
                }
                Err(message) => self.error(id, &message),
            },
        }
    }

    fn ask_for_steps(&mut self, id: u64, req: Request) {
        if self.termination.is_some() {
            return self.error(id, "the pod is being deleted");
        }
        if self.goal.is_some() {
            return self.error(id, "a step is already running");
        }
        if self.next_step >= self.plan.len() {
            return self.error(id, "every step has already run");
        }
        match req {
            Request::Start => {
                self.auto = true;
                self.reply(id, Response::Ok);
            }
            Request::Next => {
                self.goal = Some(Goal {
                    client: id,
                    until: self.next_step + 1,
                    single: true,
                })
            }
            _ => {
                self.auto = true;
                self.goal = Some(Goal {
                    client: id,
                    until: self.plan.len(),
                    single: false,
                });
            }
        }
    }
}
