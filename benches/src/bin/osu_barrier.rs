//! `osu_barrier` over rsm collectives, run under `rsmrun -n NP` (method: `rsm_benches::collective`).

fn main() -> std::process::ExitCode {
    rsm_benches::collective::main(rsm_benches::osu::Benchmark::Barrier)
}
