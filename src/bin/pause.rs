//! The pause (Infra) container, behaving like Kubernetes' `build/pause/linux/pause.c`:
//! it holds the pod's namespaces, reaps orphaned children when it is PID 1 of a shared PID
//! namespace, and otherwise does nothing but `pause()`.
//!
//! Like pause.c it is a plain C-style `main` over libc (no Rust runtime start-up, no
//! formatting, nothing that can panic), so the binary linked statically stays small.

// Under `cargo test` the test harness brings its own main (with no tests), so running the
// test build of this binary returns at once instead of pausing forever.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code))]

const VERSION: &str = concat!("pause (podlab) ", env!("CARGO_PKG_VERSION"), "\n");

fn write_all(fd: libc::c_int, msg: &[u8]) {
    unsafe {
        libc::write(fd, msg.as_ptr().cast(), msg.len());
    }
}

extern "C" fn shut_down(signo: libc::c_int) {
    // pause.c uses psignal(); write(2) says the same and is async-signal-safe.
    let msg: &[u8] = match signo {
        libc::SIGINT => b"Shutting down, got signal: Interrupt\n",
        _ => b"Shutting down, got signal: Terminated\n",
    };
    write_all(2, msg);
    unsafe { libc::_exit(0) }
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
            libc::_exit(1);
        }
    }
}

/// `-v` (any case, as pause.c's strcasecmp) anywhere after the program name. Written so that
/// nothing can panic, not even a debug build's checks of pointer reads or arithmetic: a panic
/// would link Rust's whole panic and backtrace machinery into a binary meant to be tiny.
fn asks_for_version(argc: libc::c_int, argv: *const *const libc::c_char) -> bool {
    let mut i: libc::c_int = 1;
    while i < argc {
        let mut arg: *const libc::c_char = std::ptr::null();
        unsafe {
            // argv[i], copied by libc rather than read by Rust.
            libc::memcpy(
                (&mut arg as *mut *const libc::c_char).cast(),
                argv.wrapping_add(i as usize).cast(),
                std::mem::size_of::<*const libc::c_char>(),
            );
            if !arg.is_null() && libc::strcasecmp(arg, c"-v".as_ptr()) == 0 {
                return true;
            }
        }
        i = i.wrapping_add(1);
    }
    false
}

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    if asks_for_version(argc, argv) {
        write_all(1, VERSION.as_bytes());
        return 0;
    }
    if unsafe { libc::getpid() } != 1 {
        write_all(2, b"Warning: pause should be the first process\n");
    }
    install(libc::SIGINT, shut_down, 0);
    install(libc::SIGTERM, shut_down, 0);
    install(libc::SIGCHLD, reap, libc::SA_NOCLDSTOP);
    loop {
        unsafe { libc::pause() };
    }
}
