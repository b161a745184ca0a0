//! Turns `AUTHLITE_TEST_POSTGRES_URL` into the `authlite_pg_tests` cfg, which un-ignores the
//! PostgreSQL half of the example service's tests (as in the library).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(authlite_pg_tests)");
    println!("cargo::rerun-if-env-changed=AUTHLITE_TEST_POSTGRES_URL");
    if std::env::var_os("AUTHLITE_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=authlite_pg_tests");
    }
}
