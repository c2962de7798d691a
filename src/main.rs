//! The `healthscore` binary: parse arguments, run the library, exit with
//! the code of SPEC §7 (0 ok, 1 retry, 2 fix the input, 64 usage).

use clap::Parser;

fn main() {
    keep_freed_memory();
    let cli = match healthscore::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 64,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(healthscore::cli::main_with(cli));
}

/// Has glibc's malloc keep the memory the job frees for its next
/// allocations instead of handing it back to the system and faulting it in
/// again (on the 2-vCPU benchmark VM each page's first touch costs ~3 µs,
/// ~400k of them per 1M-account run): no trimming of the heap's top below
/// 2 GiB, the heap grown 256 MiB at a time (untouched pages cost
/// nothing), and allocations up to 32 MiB (a column of 4M floats) served
/// from the heap rather than by their own mapping. Larger allocations
/// still get their own mapping, returned when freed, so a 10M-account run
/// keeps its peak. And one malloc arena per core (glibc allows eight per
/// core): memory freed in one thread's arena serves only the threads of
/// that arena, so with many arenas the scoring step faulted in fresh
/// pages while the aggregation's freed memory sat in others (1M accounts:
/// peak RSS 1.45 → 0.95 GiB, page faults 375k → 230k). A process-wide
/// setting, so set by the binary, not the library.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let arenas = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(64) as i32;
        // SAFETY: mallopt only changes malloc's parameters; it is called
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            libc::mallopt(libc::M_TOP_PAD, 256 << 20);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
