//! Cheap, exact answers to two questions the engine asks on every `validate`: is the
//! database file still the one we opened (fail closed if not), and has anyone committed
//! since we last looked (then nothing cached may be trusted)?
//!
//! The second is answered from the WAL-index header in the `-shm` file, which SQLite
//! rewrites on every commit by any connection of any process (walformat.html: a change
//! counter `iChange` incremented each transaction, `mxFrame`, and a checksum). Reading it is
//! one `pread` and takes no SQLite lock, where `PRAGMA data_version` costs a read
//! transaction with two `fcntl` locks and the VFS mutexes every thread shares.

#[cfg(unix)]
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
#[cfg(unix)]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[cfg(unix)]
use parking_lot::Mutex;

use crate::values::error::{Error, ErrorKind, Result};

/// Opens `path` read-only and never closes it. On POSIX, closing *any* descriptor of a file
/// drops every fcntl lock the process holds on it — SQLite's included (howtocorrupt.html
/// §2.2) — so the descriptors the watch reads through must outlive every connection of the
/// process. They are kept here, one per file (device, inode) for the life of the process;
/// a file already held is never opened a second time.
#[cfg(unix)]
fn hold(path: &Path) -> std::io::Result<Arc<File>> {
    type Held = Mutex<HashMap<(u64, u64), Arc<File>>>;
    static HELD: OnceLock<Held> = OnceLock::new();
    let mut held = HELD.get_or_init(Default::default).lock();
    if let Some(file) = held.get(&inode(&std::fs::metadata(path)?)) {
        return Ok(file.clone());
    }
    let file = Arc::new(File::open(path)?);
    // Keyed by what was actually opened, even if the path changed in between: it must
    // never be closed either way.
    let id = inode(&file.metadata()?);
    Ok(held.entry(id).or_insert(file).clone())
}

/// Elsewhere closing one handle does not release another's locks.
#[cfg(not(unix))]
fn hold(path: &Path) -> std::io::Result<Arc<File>> {
    File::open(path).map(Arc::new)
}

/// How the store notices faults and foreign commits.
pub(crate) enum Watch {
    /// A private in-memory database: only this store commits to it.
    Memory,
    /// A database file, with its identity and its WAL-index.
    File { db: FileIdentity, wal_index: WalIndex },
}

impl Watch {
    /// Every operation that reads or writes: the file was not deleted or renamed over.
    /// One `fstat`.
    pub(crate) fn check_linked(&self) -> Result<()> {
        match self {
            Watch::Memory => Ok(()),
            Watch::File { db, .. } => db.check_linked(),
        }
    }

    /// A cache hit: the same check at most once per [`LINK_CHECK_INTERVAL`] (so a hit costs
    /// one system call, the WAL-index read), and refused at once after any check of this
    /// store found the file gone.
    pub(crate) fn check_linked_lately(&self) -> Result<()> {
        match self {
            Watch::Memory => Ok(()),
            Watch::File { db, .. } => db.check_linked_lately(),
        }
    }

    /// Writes: the path still names the file we opened (also catches a file moved away
    /// with another put in its place). One `stat`.
    pub(crate) fn check_path(&self) -> Result<()> {
        match self {
            Watch::Memory => Ok(()),
            Watch::File { db, .. } => db.check_path(),
        }
    }

    /// Bumps `epoch` if anyone committed since the last call, and returns the epoch. `None`
    /// where foreign commits cannot be observed (then nothing may be served from a cache).
    pub(crate) fn observe(&self, epoch: &AtomicU64) -> Result<Option<u64>> {
        match self {
            Watch::Memory => Ok(Some(epoch.load(Ordering::SeqCst))),
            Watch::File { wal_index, .. } => wal_index.observe(epoch),
        }
    }
}

/// Which file the database is: open connections would otherwise keep using a deleted or
/// replaced file while other processes use a new one at the path.
pub(crate) struct FileIdentity {
    path: PathBuf,
    /// Held open (see [`hold`]) to ask cheaply (fstat) whether the file still has a name.
    handle: Arc<File>,
    #[cfg_attr(not(unix), allow(dead_code))]
    id: (u64, u64),
    /// When the link was last checked, in nanoseconds since `opened`.
    checked: AtomicU64,
    opened: Instant,
    /// A check found the file deleted or replaced: every later call is refused.
    gone: AtomicBool,
}

/// How stale the hot path's knowledge that the file still has its name may be: a deleted
/// or replaced file is refused by the next write or read of the database at once, and by
/// a cache hit within this long.
pub(crate) const LINK_CHECK_INTERVAL: Duration = Duration::from_millis(2);

