//! Compiles `kernel-bpf/src/callguard_xdp.c` with clang into `OUT_DIR`; the
//! crate embeds the object with `include_bytes!`, so it is never committed.

use std::{env, path::PathBuf, process::Command};

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let kernel_bpf = manifest_dir.join("../../kernel-bpf");
    let source = kernel_bpf.join("src/callguard_xdp.c");
    let include = kernel_bpf.join("include");
    let out = PathBuf::from(env::var("OUT_DIR")?).join("callguard_xdp.o");

    println!("cargo::rerun-if-changed={}", source.display());
    println!("cargo::rerun-if-changed={}", include.join("callguard_xdp.h").display());
    println!("cargo::rerun-if-env-changed=CLANG");

    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let mut cmd = Command::new(&clang);
    cmd.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Wextra", "-Werror"]).arg("-I").arg(&include);
    // <linux/types.h> pulls in <asm/types.h>, which Debian and Ubuntu keep
    // in the multiarch directory; clang does not search it for -target bpf.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "riscv64" => "riscv64-linux-gnu",
        other => other,
    };
    let multiarch_dir = PathBuf::from("/usr/include").join(multiarch);
    if multiarch_dir.is_dir() {
        cmd.arg("-I").arg(&multiarch_dir);
    }
    cmd.arg("-c").arg(&source).arg("-o").arg(&out);

    let status = cmd.status().with_context(|| {
        format!(
            "running `{clang}` to build the XDP program failed: install clang, llvm and \
             libbpf-dev (`apt-get install clang llvm libbpf-dev`) or set CLANG=/path/to/clang"
        )
    })?;
    if !status.success() {
        bail!(
            "`{clang}` could not compile {} ({status}); the BPF headers come from libbpf-dev \
             (bpf/bpf_helpers.h) and linux-libc-dev (linux/bpf.h)",
            source.display()
        );
    }
    Ok(())
}
