//! The worker's accelerated back-ends are cargo features that must keep
//! compiling, though no test machine can run a GPU. Built here where the
//! machine has what they need:
//!
//! * `openblas`: Debian's libopenblas-dev (headers found with pkg-config).
//! * `vulkan`: not here — whisper.cpp's ggml-vulkan needs Vulkan headers
//!   with `VK_EXT_layer_settings`, newer than Debian 12's 1.3.239.
//! * `cuda`: not here — no CUDA toolkit on Debian 12's main archive; built
//!   on a GPU machine.

use std::process::Command;

#[test]
fn the_openblas_backend_compiles() {
    let cflags = Command::new("pkg-config").args(["--cflags", "openblas"]).output().expect("pkg-config runs");
    assert!(cflags.status.success(), "no openblas.pc: install libopenblas-dev (scripts/install-deps does)");
    let include = String::from_utf8_lossy(&cflags.stdout)
        .split_whitespace()
        .find_map(|flag| flag.strip_prefix("-I").map(str::to_owned))
        .expect("openblas.pc names its include directory");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("backend-openblas");
    let build = Command::new(cargo)
        .args(["build", "--quiet", "--locked", "-p", "callguard-stt", "--features", "openblas", "--target-dir"])
        .arg(&target)
        .env("BLAS_INCLUDE_DIRS", include)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(build.status.success(), "the openblas build failed:\n{}", String::from_utf8_lossy(&build.stderr));
    assert!(target.join("debug/callguard-stt").is_file());
}
