//! Unpacking one layer tar into a directory that overlayfs can use as a lower layer: files,
//! directories and links as the tar says; a whiteout `.wh.NAME` becomes the character device
//! 0:0 overlayfs reads as "deleted"; an opaque directory (`.wh..wh..opq`) gets the
//! `trusted.overlay.opaque` attribute. The uncompressed stream is hashed on the way: its sha256
//! is the layer's DiffID, which the image config names.
//!
//! Extended attributes come from PAX headers (`SCHILY.xattr.NAME`), as containerd applies
//! them: `security.capability` (file capabilities, e.g. ping's cap_net_raw) and the rest; one
//! the filesystem does not support is skipped, as containerd does. Without root only `user.*`
//! attributes are kept, and the layer says so.
//!
//! Refused: a path with `..`, a write through a symlink (an absolute link would lead out of the
//! layer onto the host), a device node when podlab runs without root, a layer bigger than the
//! limit. The caller unpacks into a private directory and removes it on any error.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use eyre::{bail, eyre, Context, Result};
use sha2::{Digest, Sha256};

use crate::kube::image::{layer_path, LayerPath};

/// What unpacking a layer found.
#[derive(Debug, Clone, Default)]
pub struct Unpacked {
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Bytes of the uncompressed tar.
    pub size: u64,
    /// Entries owned by a uid other than 0 when they could not be kept (without root every
    /// file becomes the user's, root inside the container).
    pub ownership_flattened: bool,
    /// Extended attributes that could not be kept: without root only `user.*` ones are
    /// (`security.capability` needs CAP_SETFCAP on the host).
    pub xattrs_dropped: bool,
}

/// How the unpacker may change the machine.
#[derive(Debug, Clone, Copy)]
pub struct UnpackRules {
    /// Running as root: ownership kept, device nodes allowed.
    pub as_root: bool,
    /// At most this many uncompressed bytes.
    pub max_bytes: u64,
}

/// A reader that hashes and counts what passes through it and fails past a limit.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R, limit: u64) -> Hashing<R> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
            limit,
        }
    }

    /// Read what is left, then give `sha256:<hex>` and the byte count.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((format!("sha256:{:x}", self.hasher.finalize()), self.count))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(format!(
                "larger than the limit of {} bytes",
                self.limit
            )));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// `sha256:<hex>` of a whole file, read at most `limit` bytes.
pub fn file_digest(path: &Path, limit: u64) -> Result<String> {
    let file =
        fs::File::open(path).wrap_err_with(|| format!("failed to open {}", path.display()))?;
    let (digest, _) = Hashing::new(file, limit)
        .finish()
        .wrap_err_with(|| format!("failed to read {}", path.display()))?;
    Ok(digest)
}

/// A layer blob as stored: gzip, zstd or a plain tar, told by its first bytes.
pub fn decompressed(path: &Path) -> Result<Box<dyn Read>> {
    let file =
        fs::File::open(path).wrap_err_with(|| format!("failed to open {}", path.display()))?;
    decompressed_reader(file).wrap_err_with(|| format!("failed to read {}", path.display()))
}

/// A stream that may be gzip- or zstd-compressed, uncompressed as it is read.
pub fn decompressed_reader(mut file: impl Read + 'static) -> Result<Box<dyn Read>> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match file.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let whole = io::Cursor::new(magic[..n].to_vec()).chain(file);
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        // Every frame, skippable ones (zstd:chunked's table of contents) passed over.
        [0x28, 0xb5, 0x2f, 0xfd] => Box::new(
            zstd::stream::read::Decoder::new(whole).wrap_err("failed to start a zstd decoder")?,
        ),
        _ => Box::new(whole),
    })
}

