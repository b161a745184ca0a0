//! Turns `AUTHLITE_TEST_POSTGRES_URL` into the `authlite_pg_tests` cfg, which un-ignores the
//! PostgreSQL half of the integration tests, and a C compiler on Linux into
//! `authlite_powercut_tests` (the power-cut test's shim). The library itself reads neither.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(authlite_pg_tests)");
    // The power-cut test builds its LD_PRELOAD shim with the C compiler, when there is one.
    println!("cargo::rustc-check-cfg=cfg(authlite_powercut_tests)");
    println!("cargo::rerun-if-env-changed=PATH");
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    };
    if cfg!(target_os = "linux") && on_path("cc") {
        println!("cargo::rustc-cfg=authlite_powercut_tests");
    }
    println!("cargo::rerun-if-env-changed=AUTHLITE_TEST_POSTGRES_URL");
    if std::env::var_os("AUTHLITE_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=authlite_pg_tests");
    }
}
