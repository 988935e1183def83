//! Bounded compilation of untrusted components.
//!
//! An optimizing compiler's time and memory are not linear in its input: a 627 KB component
//! can take a minute and gigabytes. So tenants' components are compiled in a child process
//! (this same binary, `grc plugin compile-worker`) that caps its own address space, gets
//! killed at the wall-clock bound, and whose memory goes back to the system when it exits.
//! At most `max_concurrent_compiles` run at once; up to `max_queued_compiles` more wait, and
//! beyond that a compile is refused as busy (retryable). The host's own built-in components
//! are trusted and compile in-process.
//!
//! Protocol: the parent writes one line of JSON (the [`PluginLimits`]) and then the component
//! bytes to the worker's stdin; the worker writes the serialized compiled component to stdout
//! and exits 0, or writes the compiler's error to stderr and exits [`EXIT_INVALID`]. Its last
//! stderr line reports its peak memory (`peak_rss_kib=N`), for the benchmark.

use super::{engine, limits::PluginLimits, runtime::LoadError, scheduler::Busy};
use std::{
    collections::HashMap,
    io::{Read, Write},
    path::PathBuf,
    process::{ExitCode, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::{io::AsyncWriteExt, sync::Semaphore};
use wasmtime::{Engine, component::Component};

/// The worker's exit code when the compiler rejected the component.
const EXIT_INVALID: u8 = 3;
/// The worker's nice value: compiles yield the CPU to the server.
const WORKER_NICE: libc::c_int = 10;
/// Most of the worker's stderr kept for the error message.
const MAX_STDERR_BYTES: usize = 16 * 1024;

pub struct Compiler {
    exe: PathBuf,
    limits: PluginLimits,
    running: Semaphore,
    /// Compiles admitted (running or queued), in all and per org.
    admitted: Mutex<Admissions>,
}

#[derive(Default)]
struct Admissions {
    total: usize,
    per_org: HashMap<String, usize>,
}

/// What one isolated compilation cost (for the benchmark and the log).
#[derive(Debug, Clone, Copy)]
pub struct CompileCost {
    pub elapsed: Duration,
    pub peak_rss_kib: Option<u64>,
}

impl Compiler {
    /// `exe` runs the worker (`None`: this process's own executable, as `grc plugin
    /// compile-worker`).
    pub fn new(limits: &PluginLimits) -> anyhow::Result<Self> {
        let exe = match &limits.compiler_exe {
            Some(exe) => exe.clone(),
            None => std::env::current_exe()?,
        };
        if !exe.is_file() {
            anyhow::bail!(
                "the plugin compile worker {} does not exist (plugins.compiler_exe)",
                exe.display()
            );
        }
        Ok(Compiler {
            exe,
            limits: limits.clone(),
            running: Semaphore::new(limits.max_concurrent_compiles.max(1)),
            admitted: Mutex::default(),
        })
    }

    /// Compiles `org`'s `bytes` for `engine` in a bounded child process.
    pub async fn compile(
        &self,
        org: &str,
        engine: &Engine,
        bytes: Arc<Vec<u8>>,
    ) -> Result<(Component, CompileCost), LoadError> {
        let admitted = self.admit(org)?;
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|e| LoadError::Internal(e.into()))?;
        let started = Instant::now();
        let output = self.run_worker(&bytes).await;
        drop(admitted);
        let elapsed = started.elapsed();
        let (stdout, stderr, status) = output?;
        let peak_rss_kib = peak_rss(&stderr);
        if !status.success() {
            return Err(self.failure(status, &stderr));
        }
        // Megabytes of native code to map and relocate: on a blocking thread.
        let engine = engine.clone();
        let component = tokio::task::spawn_blocking(move || {
            // SAFETY: the bytes are what `Component::serialize` wrote in our own worker (this
            // executable, or the one the operator configured), read from its private pipe;
            // they come from the same compiler that would otherwise have run in this process,
            // and wasmtime checks that they match this engine's version and configuration.
            #[allow(unsafe_code)]
            let component = unsafe { Component::deserialize(&engine, &stdout) };
            component
        })
        .await
        .map_err(|e| LoadError::Internal(e.into()))?
        .map_err(|e| {
            LoadError::Internal(anyhow::anyhow!(
                "loading the compile worker's output: {e:#}"
            ))
        })?;
        Ok((
            component,
            CompileCost {
                elapsed,
                peak_rss_kib,
            },
        ))
    }

    async fn run_worker(
        &self,
        bytes: &[u8],
    ) -> Result<(Vec<u8>, String, std::process::ExitStatus), LoadError> {
        let internal = |e: std::io::Error| {
            LoadError::Internal(anyhow::Error::new(e).context(format!(
                "running the plugin compile worker {} (plugins.compiler_exe)",
                self.exe.display()
            )))
        };
        let mut child = tokio::process::Command::new(&self.exe)
            .args(["plugin", "compile-worker"])
            // The worker handles untrusted input: it gets no secrets from our environment.
            .env_clear()
            // The address-space cap counts reservations, not use. mimalloc (the global
            // allocator, decision 0030) reserves 1 GiB at a time by default, which alone
            // would fill the cap and leave no room for the compiler's threads; 16 MiB at a
            // time leaves the cap for what the compiler actually uses. glibc, which C code may
            // still call, reserves 64 MiB per arena and thread: two arenas at most.
            .env("MIMALLOC_ARENA_RESERVE", "16MiB")
            .env("MALLOC_ARENA_MAX", "2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(internal)?;
        let mut header =
            serde_json::to_vec(&self.limits).map_err(|e| LoadError::Internal(e.into()))?;
        header.push(b'\n');
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| LoadError::Internal(anyhow::anyhow!("worker stdin")))?;
        let bound = Duration::from_millis(self.limits.max_compile_ms);
        let run = async {
            // A worker that dies early (its memory cap) closes the pipe: its status says why.
            let _ = async {
                stdin.write_all(&header).await?;
                stdin.write_all(bytes).await?;
                stdin.shutdown().await
            }
            .await;
            drop(stdin);
            child.wait_with_output().await
        };
        match tokio::time::timeout(bound, run).await {
            // Dropping the future kills the worker (`kill_on_drop`).
            Err(_) => Err(LoadError::TooComplex(format!(
                "compiling it took longer than {} ms, the limit (plugins.max_compile_ms)",
                self.limits.max_compile_ms
            ))),
            Ok(Err(e)) => Err(internal(e)),
            Ok(Ok(out)) => {
                let stderr = String::from_utf8_lossy(
                    &out.stderr[out.stderr.len().saturating_sub(MAX_STDERR_BYTES)..],
                )
                .into_owned();
                Ok((out.stdout, stderr, out.status))
            }
        }
    }

    fn failure(&self, status: std::process::ExitStatus, stderr: &str) -> LoadError {
        use std::os::unix::process::ExitStatusExt;
        let memory = || {
            LoadError::TooComplex(format!(
                "compiling it needed more than {} MiB, the limit \
                 (plugins.max_compile_memory_bytes)",
                self.limits.max_compile_memory_bytes >> 20
            ))
        };
        if status.code() == Some(i32::from(EXIT_INVALID)) {
            let reason = stderr.lines().find(|l| !l.starts_with("peak_rss_kib="));
            let reason = reason.unwrap_or("the compiler rejected it");
            if is_out_of_memory(reason) {
                return memory();
            }
            return LoadError::NotAComponent(reason.chars().take(2048).collect());
        }
        match status.signal() {
            // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one.
            Some(libc::SIGXCPU | libc::SIGKILL) => LoadError::TooComplex(format!(
                "compiling it used more CPU time than allowed for {} ms (plugins.max_compile_ms)",
                self.limits.max_compile_ms
            )),
            // A failed allocation under RLIMIT_AS aborts after saying so.
            Some(libc::SIGABRT) if is_out_of_memory(stderr) => memory(),
            Some(libc::SIGSEGV | libc::SIGBUS) => memory(),
            _ => LoadError::Internal(anyhow::anyhow!(
                "plugin compile worker failed ({status}): {}",
                stderr.chars().take(2048).collect::<String>()
            )),
        }
    }
}

fn is_out_of_memory(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "memory allocation of",
        "out of memory",
        "cannot allocate memory",
        "failed to mmap",
    ]
    .iter()
    .any(|s| text.contains(s))
}