/// Unpack the tar `stream` into `dest` (an empty directory).
pub fn unpack(stream: impl Read, dest: &Path, rules: UnpackRules) -> Result<Unpacked> {
    let mut hashing = Hashing::new(stream, rules.max_bytes);
    let mut flattened = false;
    let mut xattrs_dropped = false;
    {
        let mut archive = tar::Archive::new(&mut hashing);
        archive.set_preserve_permissions(true);
        archive.set_preserve_mtime(true);
        archive.set_preserve_ownerships(rules.as_root);
        archive.set_overwrite(true);
        for entry in archive.entries().wrap_err("failed to read the layer tar")? {
            let mut entry = entry.wrap_err("failed to read the layer tar")?;
            let raw = entry
                .path()
                .wrap_err("a layer entry has an unreadable path")?
                .into_owned();
            let kind = entry.header().entry_type();
            let refused = |e: crate::kube::image::PathRefused| eyre!("layer entry {e}");
            match layer_path(&raw).map_err(refused)? {
                LayerPath::Root => {}
                LayerPath::Opaque(dir) => {
                    let at = make_parents(dest, &dir.join("x"))?;
                    let dir_path = at.parent().unwrap_or(dest).to_path_buf();
                    set_opaque(&dir_path, rules.as_root)?;
                }
                LayerPath::Whiteout(path) => {
                    let at = make_parents(dest, &path)?;
                    make_whiteout(&at)?;
                }
                LayerPath::Plain(path) => {
                    if !rules.as_root && entry.header().uid().unwrap_or(0) != 0 {
                        flattened = true;
                    }
                    if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                        let at = make_parents(dest, &path)?;
                        make_node(&entry, &at, rules.as_root)?;
                        continue;
                    }
                    if kind.is_hard_link() {
                        check_link_target(&entry, &raw)?;
                    }
                    let xattrs = pax_xattrs(&mut entry, &raw)?;
                    let unpacked = entry
                        .unpack_in(dest)
                        .wrap_err_with(|| format!("failed to unpack {}", raw.display()))?;
                    if !unpacked {
                        bail!("layer entry {:?} lies outside the layer", raw.display());
                    }
                    if !kind.is_hard_link() {
                        xattrs_dropped |= set_xattrs(&dest.join(&path), &xattrs, rules.as_root)?;
                    }
                }
            }
        }
    }
    let (diff_id, size) = hashing.finish().wrap_err("failed to read the layer")?;
    Ok(Unpacked {
        diff_id,
        size,
        ownership_flattened: flattened,
        xattrs_dropped,
    })
}

/// The extended attributes a PAX header gives an entry (`SCHILY.xattr.NAME=value`). One that
/// would change how overlayfs reads the layers (`trusted.overlay.*`, `user.overlay.*`) is
/// refused: only the unpacker marks whiteouts and opaque directories.
fn pax_xattrs<R: Read>(entry: &mut tar::Entry<R>, raw: &Path) -> Result<Vec<(CString, Vec<u8>)>> {
    let mut found = Vec::new();
    let Some(extensions) = entry
        .pax_extensions()
        .wrap_err_with(|| format!("failed to read the PAX header of {}", raw.display()))?
    else {
        return Ok(found);
    };
    for extension in extensions {
        let extension = extension
            .wrap_err_with(|| format!("failed to read the PAX header of {}", raw.display()))?;
        let Some(name) = extension.key_bytes().strip_prefix(b"SCHILY.xattr.") else {
            continue;
        };
        if name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.") {
            bail!(
                "layer entry {:?} sets the attribute {}, which would change how overlayfs reads the layers",
                raw.display(),
                String::from_utf8_lossy(name)
            );
        }
        let name = CString::new(name).map_err(|_| {
            eyre!(
                "layer entry {:?} has an attribute name with a NUL byte",
                raw.display()
            )
        })?;
        found.push((name, extension.value_bytes().to_vec()));
    }
    Ok(found)
}

