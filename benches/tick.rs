//! Placeholder, filled by the benchmarks issue.
use criterion::{criterion_group, criterion_main, Criterion};

fn policies(c: &mut Criterion) {
    use kadenz::policy::{MissedTickPolicy, TriggerAllMissed};
    c.bench_function("trigger_all_missed", |b| {
        b.iter(|| TriggerAllMissed.calculate_next_tick_time(std::hint::black_box(10), 20, 35))
    });
}

criterion_group!(benches, policies);
criterion_main!(benches);
