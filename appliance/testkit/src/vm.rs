//! A test program run as root under the kernel the firmware image ships,
//! booted in qemu: how the XDP program is checked against that kernel's
//! verifier, not only the build machine's.
//!
//! The guest is the kernel and an initramfs made here: busybox, the
//! program, the shared libraries both link, and an `/init` that mounts
//! `/proc`, `/sys` and bpffs, runs the program, prints its exit status and
//! reboots (qemu runs with `-no-reboot`, so it exits). Nothing else is in
//! the guest: no network, no disk.
//!
//! qemu runs with TCG, not KVM: KVM is missing or nested on CI machines
//! (on this one it hangs), and TCG boots the Debian kernel in about 25 s.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The line `/init` prints after the program, followed by its exit status.
const EXIT_MARK: &str = "CALLGUARD-VM-EXIT ";
/// The line `/init` prints first, followed by `uname -r`.
const KERNEL_MARK: &str = "CALLGUARD-VM-KERNEL ";

/// A kernel to boot.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The compressed kernel image.
    pub vmlinuz: PathBuf,
    /// What `uname -r` says under it (`6.1.0-56-amd64`).
    pub release: String,
}

impl Kernel {
    /// The firmware image's kernel, as `scripts/fetch-image-kernel` left it
    /// in the user's cache. Panics with what to run when it is missing.
    pub fn firmware() -> Kernel {
        let dir = crate::cache_dir().join("kernels/debian-12-amd64");
        let version = std::fs::read_to_string(dir.join("version")).unwrap_or_else(|e| {
            panic!(
                "the firmware kernel is not in {} ({e}): run scripts/fetch-image-kernel (scripts/install-deps does)",
                dir.display()
            )
        });
        // `linux-image-6.1.0-56-amd64 6.1.192-2`: the package names the release.
        let package = version.split_whitespace().next().unwrap_or_default();
        let release = package.strip_prefix("linux-image-").unwrap_or(package).to_owned();
        Kernel { vmlinuz: dir.join("vmlinuz"), release }
    }
}

/// What a run in the guest gave.
#[derive(Debug)]
pub struct VmRun {
    /// Everything on the serial console: firmware, kernel, program.
    pub console: String,
    /// The program's exit status; `None` when the guest never said (it
    /// crashed, or the run timed out).
    pub exit_code: Option<i32>,
    /// `uname -r` in the guest.
    pub kernel_release: Option<String>,
}

/// Boots `kernel` under qemu and runs `program args…` as root in it,
/// killing qemu after `timeout`. Panics when qemu, busybox or a library of
/// the program cannot be found.
pub fn run_in_vm(kernel: &Kernel, program: &Path, args: &[&str], timeout: Duration) -> VmRun {
    assert!(
        args.iter().all(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_=.:/".contains(c))),
        "arguments must not need quoting in the guest's shell: {args:?}"
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let initramfs = dir.path().join("initramfs.cpio");
    build_initramfs(&dir.path().join("root"), program, args, &initramfs);

    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-cpu", "max", "-m", "512", "-smp", "1"])
        .args(["-nographic", "-no-reboot", "-net", "none", "-kernel"])
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(&initramfs)
        .args(["-append", "console=ttyS0 quiet panic=-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start qemu-system-x86_64 ({e}): install the Debian package qemu-system-x86")
        });
    let mut stdout = qemu.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + timeout;
    while qemu.try_wait().expect("wait for qemu").is_none() {
        if Instant::now() >= deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut console = String::from_utf8_lossy(&reader.join().expect("console reader")).into_owned();
    if let Some(mut stderr) = qemu.stderr.take() {
        let _ = stderr.read_to_string(&mut console);
    }
    // Serial lines end in CR LF, and the firmware's screen codes may come
    // before the first one.
    let after =
        |mark: &str| console.lines().find_map(|l| l.find(mark).map(|at| l[at + mark.len()..].trim().to_owned()));
    VmRun {
        exit_code: after(EXIT_MARK).and_then(|code| code.parse().ok()),
        kernel_release: after(KERNEL_MARK),
        console,
    }
}

fn build_initramfs(root: &Path, program: &Path, args: &[&str], out: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(busybox.exists(), "no /bin/busybox: install the Debian package busybox-static");
    for dir in ["bin", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(dir)).expect("initramfs directory");
    }
    copy_into(root, busybox, Path::new("/bin/busybox"));
    copy_into(root, program, Path::new("/program"));
    for library in libraries(busybox).into_iter().chain(libraries(program)) {
        copy_into(root, &library, &library);
    }
    let init = format!(
        "#!/bin/busybox sh\n\
         /bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t sysfs sys /sys\n\
         /bin/busybox mount -t bpf bpf /sys/fs/bpf\n\
         echo \"{KERNEL_MARK}$(/bin/busybox uname -r)\"\n\
         /program {}\n\
         echo \"{EXIT_MARK}$?\"\n\
         /bin/busybox reboot -f\n",
        args.join(" ")
    );
    std::fs::write(root.join("init"), init).expect("write /init");
    set_mode(&root.join("init"), 0o755);

    // busybox's cpio writes the newc archive the kernel unpacks.
    let listing = Command::new(busybox).args(["find", "."]).current_dir(root).output().expect("list the initramfs");
    let mut cpio = Command::new(busybox)
        .args(["cpio", "-o", "-H", "newc"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(out).expect("create the initramfs"))
        .stderr(Stdio::null())
        .spawn()
        .expect("run busybox cpio");
    std::io::Write::write_all(&mut cpio.stdin.take().expect("piped"), &listing.stdout).expect("feed cpio");
    assert!(cpio.wait().expect("busybox cpio").success(), "busybox cpio failed");
}

/// The shared libraries `binary` loads, as `ldd` finds them (none for a
/// static binary).
fn libraries(binary: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd").arg(binary).output().expect("run ldd");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().find(|word| word.starts_with('/')).map(PathBuf::from))
        .collect()
}

fn copy_into(root: &Path, from: &Path, to: &Path) {
    let target = root.join(to.strip_prefix("/").unwrap_or(to));
    std::fs::create_dir_all(target.parent().expect("a file has a parent")).expect("initramfs directory");
    std::fs::copy(from, &target).unwrap_or_else(|e| panic!("copy {} into the initramfs: {e}", from.display()));
    set_mode(&target, 0o755);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