/// Set `xattrs` on the unpacked `at` (not following a symlink). Without root only `user.*`
/// ones; true when some were not kept.
fn set_xattrs(at: &Path, xattrs: &[(CString, Vec<u8>)], as_root: bool) -> Result<bool> {
    let mut dropped = false;
    let c = cpath(at)?;
    for (name, value) in xattrs {
        if !as_root && !name.as_bytes().starts_with(b"user.") {
            dropped = true;
            continue;
        }
        // SAFETY: valid NUL-terminated strings and a buffer of the given length.
        let ret = unsafe {
            libc::lsetxattr(
                c.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if ret != 0 {
            let err = io::Error::last_os_error();
            // A filesystem without that attribute namespace: skipped, as containerd does.
            if err.raw_os_error() == Some(libc::EOPNOTSUPP) {
                continue;
            }
            return Err(err).wrap_err_with(|| {
                format!(
                    "failed to set the attribute {} on {}",
                    name.to_string_lossy(),
                    at.display()
                )
            });
        }
    }
    Ok(dropped)
}

/// A hard link must name a path inside the layer, without `..`.
fn check_link_target<R: Read>(entry: &tar::Entry<R>, raw: &Path) -> Result<()> {
    let target = entry
        .link_name()
        .wrap_err("unreadable link target")?
        .ok_or_else(|| eyre!("hard link {} names no target", raw.display()))?;
    match layer_path(&target) {
        Ok(LayerPath::Plain(_)) => Ok(()),
        _ => bail!(
            "layer entry {:?} is a hard link to {:?}, outside the layer",
            raw.display(),
            target.display()
        ),
    }
}

/// Make the directories above `rel` inside `dest`, refusing to pass through a symlink or
/// anything not a directory; the full path of `rel` is returned.
fn make_parents(dest: &Path, rel: &Path) -> Result<PathBuf> {
    let mut at = dest.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    let Some((_last, dirs)) = parts.split_last() else {
        return Ok(at);
    };
    for part in dirs {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => bail!(
                "layer entry {:?} lies below the symlink {:?}, which could lead out of the layer",
                rel.display(),
                at.strip_prefix(dest).unwrap_or(&at).display()
            ),
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!(
                "layer entry {:?} lies below a file that is not a directory",
                rel.display()
            ),
            Err(_) => fs::create_dir(&at)
                .wrap_err_with(|| format!("failed to create {}", at.display()))?,
        }
    }
    at.push(parts.last().map(|c| c.as_os_str()).unwrap_or_default());
    Ok(at)
}

fn remove_existing(at: &Path) -> Result<()> {
    match fs::symlink_metadata(at) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(at),
        Ok(_) => fs::remove_file(at),
        Err(_) => return Ok(()),
    }
    .wrap_err_with(|| format!("failed to replace {}", at.display()))
}

fn cpath(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| eyre!("{} contains a NUL byte", path.display()))
}

/// overlayfs's whiteout: a character device 0:0.
fn make_whiteout(at: &Path) -> Result<()> {
    remove_existing(at)?;
    mknod(at, libc::S_IFCHR, 0)
        .wrap_err_with(|| format!("failed to make the whiteout {}", at.display()))
}

fn mknod(at: &Path, mode: libc::mode_t, dev: libc::dev_t) -> Result<()> {
    let c = cpath(at)?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mknod(c.as_ptr(), mode, dev) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(())
}

/// Mark a directory opaque for overlayfs: `trusted.overlay.opaque` as root; without root,
/// `user.overlay.opaque`, which overlayfs reads when mounted with `userxattr`.
fn set_opaque(dir: &Path, as_root: bool) -> Result<()> {
    let name = if as_root {
        c"trusted.overlay.opaque"
    } else {
        c"user.overlay.opaque"
    };
    let c = cpath(dir)?;
    // SAFETY: valid NUL-terminated strings and a 1-byte value.
    let ret = unsafe { libc::lsetxattr(c.as_ptr(), name.as_ptr(), c"y".as_ptr().cast(), 1, 0) };
    if ret != 0 {
        return Err(io::Error::last_os_error())
            .wrap_err_with(|| format!("failed to mark {} opaque", dir.display()));
    }
    Ok(())
}

/// A device node or a fifo from the tar.
fn make_node<R: Read>(entry: &tar::Entry<R>, at: &Path, as_root: bool) -> Result<()> {
    let header = entry.header();
    let kind = header.entry_type();
    let mode = header.mode().unwrap_or(0o644) & 0o7777;
    let (type_bits, dev) = if kind.is_fifo() {
        (libc::S_IFIFO, 0)
    } else {
        if !as_root {
            bail!(
                "layer entry {:?} is a device node, which podlab makes only as root",
                at.display()
            );
        }
        let major = header.device_major().ok().flatten().unwrap_or(0);
        let minor = header.device_minor().ok().flatten().unwrap_or(0);
        let bits = if kind.is_block_special() {
            libc::S_IFBLK
        } else {
            libc::S_IFCHR
        };
        (bits, libc::makedev(major, minor))
    };
    remove_existing(at)?;
    mknod(at, type_bits | mode, dev)
        .wrap_err_with(|| format!("failed to make {}", at.display()))?;
    if as_root {
        let (uid, gid) = (
            header.uid().unwrap_or(0) as u32,
            header.gid().unwrap_or(0) as u32,
        );
        std::os::unix::fs::lchown(at, Some(uid), Some(gid))
            .wrap_err_with(|| format!("failed to chown {}", at.display()))?;
    }
    Ok(())
}