fn peak_rss(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .and_then(|n| n.trim().parse().ok())
}

impl Compiler {
    /// A place among the admitted compiles, or busy: the server's queue is full, or this org
    /// already has its share of it (one org cannot fill the queue for everyone else).
    fn admit(&self, org: &str) -> Result<Admitted<'_>, LoadError> {
        let capacity = self.limits.max_concurrent_compiles.max(1) + self.limits.max_queued_compiles;
        let per_org = self.limits.max_compiles_per_org.max(1);
        let mut admissions = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        if admissions.total >= capacity {
            return Err(LoadError::Busy(Busy(format!(
                "{capacity} plugin compilations are running or queued, the limit \
                 (plugins.max_concurrent_compiles + plugins.max_queued_compiles); retry shortly"
            ))));
        }
        let mine = admissions.per_org.entry(org.to_owned()).or_default();
        if *mine >= per_org {
            return Err(LoadError::Busy(Busy(format!(
                "this organization already has {per_org} plugin compilations running or \
                 queued, the limit (plugins.max_compiles_per_org); retry when one finishes"
            ))));
        }
        *mine += 1;
        admissions.total += 1;
        Ok(Admitted {
            compiler: self,
            org: org.to_owned(),
        })
    }
}

/// A place among the admitted compiles, given back on drop.
struct Admitted<'a> {
    compiler: &'a Compiler,
    org: String,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut admissions = self
            .compiler
            .admitted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        admissions.total = admissions.total.saturating_sub(1);
        if let Some(mine) = admissions.per_org.get_mut(&self.org) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                admissions.per_org.remove(&self.org);
            }
        }
    }
}

