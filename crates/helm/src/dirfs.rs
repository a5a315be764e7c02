//! Reading a chart directory with few system calls: on Unix, files and subdirectories are
//! opened relative to their directory's open descriptor (`openat`), so the kernel does not
//! walk the whole path again for every file; a file is read with one `fstat` (its size) and
//! as many `read`s as that size takes (one, normally), without a last `read` to see the end.
//! Elsewhere the same interface works on paths with `std::fs`.

use std::io;
use std::path::Path;

/// What a directory entry is (symlinks followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    /// Anything else: a device, socket, FIFO, ...
    Other,
}

/// An open directory.
pub(crate) struct Dir {
    #[cfg(unix)]
    fd: rustix::fd::OwnedFd,
    #[cfg(not(unix))]
    path: std::path::PathBuf,
}

/// A directory entry (never `.` or `..`).
pub(crate) struct Entry {
    /// From the directory listing; `None` for a symlink or when the file system does not say
    /// (then [`Dir::stat`] tells).
    pub kind: Option<Kind>,
    #[cfg(unix)]
    raw: std::ffi::CString,
    #[cfg(not(unix))]
    raw: std::ffi::OsString,
}

/// Scratch space for directory listings, reused from one directory to the next.
pub(crate) struct ListBuf(#[cfg(unix)] Vec<u8>);

impl ListBuf {
    pub fn new() -> ListBuf {
        // Room for a few hundred entries per `getdents`, as glibc's `readdir` has.
        ListBuf(
            #[cfg(unix)]
            Vec::with_capacity(32 * 1024),
        )
    }
}

/// Reads an open file whose size is `len` (from `fstat`): `len` bytes, without a last read
/// to see the end (Helm's `os.ReadFile` would read more if the file grew meanwhile; a chart
/// being written while it loads has no defined content either way). A size of 0 (what some
/// virtual files report) reads to the end.
#[cfg(unix)]
fn read_fd(fd: &rustix::fd::OwnedFd, len: usize) -> io::Result<Vec<u8>> {
    use rustix::buffer::spare_capacity;
    let mut buf: Vec<u8> = Vec::with_capacity(len.max(1));
    loop {
        if len == 0 && buf.len() == buf.capacity() {
            buf.reserve(8192);
        }
        match rustix::io::read(fd, spare_capacity(&mut buf)) {
            Ok(0) => break,
            Ok(_) => {
                if len > 0 && buf.len() >= len {
                    break;
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(buf)
}

/// Reads an open regular `std` file whose `fstat` size is `len`: `len` bytes, in one `read`
/// when the file has them (`read_to_end` on a file would `fstat` and `lseek` again, then read
/// once more to see the end). A size of 0 (what some virtual files report) reads to the end.
/// [`read_fd`] where files are opened through `std`.
pub(crate) fn read_sized(file: &mut std::fs::File, len: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(len);
    if len == 0 {
        file.read_to_end(&mut buf)?;
    } else {
        file.take(len as u64).read_to_end(&mut buf)?;
    }
    Ok(buf)
}

#[cfg(unix)]
fn kind_of(t: rustix::fs::FileType) -> Option<Kind> {
    use rustix::fs::FileType;
    match t {
        FileType::Directory => Some(Kind::Dir),
        FileType::RegularFile => Some(Kind::File),
        FileType::Symlink | FileType::Unknown => None,
        _ => Some(Kind::Other),
    }
}

impl Entry {
    /// Whether the name is `name` (bytewise).
    pub fn is(&self, name: &str) -> bool {
        #[cfg(unix)]
        return self.raw.to_bytes() == name.as_bytes();
        #[cfg(not(unix))]
        return self.raw == name;
    }

    /// The name, lossily UTF-8 (borrowed when it is UTF-8).
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        self.raw.to_string_lossy()
    }
}

#[cfg(unix)]
impl Dir {
    const DIR_FLAGS: rustix::fs::OFlags = rustix::fs::OFlags::RDONLY
        .union(rustix::fs::OFlags::DIRECTORY)
        .union(rustix::fs::OFlags::CLOEXEC);
    const FILE_FLAGS: rustix::fs::OFlags =
        rustix::fs::OFlags::RDONLY.union(rustix::fs::OFlags::CLOEXEC);

    /// Opens the directory at `path` (symlinks followed).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(path, Self::DIR_FLAGS, rustix::fs::Mode::empty())?;
        Ok(Dir { fd })
    }

    /// Opens the subdirectory `e` (symlinks followed).
    pub fn open_dir(&self, e: &Entry) -> io::Result<Dir> {
        let fd = rustix::fs::openat(
            &self.fd,
            e.raw.as_c_str(),
            Self::DIR_FLAGS,
            rustix::fs::Mode::empty(),
        )?;
        Ok(Dir { fd })
    }

    /// The entries of this directory, sorted by name (bytewise), without `.` and `..`.
    pub fn entries(&self, buf: &mut ListBuf) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        let mut it = rustix::fs::RawDir::new(&self.fd, buf.0.spare_capacity_mut());
        while let Some(e) = it.next() {
            let e = e?;
            let raw = e.file_name();
            if matches!(raw.to_bytes(), b"." | b"..") {
                continue;
            }
            out.push(Entry {
                kind: kind_of(e.file_type()),
                raw: raw.to_owned(),
            });
        }
        out.sort_unstable_by(|a, b| a.raw.cmp(&b.raw));
        Ok(out)
    }

    /// What `e` is, symlinks followed, and its size.
    pub fn stat(&self, e: &Entry) -> io::Result<(Kind, u64)> {
        let st = rustix::fs::statat(&self.fd, e.raw.as_c_str(), rustix::fs::AtFlags::empty())?;
        let kind = kind_of(rustix::fs::FileType::from_raw_mode(st.st_mode)).unwrap_or(Kind::Other);
        Ok((kind, st.st_size.max(0) as u64))
    }

    /// Opens the file `e` for [`File::read`].
    pub fn open_file(&self, e: &Entry) -> io::Result<File> {
        self.open_file_named(e.raw.as_c_str())
    }

    /// Reads the file `name` of this directory whole.
    pub fn read_named(&self, name: &std::ffi::CStr) -> io::Result<Vec<u8>> {
        let f = self.open_file_named(name)?;
        let len = f.len()?;
        f.read(len)
    }

    fn open_file_named(&self, name: &std::ffi::CStr) -> io::Result<File> {
        let fd = rustix::fs::openat(&self.fd, name, Self::FILE_FLAGS, rustix::fs::Mode::empty())?;
        Ok(File(fd))
    }
}

/// An open file of a [`Dir`].
#[cfg(unix)]
pub(crate) struct File(rustix::fd::OwnedFd);

#[cfg(unix)]
impl File {
    /// Its size (`fstat`).
    pub fn len(&self) -> io::Result<u64> {
        Ok(rustix::fs::fstat(&self.0)?.st_size.max(0) as u64)
    }

    /// Reads it whole, given its size from [`File::len`] (or a `stat`).
    pub fn read(self, len: u64) -> io::Result<Vec<u8>> {
        read_fd(&self.0, len as usize)
    }
}

#[cfg(not(unix))]
impl Dir {
    pub fn open(path: &Path) -> io::Result<Dir> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(io::Error::other("not a directory"));
        }
        Ok(Dir {
            path: path.to_path_buf(),
        })
    }

    pub fn open_dir(&self, e: &Entry) -> io::Result<Dir> {
        Dir::open(&self.path.join(&e.raw))
    }

    pub fn entries(&self, _buf: &mut ListBuf) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.path)? {
            let e = e?;
            let kind = match e.file_type() {
                Ok(t) if t.is_dir() => Some(Kind::Dir),
                Ok(t) if t.is_file() => Some(Kind::File),
                Ok(t) if !t.is_symlink() => Some(Kind::Other),
                _ => None,
            };
            out.push(Entry {
                kind,
                raw: e.file_name(),
            });
        }
        out.sort_unstable_by(|a, b| a.raw.cmp(&b.raw));
        Ok(out)
    }

    pub fn stat(&self, e: &Entry) -> io::Result<(Kind, u64)> {
        let m = std::fs::metadata(self.path.join(&e.raw))?;
        let kind = if m.is_dir() {
            Kind::Dir
        } else if m.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Ok((kind, m.len()))
    }

    pub fn open_file(&self, e: &Entry) -> io::Result<File> {
        Ok(File(std::fs::File::open(self.path.join(&e.raw))?))
    }

    pub fn read_named(&self, name: &std::ffi::CStr) -> io::Result<Vec<u8>> {
        let name = name.to_str().map_err(io::Error::other)?;
        let f = File(std::fs::File::open(self.path.join(name))?);
        let len = f.len()?;
        f.read(len)
    }
}

