//! A connection's TLS key log handed line by line to a C callback, rather
//! than to a file (`quiche_conn_set_keylog_path`).

use std::io::{self, Write};

use quiche::Connection;

/// Receives one NSS key log line (with its trailing newline) and the
/// `ctx` given to [`quichex_conn_set_keylog_callback`]. Called on the
/// thread that drives the connection, from inside quiche: it must not call
/// back into quiche for this connection.
pub type KeylogCallback = unsafe extern "C" fn(line: *const u8, len: usize, ctx: u32);

struct Forward {
    callback: KeylogCallback,
    ctx: u32,
}

impl Write for Forward {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        unsafe { (self.callback)(buf.as_ptr(), buf.len(), self.ctx) };
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends this connection's key log lines to `callback` with `ctx`. The
/// config must have `quiche_config_log_keys` on. Returns false for a null
/// connection or callback.
///
/// # Safety
/// `conn` must be a live quiche connection; `callback` must stay callable
/// for the connection's lifetime.
#[no_mangle]
pub unsafe extern "C" fn quichex_conn_set_keylog_callback(
    conn: *mut Connection,
    callback: Option<KeylogCallback>,
    ctx: u32,
) -> bool {
    let (Some(conn), Some(callback)) = (conn.as_mut(), callback) else {
        return false;
    };
    conn.set_keylog(Box::new(Forward { callback, ctx }));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static SEEN: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn count(_line: *const u8, len: usize, ctx: u32) {
        SEEN.fetch_add(len * ctx as usize, Ordering::SeqCst);
    }

    #[test]
    fn writes_go_to_the_callback_whole() {
        let mut w = Forward { callback: count, ctx: 2 };
        assert_eq!(w.write(b"LINE 1\n").unwrap(), 7);
        w.flush().unwrap();
        assert_eq!(SEEN.load(Ordering::SeqCst), 14);
        assert!(!unsafe { quichex_conn_set_keylog_callback(std::ptr::null_mut(), Some(count), 1) });
    }
}