/// The worker process: `grc plugin compile-worker`, or any binary that calls this (the test
/// harness's). Caps itself first, then compiles what is on stdin.
pub fn worker_main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut input) {
        eprintln!("reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
        eprintln!("expected a line of limits (JSON), then the component");
        return ExitCode::FAILURE;
    };
    let limits: PluginLimits = match serde_json::from_slice(&input[..newline]) {
        Ok(limits) => limits,
        Err(e) => {
            eprintln!("limits: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = cap_this_process(&limits) {
        eprintln!("setting resource limits: {e}");
        return ExitCode::FAILURE;
    }
    let code = match compile_serialized(&limits, &input[newline + 1..]) {
        Ok(artifact) => match std::io::stdout().lock().write_all(&artifact) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("writing the artifact: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(EXIT_INVALID)
        }
    };
    eprintln!("peak_rss_kib={}", own_peak_rss_kib());
    code
}

fn compile_serialized(limits: &PluginLimits, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    // No pooling here: the worker never instantiates, and pooling's address-space reservation
    // would not fit under the memory cap. Compiled code does not depend on the allocator.
    let engine = engine::build(limits, false)?;
    let component = Component::new(&engine, bytes).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    component.serialize().map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// Address space and CPU time caps, no core dumps, a lower CPU priority than the server (its
/// requests and plugin evaluations, which run against wall-clock deadlines, come first), and
/// death with the parent.
fn cap_this_process(limits: &PluginLimits) -> std::io::Result<()> {
    let cpu_seconds = limits.max_compile_ms.div_ceil(1000) * 2 + 1;
    set_limit(libc::RLIMIT_AS, limits.max_compile_memory_bytes)?;
    set_limit(libc::RLIMIT_CPU, cpu_seconds)?;
    set_limit(libc::RLIMIT_CORE, 0)?;
    // SAFETY: setpriority takes plain integers and only changes this process's nice value.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WORKER_NICE) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain integers and only changes this process's
    // signal on parent death.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads the struct we pass by reference and nothing else.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setrlimit(resource, &limit) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn own_peak_rss_kib() -> i64 {
    // SAFETY: getrusage fills the zeroed struct we own.
    #[allow(unsafe_code)]
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage.ru_maxrss
    }
}