#[cfg(not(unix))]
pub(crate) struct File(std::fs::File);

#[cfg(not(unix))]
impl File {
    pub fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    pub fn read(mut self, len: u64) -> io::Result<Vec<u8>> {
        read_sized(&mut self.0, len as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files are read whole whatever their size (several `read`s for a large one, reads to
    /// the end for a reported size of 0), entries come sorted without `.`/`..`, and kinds
    /// follow symlinks.
    #[test]
    fn list_and_read() {
        let dir = std::env::temp_dir().join(format!("helm-dirfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("b.bin"), &big).unwrap();
        std::fs::write(dir.join("a.txt"), b"hello").unwrap();
        std::fs::write(dir.join("empty"), b"").unwrap();
        std::fs::write(dir.join("sub/x"), b"x").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("sub"), dir.join("link-dir")).unwrap();
            std::os::unix::fs::symlink(dir.join("a.txt"), dir.join("link-file")).unwrap();
        }
        let d = Dir::open(&dir).unwrap();
        let mut buf = ListBuf::new();
        let es = d.entries(&mut buf).unwrap();
        let names: Vec<String> = es.iter().map(|e| e.name().into_owned()).collect();
        #[cfg(unix)]
        assert_eq!(
            names,
            ["a.txt", "b.bin", "empty", "link-dir", "link-file", "sub"]
        );
        #[cfg(not(unix))]
        assert_eq!(names, ["a.txt", "b.bin", "empty", "sub"]);
        for e in &es {
            let (kind, len) = match e.kind {
                Some(Kind::Dir) => (Kind::Dir, 0),
                _ => d.stat(e).unwrap(),
            };
            match &*e.name() {
                "sub" | "link-dir" => {
                    assert_eq!(kind, Kind::Dir);
                    let sub = d.open_dir(e).unwrap();
                    let inner = sub.entries(&mut buf).unwrap();
                    assert_eq!(inner.len(), 1);
                    assert_eq!(sub.open_file(&inner[0]).unwrap().read(1).unwrap(), b"x");
                }
                name => {
                    assert_eq!(kind, Kind::File);
                    let f = d.open_file(e).unwrap();
                    assert_eq!(f.len().unwrap(), len);
                    let want: &[u8] = match name {
                        "b.bin" => &big,
                        "empty" => b"",
                        _ => b"hello",
                    };
                    assert_eq!(f.read(len).unwrap(), want, "{name}");
                }
            }
        }
        // A size of 0 reads to the end; a smaller size reads that much.
        let b = es.iter().find(|e| e.name() == "b.bin").unwrap();
        assert_eq!(d.open_file(b).unwrap().read(0).unwrap(), big);
        assert!(
            d.open_file(b)
                .unwrap()
                .read(10)
                .unwrap()
                .starts_with(&big[..10])
        );
        assert_eq!(d.read_named(c"a.txt").unwrap(), b"hello");
        assert!(d.read_named(c"missing").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
