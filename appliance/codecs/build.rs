//! Links Debian's opencore-amr libraries when the `amr` feature is on;
//! does nothing otherwise.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "amr")]
    amr::link();
}

#[cfg(feature = "amr")]
mod amr {
    /// pkg-config names of the libraries, and the library to link when no
    /// .pc file is found (libopencore-amrnb-dev / libopencore-amrwb-dev ship
    /// both; the fallback covers hand-built installs).
    const LIBS: [&str; 2] = ["opencore-amrnb", "opencore-amrwb"];

    pub fn link() {
        for lib in LIBS {
            if let Err(e) = pkg_config::Config::new().probe(lib) {
                println!(
                    "cargo:warning={lib}: pkg-config failed ({e}); linking -l{lib} (install libopencore-amrnb-dev libopencore-amrwb-dev)"
                );
                println!("cargo:rustc-link-lib={lib}");
            }
        }
    }
}