impl FileIdentity {
    pub(crate) fn of(path: &Path) -> Result<FileIdentity> {
        let handle = hold(path).map_err(|e| Error::storage("cannot open the database file", e))?;
        let id =
            inode(&handle.metadata().map_err(|e| Error::storage("cannot stat the database", e))?);
        let identity = FileIdentity {
            path: path.to_path_buf(),
            handle,
            id,
            checked: AtomicU64::new(0),
            opened: Instant::now(),
            gone: AtomicBool::new(false),
        };
        identity.check_path()?;
        Ok(identity)
    }

    fn check_linked(&self) -> Result<()> {
        if self.gone.load(Ordering::Relaxed) || !linked(&self.handle)? {
            return Err(self.replaced());
        }
        Ok(())
    }

    fn check_linked_lately(&self) -> Result<()> {
        let now = u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let recent = now.saturating_sub(self.checked.load(Ordering::Relaxed))
            < LINK_CHECK_INTERVAL.as_nanos() as u64;
        if recent && !self.gone.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.checked.store(now, Ordering::Relaxed);
        self.check_linked()
    }

    fn check_path(&self) -> Result<()> {
        let meta = std::fs::metadata(&self.path).map_err(|e| {
            self.gone.store(true, Ordering::Relaxed); // even if it comes back: reopen
            Error::storage("the database file is missing", e)
        })?;
        if inode(&meta) == self.id { self.check_linked() } else { Err(self.replaced()) }
    }

    /// Remembers that the file is gone (it does not come back), and says so.
    fn replaced(&self) -> Error {
        self.gone.store(true, Ordering::Relaxed);
        replaced()
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// Whether the open file still has a name (not deleted or renamed over). One `fstat`.
#[cfg(unix)]
fn linked(file: &File) -> Result<bool> {
    let stat = rustix::fs::fstat(file)
        .map_err(|e| Error::storage("cannot stat the database", std::io::Error::from(e)))?;
    Ok(stat.st_nlink > 0)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(not(unix))]
fn linked(_file: &File) -> Result<bool> {
    Ok(true)
}

fn replaced() -> Error {
    Error::new(ErrorKind::Storage, "the database file was deleted or replaced; reopen the engine")
}

/// The first copy of the WAL-index header in `<db>-shm`: bytes 8..16 hold `iChange` (and
/// page size flags), 16..24 `mxFrame` and `nPage`, 40..48 the header checksum. A commit
/// always increments `iChange`, so the three words never repeat between two looks unless
/// 2^32 transactions happen in between.
pub(crate) struct WalIndex {
    shm: Arc<File>,
    seen: [AtomicU64; 3],
}

const HEADER: usize = 48;
const WORDS: [usize; 3] = [8, 16, 40];

impl WalIndex {
    /// Opens `<db>-shm`; it exists while any connection has the database open (the store
    /// keeps one open for its lifetime).
    pub(crate) fn open(db: &Path) -> Result<WalIndex> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let shm =
            hold(Path::new(&name)).map_err(|e| Error::storage("cannot open the WAL index", e))?;
        let index = WalIndex { shm, seen: Default::default() };
        index.observe(&AtomicU64::new(0))?;
        Ok(index)
    }

    /// Compare, then bump, then remember: by the time another thread can see the new
    /// header as "seen", the epoch has already moved past anything read before it.
    fn observe(&self, epoch: &AtomicU64) -> Result<Option<u64>> {
        let Some(header) = self.read()? else { return Ok(None) };
        let words = WORDS.map(|at| {
            u64::from_ne_bytes(header[at..at + 8].try_into().expect("8 bytes in the header"))
        });
        let changed = words.iter().zip(&self.seen).any(|(w, s)| *w != s.load(Ordering::SeqCst));
        if changed {
            epoch.fetch_add(1, Ordering::SeqCst);
            for (w, s) in words.iter().zip(&self.seen) {
                s.store(*w, Ordering::SeqCst);
            }
        }
        Ok(Some(epoch.load(Ordering::SeqCst)))
    }

    #[cfg(unix)]
    fn read(&self) -> Result<Option<[u8; HEADER]>> {
        use std::os::unix::fs::FileExt;
        let mut header = [0u8; HEADER];
        self.shm
            .read_exact_at(&mut header, 0)
            .map_err(|e| Error::storage("cannot read the WAL index", e))?;
        Ok(Some(header))
    }

    /// Elsewhere the header is not read: every look counts as "unknown".
    #[cfg(not(unix))]
    fn read(&self) -> Result<Option<[u8; HEADER]>> {
        Ok(None)
    }
}
