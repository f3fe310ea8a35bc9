//! The pause (Infra) container, behaving like Kubernetes' `build/pause/linux/pause.c`:
//! it holds the pod's namespaces, reaps orphaned children when it is PID 1 of a shared PID
//! namespace, and otherwise does nothing but `pause()`.

use std::io::Write;

const VERSION: &str = env!("CARGO_PKG_VERSION");

extern "C" fn shut_down(signo: libc::c_int) {
    // pause.c uses psignal(); write(2) says the same and is async-signal-safe.
    let msg: &[u8] = match signo {
        libc::SIGINT => b"Shutting down, got signal: Interrupt\n",
        _ => b"Shutting down, got signal: Terminated\n",
    };
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(0);
    }
}

extern "C" fn reap(_signo: libc::c_int) {
    unsafe { while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {} }
}

fn install(signo: libc::c_int, handler: extern "C" fn(libc::c_int), flags: libc::c_int) {
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as usize;
        action.sa_flags = flags;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signo, &action, std::ptr::null_mut()) < 0 {
            std::process::exit(1);
        }
    }
}

fn main() {
    if std::env::args()
        .skip(1)
        .any(|a| a.eq_ignore_ascii_case("-v"))
    {
        println!("pause (podlab) {VERSION}");
        return;
    }
    if std::process::id() != 1 {
        let _ = writeln!(
            std::io::stderr(),
            "Warning: pause should be the first process"
        );
    }
    install(libc::SIGINT, shut_down, 0);
    install(libc::SIGTERM, shut_down, 0);
    install(libc::SIGCHLD, reap, libc::SA_NOCLDSTOP);
    loop {
        unsafe { libc::pause() };
    }
}
