//! Turns `AUTHLITE_TEST_POSTGRES_URL` into the `authlite_pg_tests` cfg, which un-ignores the
//! PostgreSQL half of the integration tests, and a C compiler on Linux into
//! `authlite_powercut_tests` (the power-cut test's shim), and node with the test provider's
//! npm packages into `authlite_oidc_tests`. The library itself reads none of them.

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
    // The identity-provider tests run a real OpenID provider on node (npm ci in
    // tests/oidc-provider); without either they are reported ignored.
    println!("cargo::rustc-check-cfg=cfg(authlite_oidc_tests)");
    println!("cargo::rerun-if-changed=tests/oidc-provider/node_modules");
    if on_path("node")
        && std::path::Path::new("tests/oidc-provider/node_modules/oidc-provider").is_dir()
    {
        println!("cargo::rustc-cfg=authlite_oidc_tests");
    }
    println!("cargo::rerun-if-env-changed=AUTHLITE_TEST_POSTGRES_URL");
    if std::env::var_os("AUTHLITE_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=authlite_pg_tests");
    }
}
