//! The harness shared by the bench binaries.
//!
//! A *case* is a group of members that do the same work: the first member is kadenz, the
//! others are tokio. A member is a routine `fn(n) -> Duration` that sets up its own state
//! (runtime, timer) without timing it, then times `n` operations with the real clock
//! (`std::time::Instant`, never tokio's, which may be paused) and returns the time taken.
//!
//! The same routines run in two modes:
//!
//! - `cargo bench -p kadenz-tools --bench NAME`: criterion, one group per case, one member per routine
//!   (`Bencher::iter_custom`). Criterion runs the members of a group one after the other.
//! - `cargo bench -p kadenz-tools --bench NAME -- --ab [ROUNDS] [GROUP...]`: interleaved A/B (of the groups
//!   whose name contains one of the GROUP words, or all). Each round runs every
//!   member once, in alternating order (kadenz first on even rounds, last on odd ones),
//!   and computes the ratio kadenz/member for that round; the table gives the median ratio
//!   over the rounds and its range. Slow drift of the machine's load then affects both
//!   sides of a ratio alike.

use std::time::Duration;

use criterion::Criterion;

/// Times `n` operations of one member and returns the time they took.
pub type Routine = fn(u64) -> Duration;

/// A group of members doing the same work; the first member is kadenz (a group of one
/// member is a baseline, with no ratio).
pub struct Case {
    pub group: &'static str,
    pub members: &'static [(&'static str, Routine)],
    /// Operations per call in the A/B mode: enough for a call to take about 10 ms.
    pub ab_ops: u64,
}

/// The `main` of a bench binary: criterion, or the A/B mode with `--ab [ROUNDS] [GROUP...]`.
pub fn main(cases: &[Case]) {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--ab") {
        // `--ab [ROUNDS] [GROUP...]`: a number is the rounds, anything else filters the
        // groups by name (substring).
        let rest = &args[at + 1..];
        let rounds = rest.iter().find_map(|arg| arg.parse().ok()).unwrap_or(21);
        let filters: Vec<&str> = rest
            .iter()
            .filter(|arg| arg.parse::<usize>().is_err() && !arg.starts_with("--"))
            .map(String::as_str)
            .collect();
        let chosen: Vec<&Case> = cases
            .iter()
            .filter(|case| filters.is_empty() || filters.iter().any(|f| case.group.contains(f)))
            .collect();
        ab(&chosen, rounds);
        return;
    }

    // Modest times: the machines are shared and have two cores. A command-line flag
    // (`--measurement-time`, `--warm-up-time`, `--sample-size`) overrides these.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
        .configure_from_args();
    for case in cases {
        let mut group = criterion.benchmark_group(case.group);
        for &(member, routine) in case.members {
            group.bench_function(member, |b| b.iter_custom(routine));
        }
        group.finish();
    }
    criterion.final_summary();
}

/// Runs every case in the interleaved A/B mode and prints a Markdown table.
fn ab(cases: &[&Case], rounds: usize) {
    println!("interleaved A/B, {rounds} rounds per case; ns/op is the median over the rounds");
    println!();
    println!("| group | member | ns/op | ratio kadenz/member: median | min | max |");
    println!("|---|---|---:|---:|---:|---:|");
    for case in cases {
        let ops = case.ab_ops;
        // One untimed call each: page in the code, grow the runtime's buffers.
        for &(_, routine) in case.members {
            routine(ops);
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); case.members.len()];
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 {
                (0..case.members.len()).collect()
            } else {
                (0..case.members.len()).rev().collect()
            };
            for index in order {
                let (_, routine) = case.members[index];
                times[index].push(routine(ops).as_nanos() as f64 / ops as f64);
            }
        }
        let kadenz = &times[0];
        for (index, &(member, _)) in case.members.iter().enumerate() {
            let ns = median(&times[index]);
            if index == 0 {
                println!("| {} | {member} | {ns:.1} | | | |", case.group);
                continue;
            }
            let mut ratios: Vec<f64> = kadenz
                .iter()
                .zip(&times[index])
                .map(|(k, t)| k / t)
                .collect();
            ratios.sort_by(f64::total_cmp);
            println!(
                "| {} | {member} | {ns:.1} | {:.3} | {:.3} | {:.3} |",
                case.group,
                median(&ratios),
                ratios[0],
                ratios[ratios.len() - 1],
            );
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
