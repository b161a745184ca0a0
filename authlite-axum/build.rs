//! Turns on the `authlite_browser_tests` cfg when the browser test can run here: a
//! Chromium on `PATH` (Debian's `chromium`, or `$CHROMIUM`) and the test's npm packages
//! installed (`npm ci` in `tests/browser`). Without them the test is reported ignored.
//! And `AUTHLITE_TEST_POSTGRES_URL` into `authlite_pg_tests`, which un-ignores the
//! PostgreSQL half of the example service's tests (as in the library), and node with the
//! library's test provider installed (`npm ci` in `authlite/tests/oidc-provider`) into
//! `authlite_oidc_tests`.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(authlite_pg_tests)");
    println!("cargo::rerun-if-env-changed=AUTHLITE_TEST_POSTGRES_URL");
    if std::env::var_os("AUTHLITE_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=authlite_pg_tests");
    }
    // The provider test runs the library's test OpenID provider on node.
    println!("cargo::rustc-check-cfg=cfg(authlite_oidc_tests)");
    println!("cargo::rerun-if-changed=../authlite/tests/oidc-provider/node_modules");
    let provider = Path::new("../authlite/tests/oidc-provider/node_modules/oidc-provider");
    if on_path("node") && provider.is_dir() {
        println!("cargo::rustc-cfg=authlite_oidc_tests");
    }
    println!("cargo::rustc-check-cfg=cfg(authlite_browser_tests)");
    println!("cargo::rerun-if-env-changed=CHROMIUM");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-changed=tests/browser/node_modules");
    let modules = Path::new("tests/browser/node_modules/puppeteer-core");
    if let Some(chromium) = chromium()
        && modules.is_dir()
    {
        println!("cargo::rustc-cfg=authlite_browser_tests");
        println!("cargo::rustc-env=AUTHLITE_TEST_CHROMIUM={}", chromium.display());
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}
