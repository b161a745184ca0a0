//! Heap bytes per entry of the exact validation caches, and allocations per cache hit,
//! measured with a counting allocator: `cargo bench --bench cache_memory`. For each
//! credential kind, `N` distinct credentials are made first (writes empty the caches), then
//! each is validated once (a miss that inserts its entry): the growth of live heap bytes
//! over those first validations, divided by `N`, is what one cached entry costs (its key,
//! its entry and the map's share; an API key's entries stay from its second round, see
//! `per_entry`). The last round is all hits: it must not grow the heap, and its allocations
//! per call are those of the `Principal` handed back (its owned strings), nothing else.
//! Only the measuring thread is counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use authlite::{ApiKeySpec, Auth, ClientInfo, Config, NewUser};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Only the measuring thread counts: the pool's maintenance threads allocate at times
    /// of their own.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count(bytes: isize, allocation: bool) {
    if COUNTED.with(Cell::get) {
        LIVE.fetch_add(bytes, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(isize::from(allocation), Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts. (A bench binary, not the
// library: the library itself forbids unsafe code.)
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize, true);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize), false);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: usize = 4096;
const PASSWORD: &str = "correct horse battery staple";

/// Live heap growth per credential and allocations per call over one validation of each.
fn pass(credentials: &[String], validate: &impl Fn(&str)) -> (isize, f64) {
    let (live, allocations) = (LIVE.load(Ordering::Relaxed), ALLOCATIONS.load(Ordering::Relaxed));
    credentials.iter().for_each(|c| validate(c));
    let n = credentials.len() as isize;
    let growth = (LIVE.load(Ordering::Relaxed) - live) / n;
    (growth, (ALLOCATIONS.load(Ordering::Relaxed) - allocations) as f64 / n as f64)
}

/// Per credential: bytes per cached entry (the growth of the pass that filled the cache),
/// then the growth and allocations of an all-hit pass. Three passes: an API key's first use
/// records `last_used_at`, a commit that empties the caches, so its second pass fills them.
fn per_entry(credentials: &[String], validate: impl Fn(&str)) -> (isize, isize, f64) {
    COUNTED.with(|c| c.set(true));
    let (first, _) = pass(credentials, &validate);
    let (second, _) = pass(credentials, &validate);
    let (growth, allocations) = pass(credentials, &validate);
    COUNTED.with(|c| c.set(false));
    (first.max(second), growth, allocations)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        pbkdf2_iterations: 1_000,
        validate_cache_capacity: 2 * N,
        ..Config::new(dir.path().join("memory.db"))
    };
    let auth = Auth::open_with(config).unwrap();
    auth.register(NewUser::new("till", PASSWORD)).unwrap();

    let tokens: Vec<String> = (0..N)
        .map(|_| auth.login("till", PASSWORD, &ClientInfo::default()).unwrap().access_token)
        .collect();
    let svc = auth.create_service_account("memory-svc").unwrap();
    let keys: Vec<String> = (0..N)
        .map(|i| auth.create_api_key(svc.id, ApiKeySpec::new(format!("k{i}"))).unwrap().secret)
        .collect();
    let scoped: Vec<String> = (0..N)
        .map(|i| auth.issue_scoped("table", &i.to_string(), Duration::from_secs(3600)).unwrap())
        .collect();

    let report = |kind: &str, sample: &str, (entry, growth, allocations): (isize, isize, f64)| {
        println!(
            "{kind:<12} {:>4} B credential  {entry:>5} B per cached entry  \
             {growth:>3} B growth and {allocations:.2} allocations per hit",
            sample.len()
        );
    };
    let r = per_entry(&tokens, |t| drop(auth.validate(t).unwrap()));
    report("access token", &tokens[0], r);
    let r = per_entry(&keys, |k| drop(auth.validate_api_key(k).unwrap()));
    report("API key", &keys[0], r);
    let r = per_entry(&scoped, |s| drop(auth.verify_scoped(s, "table").unwrap()));
    report("scoped token", &scoped[0], r);
}
